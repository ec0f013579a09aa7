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
from pathlib import Path

import segno
from flask import current_app, g, render_template, url_for
from markupsafe import Markup

from vault.core.pdf.errors import AssetRefused, PdfError

__all__ = ["AssetRefused", "PdfError", "qr_svg", "render_pdf", "render_sheet_page", "sheet_asset"]

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
    return render_template(
        template_name, **context, qr_svg=qr_svg, sheet_on_screen=True, sheet_back_url=back_url
    )


def render_pdf(template_name: str, **context: object) -> bytes:
    """Render one of the ``templates/pdf/`` sheets to PDF bytes (needs an app context)."""
    _check_sheet(template_name, context)
    html = render_template(template_name, **context, qr_svg=qr_svg)
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
