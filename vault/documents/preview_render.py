"""What the preview worker runs inside its sandbox: a PDF page or an image into a clean PNG.

Loaded by path by `vault.documents.preview_worker` (which runs with `-I`,
outside the package) before it enters its sandbox: like the worker, this module
imports only the standard library at the top and nothing from the app; the
decoders (pypdfium2, Pillow) are imported by the worker's `_preload` before the
sandbox closes the file system. Every function here meets untrusted bytes and
is meant to run only inside the worker, after its limits and sandbox.
"""

from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

# Pillow raises DecompressionBombError above twice this and warns above it;
# the warning is turned into an error below. 50 megapixels is a 8660x5773
# photo, more than any phone or scanner produces for a document.
MAX_IMAGE_PIXELS = 50_000_000
# A PDF page larger than this (in points, 1/72 in) is refused: A0 is 2384.
MAX_PAGE_POINTS = 14_400

PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}
MIME_TYPES = frozenset({"application/pdf", *PIL_FORMATS})


class InvalidInput(Exception):
    """The input is not a readable document of the claimed type."""


class TooLarge(Exception):
    """The input would decode to more pixels than a preview may cost."""


def _open_pil(data: bytes, mime: str) -> PILImage:
    from PIL import Image, UnidentifiedImageError

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    try:
        # `formats` stops Pillow from trying every other parser on the bytes.
        img = Image.open(io.BytesIO(data), formats=[PIL_FORMATS[mime]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise TooLarge from e
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise InvalidInput from e
    return img


def _render_image(data: bytes, mime: str, max_side: int) -> PILImage:
    from PIL import Image, ImageOps

    img = _open_pil(data, mime)
    try:
        if img.format == "JPEG":
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: less memory and CPU.
            img.draft("RGB", (max_side, max_side))
        # Orientation lives in EXIF, which is dropped below: apply it first.
        img = ImageOps.exif_transpose(img)
        img = _to_rgb(img)
        img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise TooLarge from e
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        # Truncated or corrupt data surfaces while decoding, not while opening.
        raise InvalidInput from e
    return img


def _to_rgb(img: PILImage) -> PILImage:
    """Bring any mode to RGB or RGBA, the two the PNG encoder is given."""
    if img.mode in ("RGB", "RGBA"):
        return img
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):
        # 16/32-bit grey: scale to 8 bits rather than clip everything to white.
        img = img.convert("F").point(lambda v: v / 256).convert("L")
    has_alpha = img.mode in ("LA", "La", "PA", "RGBa") or "transparency" in img.info
    return img.convert("RGBA" if has_alpha else "RGB")


def _open_pdf(data: bytes) -> Any:  # a pypdfium2.PdfDocument
    import pypdfium2 as pdfium

    try:
        # pdfium reads from the bytes in memory; no file is involved. Forms are
        # not initialised and pdfium runs no JavaScript when rendering.
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        raise InvalidInput from e
    if len(pdf) < 1:
        pdf.close()
        raise InvalidInput
    return pdf


def page_count(data: bytes, mime: str) -> int:
    """How many pages `data` has (an image has one). Raises InvalidInput."""
    if mime != "application/pdf":
        return 1
    pdf = _open_pdf(data)
    try:
        return len(pdf)
    finally:
        pdf.close()


def _render_pdf(data: bytes, max_side: int, page_number: int = 1) -> PILImage:
    import pypdfium2 as pdfium

    pdf = _open_pdf(data)
    try:
        if page_number > len(pdf):
            raise InvalidInput
        page = pdf[page_number - 1]
        width, height = page.get_size()
        if not (0 < width <= MAX_PAGE_POINTS and 0 < height <= MAX_PAGE_POINTS):
            raise TooLarge
        scale = max_side / max(width, height)
        bitmap = page.render(scale=scale, may_draw_forms=False)
        img: PILImage = bitmap.to_pil()
        return img
    except pdfium.PdfiumError as e:
        raise InvalidInput from e
    finally:
        pdf.close()


def render(data: bytes, mime: str, max_side: int, page: int = 1) -> bytes:
    """Return `page` of `data` (of type `mime`) as a PNG of at most `max_side` px a side.

    Raises InvalidInput or TooLarge. Meant to run inside the worker process,
    after `apply_limits`.
    """
    from PIL import Image

    if mime == "application/pdf":
        img = _render_pdf(data, max_side, page)
    else:
        img = _render_image(data, mime, max_side)
    img = _to_rgb(img)
    # Rebuild the image from its pixels alone: no EXIF, XMP, ICC profile,
    # comment or text chunk can ride along into the preview.
    clean = Image.frombytes(img.mode, img.size, img.tobytes())
    out = io.BytesIO()
    clean.save(out, "PNG")
    return out.getvalue()
