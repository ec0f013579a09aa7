"""Template helpers every page uses: pictograms from the sprite, French file sizes, `kiosk`."""

from __future__ import annotations

from functools import lru_cache

from flask import Flask, g, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from markupsafe import Markup, escape

from vault.core import kiosk, locale
from vault.core.bidi import bdi, isolated
from vault.core.pdf.render import sheet_asset


def icon(name: str, label: str | None = None, size: str | int | None = None) -> Markup:
    """A pictogram from the sprite (static/icons/README.md: names, label, size).

    Built in Python: a page shows dozens, and a macro call with its own
    url_for for each cost a millisecond or two per page. The decorative ones
    (no label) are remembered; a labelled one is built each time, so no text
    stays in the process.
    """
    sprite = g.get("icon_sprite")
    if sprite is None:
        sprite = g.icon_sprite = url_for("static", filename="icons/sprite.svg")
    if not label:
        return _decorative_icon(name, size, sprite)
    # escape() leaves Markup (what Jinja's gettext gives) as it is.
    return _svg(name, size, sprite, Markup(' role="img"><title>{}</title>').format(label))


@lru_cache(maxsize=256)
def _decorative_icon(name: str, size: str | int | None, sprite: str) -> Markup:
    return _svg(name, size, sprite, Markup(' aria-hidden="true">'))


def _svg(name: str, size: str | int | None, sprite: str, accessible: Markup) -> Markup:
    length = f"{size}px" if isinstance(size, int) else (size or "1.25em")
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
    """The pictogram helper and the French file size filter, for every template."""
    app.jinja_env.globals["icon"] = icon
    app.jinja_env.filters["filesizeformat"] = filesize
    app.jinja_env.filters["bdi"] = bdi
    app.jinja_env.filters["isolated"] = isolated
    app.jinja_env.globals["sheet_asset"] = sheet_asset
    kiosk.init_app(app)
    locale.init_app(app)
