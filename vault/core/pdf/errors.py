"""What rendering a sheet can raise.

Apart from render.py so that the fetcher and the renderer share these
without importing each other.
"""

from __future__ import annotations


class PdfError(Exception):
    """A sheet could not be rendered (a bad context, or a template asked for a refused URL)."""


class AssetRefused(ValueError):
    """The PDF template asked for something other than our static files or a data: URL."""
