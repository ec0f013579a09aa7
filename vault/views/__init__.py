"""Blueprints; each module is thin and delegates to services."""

from __future__ import annotations

from functools import lru_cache

from flask import Flask, g, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from markupsafe import Markup, escape

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


def icon(name: str, label: str | None = None, size: str | int | None = None) -> Markup:
    """A pictogram from the sprite (static/icons/README.md: names, label, size).

    Built in Python and remembered: a page shows dozens, and a macro call with
    its own url_for for each cost a millisecond or two per page.
    """
    sprite = g.get("icon_sprite")
    if sprite is None:
        sprite = g.icon_sprite = url_for("static", filename="icons/sprite.svg")
    return _icon_markup(name, None if label is None else str(label), size, sprite)


@lru_cache(maxsize=1024)
def _icon_markup(name: str, label: str | None, size: str | int | None, sprite: str) -> Markup:
    length = f"{size}px" if isinstance(size, int) else (size or "1.25em")
    accessible = f' role="img"><title>{escape(label)}</title>' if label else ' aria-hidden="true">'
    return Markup(  # noqa: S704 - every part is escaped or ours
        f'<svg class="icon icon-{escape(name)}" width="{escape(length)}" '
        f'height="{escape(length)}" focusable="false"{accessible}'
        f'<use href="{escape(sprite)}#{escape(name)}"/></svg>'
    )


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
