"""Blueprints; each module is thin and delegates to services."""

from __future__ import annotations

from typing import Any

from flask import Flask, get_template_attribute
from flask_babel import format_decimal
from flask_babel import gettext as _
from markupsafe import Markup

from vault.extensions import limit_signins
from vault.views import (
    account,
    admin,
    auth,
    counsellor,
    deposits,
    documents,
    export,
    journal,
    lifecycle,
    main,
    public_links,
    recovery,
    sharing,
)


def icon(name: str, label: str | None = None, size: str | None = None) -> Markup:
    """The pictogram macro, as a global so every template and macro file can use it."""
    macro: Any = get_template_attribute("_macros/icons.html", "icon")
    # The macro escapes its arguments; Markup only stops Jinja escaping its output twice.
    return Markup(macro(name, label, size))  # noqa: S704


def filesize(size: int) -> str:
    """A size the French way ("1,5 Mo"), replacing Jinja's English filesizeformat."""
    units = [_("%(size)s bytes"), _("%(size)s KB"), _("%(size)s MB"), _("%(size)s GB")]
    value, step = float(size), 0
    while value >= 1024 and step < len(units) - 1:
        value, step = value / 1024, step + 1
    unit = units[step]
    return str(unit % {"size": format_decimal(value, "#,##0.#")})


def init_app(app: Flask) -> None:
    app.jinja_env.globals["icon"] = icon
    app.jinja_env.filters["filesizeformat"] = filesize
    for module in (
        main,
        auth,
        account,
        documents,
        journal,
        admin,
        counsellor,
        deposits,
        sharing,
        public_links,
        recovery,
        export,
        lifecycle,
    ):
        app.register_blueprint(module.bp)
    limit_signins(app, "auth.sign_in", "auth.activate", "public_links.download", "recovery.start")
    # Upload views read their body as a stream and check the token themselves.
    csrf = app.extensions["csrf"]
    csrf.exempt("vault.views.documents.upload")
    csrf.exempt("vault.views.documents.replace")
    csrf.exempt("vault.views.deposits.upload")
