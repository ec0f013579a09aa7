"""Printable sheets (activation, recovery kit): our own templates rendered by WeasyPrint.

Rendering is locked down (docs/architecture.md §5, §8.9, as Indico's receipts
do): the template context holds plain values only, so nothing a user typed can
become markup or a live object; and WeasyPrint's URL fetcher serves files from
our ``static/`` folder and ``data:`` URLs, nothing else. A sheet therefore never
reaches the network or the rest of the disk, whatever a display name contains.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import segno
from flask import current_app, g, url_for
from flask_babel import force_locale, get_locale, get_translations
from jinja2 import Environment
from markupsafe import Markup

from vault.core.languages import BY_CODE, DEFAULT
from vault.core.pdf.errors import AssetRefused, PdfError

__all__ = [
    "AssetRefused",
    "PdfError",
    "in_locale",
    "per_locale",
    "qr_svg",
    "render_pdf",
    "render_sheet_page",
    "sheet_asset",
    "sheet_languages",
    "sheet_locales",
]

T = TypeVar("T")

log = logging.getLogger(__name__)

_PLAIN = (str, int, float, bool, dt.date, type(None))


def qr_svg(text: str) -> str:
    """A ``data:`` URI of an SVG QR code for `text` (error correction M or better)."""
    # Vector keeps the modules sharp at any printer resolution. boost_error
    # raises the level above M for free when the version has room left, which
    # helps a phone read a creased or smudged sheet. border=4 is the quiet zone
    # the standard asks for; scale only sets the SVG's nominal size (CSS sizes it).
    qr = segno.make(text, error="m", boost_error=True, micro=False)
    return str(qr.svg_data_uri(scale=4, border=4, dark="#000", light="#fff"))


def sheet_locales(locale: str | None) -> tuple[str, ...]:
    """The languages a person's sheet is printed in: theirs first, then French (D-170).

    French alone when the person has no registered language other than French:
    staff read French, and every sheet must be readable by the officer who
    hands it over.
    """
    language = BY_CODE.get(locale or "")
    if language is None or language == DEFAULT:
        return (DEFAULT.code,)
    return (language.code, DEFAULT.code)


def sheet_languages(locale: str | None) -> dict[str, str | None]:
    """The context values that make a sheet bilingual: `sheet_lang` and `sheet_dir`.

    None for a French-only sheet (templates/pdf/_macros.html, `both`).
    """
    locales = sheet_locales(locale)
    if len(locales) == 1:
        return {"sheet_lang": None, "sheet_dir": None}
    return {"sheet_lang": locales[0], "sheet_dir": BY_CODE[locales[0]].direction}


def in_locale(code: str, render: Callable[..., T], *args: Any) -> T:
    """`render(*args)` with `code` as the locale: gettext, dates and numbers follow it."""
    with force_locale(code):
        return render(*args)


def per_locale(locales: tuple[str, ...], make: Callable[[], T]) -> dict[str, T]:
    """`make()` once in each of `locales`: a sheet's value that words or dates change."""
    return {code: in_locale(code, make) for code in locales}


def here(value: object) -> object:
    """A sheet value in the locale being rendered: `value[locale]` for a `per_locale` dict."""
    if isinstance(value, Mapping):
        locale = str(get_locale() or DEFAULT.code)
        return value.get(locale, value.get(DEFAULT.code))
    return value


# Arabic, Arabic Supplement, Arabic Extended-A and the presentation forms.
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")


def text_lang(text: object) -> str | None:
    """ "ar" for a text a person typed with Arabic letters (a name), so the sheet's
    Arabic face and shaping apply to it whatever the sheet's languages."""
    return "ar" if isinstance(text, str) and _ARABIC.search(text) else None


def _sheet_environment() -> Environment:
    """The app's templates, with a gettext that follows the locale of the moment.

    A sheet is printed in two languages in one render (`in_locale` around each
    block), whatever the interface's own gettext binding does: this overlay of
    the app's Jinja environment (same loader and globals, its own cache) asks
    Flask-Babel for the catalogue of the locale in force at each call.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    env: Environment | None = app.extensions.get("vault.sheet_env")
    if env is None:
        env = app.jinja_env.overlay()
        # overlay() shares the globals dict: a copy, so nothing leaks back.
        env.globals = dict(app.jinja_env.globals)
        i18n = env.extensions["jinja2.ext.InternationalizationExtension"]
        i18n._install_callables(  # type: ignore[union-attr]
            lambda s: get_translations().ugettext(s),
            lambda s, p, n: get_translations().ungettext(s, p, n),
            newstyle=True,
        )
        env.globals.update(in_locale=in_locale, here=here, text_lang=text_lang)
        app.extensions["vault.sheet_env"] = env
    return env


def _render(template_name: str, context: dict[str, Any]) -> str:
    current_app.update_template_context(context)
    return _sheet_environment().get_template(template_name).render(context)


def _check_plain(name: str, value: object) -> None:
    # Markup is a str that the template would not escape: refused, so caller
    # data can only ever be text on the sheet.
    if isinstance(value, Markup):
        raise PdfError(f"context value {name!r} is Markup: pass plain text")
    if isinstance(value, list | tuple):
        for item in value:
            _check_plain(name, item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_plain(name, key)
            _check_plain(name, item)
    elif not isinstance(value, _PLAIN):
        raise PdfError(f"context value {name!r} is a {type(value).__name__}, not a plain value")


def sheet_asset(path: str) -> str:
    """Where a sheet finds `path` of static/: relative for WeasyPrint's fetcher, a URL on a page."""
    return url_for("static", filename=path) if g.get("sheet_on_screen") else path


def _check_sheet(template_name: str, context: dict[str, object]) -> None:
    if not template_name.startswith("pdf/") or ".." in template_name.split("/"):
        raise PdfError(f"not a PDF template: {template_name!r}")
    for name, value in context.items():
        _check_plain(name, value)


def render_sheet_page(template_name: str, *, back_url: str, **context: object) -> str:
    """One of the ``templates/pdf/`` sheets as a web page the browser prints (on a kiosk).

    The same template and the same plain-values rule as `render_pdf`; the
    sheet's base becomes the site's page (templates/sheets/screen.html), with
    a « Imprimer » button and `back_url` to leave it.
    """
    _check_sheet(template_name, context)
    g.sheet_on_screen = True
    return _render(
        template_name,
        {**context, "qr_svg": qr_svg, "sheet_on_screen": True, "sheet_back_url": back_url},
    )


def render_pdf(template_name: str, **context: object) -> bytes:
    """Render one of the ``templates/pdf/`` sheets to PDF bytes (needs an app context)."""
    _check_sheet(template_name, context)
    html = _render(template_name, {**context, "qr_svg": qr_svg})
    static_folder = current_app.static_folder
    assert static_folder is not None  # the app factory always sets it
    # WeasyPrint (with Pango, fontTools...) costs tens of MiB per process:
    # loaded on the first sheet, not by every worker at start-up.
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    from vault.core.pdf.fetcher import StaticOnlyFetcher

    fetcher = StaticOnlyFetcher(Path(static_folder))
    try:
        pdf: bytes | None = HTML(
            string=html, base_url=fetcher.base_url, url_fetcher=fetcher
        ).write_pdf()
    except FatalURLFetchingError as e:
        # A BaseException in WeasyPrint: turned into an ordinary error for the app.
        log.error("PDF %s asked for a refused URL: %s", template_name, e.__cause__)
        raise PdfError(f"{template_name} asked for a refused URL") from e.__cause__
    assert pdf is not None  # write_pdf returns bytes when no target is given
    return pdf
