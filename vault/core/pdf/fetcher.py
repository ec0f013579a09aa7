"""WeasyPrint's URL fetcher for our sheets: static files and data: URLs only.

Kept apart from vault/core/pdf/render.py so that importing the app does not import
WeasyPrint; it is loaded with the first sheet rendered.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import DataHandler, Request, url2pathname

from weasyprint.urls import URLFetcher, URLFetcherResponse

from vault.core.pdf.errors import AssetRefused


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
