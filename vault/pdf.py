"""Printable sheets (activation, recovery kit): our own templates rendered by WeasyPrint.

Rendering is locked down (DESIGN.md §5, STYLE.md habit 9, as Indico's receipts
do): the template context holds plain values only, so nothing a user typed can
become markup or a live object; and WeasyPrint's URL fetcher serves files from
our ``static/`` folder and ``data:`` URLs, nothing else. A sheet therefore never
reaches the network or the rest of the disk, whatever a display name contains.
"""

from __future__ import annotations

import datetime as dt
import logging
import mimetypes
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import DataHandler, Request, url2pathname

import segno
from flask import current_app, render_template
from markupsafe import Markup
from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

__all__ = ["AssetRefused", "PdfError", "StaticOnlyFetcher", "qr_svg", "render_pdf"]

log = logging.getLogger(__name__)

_PLAIN = (str, int, float, bool, dt.date, type(None))


class PdfError(Exception):
    """A sheet could not be rendered (a bad context, or a template asked for a refused URL)."""


class AssetRefused(ValueError):
    """The PDF template asked for something other than our static files or a data: URL."""


# WeasyPrint ships no type hints, so URLFetcher is Any to mypy.
class StaticOnlyFetcher(URLFetcher):  # type: ignore[misc, unused-ignore]
    """WeasyPrint URL fetcher serving files under `root` and ``data:`` URLs only.

    Everything else (http, https, ftp, file: outside `root`, ``..`` segments,
    symbolic links leading out) raises :class:`AssetRefused`, and the rendering
    stops: a sheet that asks for anything else is a bug or an injection.
    """

    def __init__(self, root: Path) -> None:
        # fail_on_errors: WeasyPrint would otherwise log the refusal and carry on
        # with a hole in the page; a refused URL must stop the rendering.
        super().__init__(
            allowed_protocols=("file", "data"), allow_redirects=False, fail_on_errors=True
        )
        self.root = root.resolve(strict=True)
        self.base_url = self.root.as_uri() + "/"

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        """Serve `url` if it is one of our static files or a data: URL; refuse anything else."""
        scheme = url.partition(":")[0].lower()
        if scheme == "data":
            return self._data(url)
        if scheme == "file":
            return URLFetcherResponse(url, *self._static_file(url))
        raise AssetRefused(f"only static files and data: URLs, not {url[:80]!r}")

    def _static_file(self, url: str) -> tuple[bytes, dict[str, str]]:
        parts = urlsplit(url)
        path = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or parts.query or "\x00" in path:
            raise AssetRefused(f"not a local static file: {url[:80]!r}")
        # Refused even when the result would land inside static/: templates
        # never need "..", so one is a sign of someone probing.
        if ".." in PurePosixPath(path).parts:
            raise AssetRefused(f"'..' in an asset path: {url[:80]!r}")
        try:
            # resolve() follows symbolic links, so a link pointing out is caught below.
            target = Path(url2pathname(parts.path)).resolve(strict=True)
        except (OSError, RuntimeError) as e:
            raise AssetRefused(f"no such static file: {url[:80]!r}") from e
        if not target.is_relative_to(self.root) or not target.is_file():
            raise AssetRefused(f"outside the static folder: {url[:80]!r}")
        mime = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return target.read_bytes(), {"Content-Type": mime}

    @staticmethod
    def _data(url: str) -> URLFetcherResponse:
        try:
            # Only data: URLs reach here; DataHandler decodes them without any I/O.
            response = DataHandler().data_open(Request(url))  # noqa: S310
        except ValueError as e:
            raise AssetRefused("malformed data: URL") from e
        with response:
            body = response.read()
            content_type = response.headers.get("Content-Type", "text/plain")
        return URLFetcherResponse(url, body, {"Content-Type": content_type})


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


def render_pdf(template_name: str, **context: object) -> bytes:
    """Render one of the ``templates/pdf/`` sheets to PDF bytes (needs an app context)."""
    if not template_name.startswith("pdf/") or ".." in template_name.split("/"):
        raise PdfError(f"not a PDF template: {template_name!r}")
    for name, value in context.items():
        _check_plain(name, value)
    html = render_template(template_name, **context, qr_svg=qr_svg)
    static_folder = current_app.static_folder
    assert static_folder is not None  # the app factory always sets it
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
