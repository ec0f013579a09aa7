"""Sandboxed preview worker: untrusted document bytes on stdin, a clean PNG on stdout.

Run only by `vault.previews.render_preview`, as a short-lived child process
(`python -I -B <this file> <mime> <max_side>`). Parsing a hostile PDF or image is
the riskiest thing the vault does, so it happens here, under resource limits,
with nothing to steal (minimal environment, no keys, no database) and nowhere to
write (RLIMIT_FSIZE=0). The parent also enforces a wall-clock timeout.

This module imports only the standard library at the top, and nothing from the
app: it runs with `-I` from any directory, and importing it (for the tests) has
no side effect.

The exit status is the whole protocol besides stdout: the parent never logs the
stderr of the worker, since it could echo parts of the document.
"""

from __future__ import annotations

import io
import resource
import sys
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

# Exit statuses understood by vault.previews (anything else is a crash).
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INVALID = 3  # not a readable file of the claimed type, encrypted PDF, empty PDF
EXIT_TOO_LARGE = 4  # decompression bomb or absurd page size
EXIT_NO_MEMORY = 5

# Limits. The address space is generous because pdfium reserves memory for
# its allocators and rasterises large embedded images; 1 GiB still keeps one
# worker from starving the host (each app process runs at most two).
ADDRESS_SPACE_BYTES = 1024 * 1024 * 1024
CPU_SECONDS = 15
# Enough for stdin/stdout/stderr, shared libraries opened while importing and
# the fonts pdfium looks up; a parser has no business holding more.
OPEN_FILES = 32
# Pillow raises DecompressionBombError above twice this and warns above it;
# the warning is turned into an error below. 50 megapixels is a 8660x5773
# photo, more than any phone or scanner produces for a document.
MAX_IMAGE_PIXELS = 50_000_000
# A PDF page larger than this (in points, 1/72 in) is refused: A0 is 2384.
MAX_PAGE_POINTS = 14_400

# Bounds on the requested size; the parent checks them too.
MIN_SIDE = 16
MAX_SIDE = 2048

PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}
MIME_TYPES = frozenset({"application/pdf", *PIL_FORMATS})


class InvalidInput(Exception):
    """The input is not a readable document of the claimed type."""


class TooLarge(Exception):
    """The input would decode to more pixels than a preview may cost."""


def apply_limits() -> None:
    """Lower this process's resource limits, soft and hard, so they cannot be raised back.

    Called first thing by `main`, before any untrusted byte is read. Done here
    rather than in a `preexec_fn` because `preexec_fn` is unsafe in a threaded
    parent (gunicorn threads).
    """
    _lower(resource.RLIMIT_AS, ADDRESS_SPACE_BYTES, ADDRESS_SPACE_BYTES)
    # Soft limit sends SIGXCPU; the hard limit one second later is SIGKILL.
    _lower(resource.RLIMIT_CPU, CPU_SECONDS, CPU_SECONDS + 1)
    # A core dump would be the document in clear on disk.
    _lower(resource.RLIMIT_CORE, 0, 0)
    # No file may grow: any write to disk fails (EFBIG, as Python ignores
    # SIGXFSZ), so no temp file can hold plaintext. Pipes (stdout) are not
    # files and are unaffected.
    _lower(resource.RLIMIT_FSIZE, 0, 0)
    _lower(resource.RLIMIT_NOFILE, OPEN_FILES, OPEN_FILES)


def _lower(limit: int, soft: int, hard: int) -> None:
    # Never ask for more than the current hard limit (a container may already
    # set a lower one): raising it is refused, and lower is what we want anyway.
    current = resource.getrlimit(limit)[1]
    if current != resource.RLIM_INFINITY:
        soft, hard = min(soft, current), min(hard, current)
    resource.setrlimit(limit, (soft, hard))


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


def _render_pdf(data: bytes, max_side: int) -> PILImage:
    import pypdfium2 as pdfium

    try:
        # pdfium reads from the bytes in memory; no file is involved. Forms are
        # not initialised and pdfium runs no JavaScript when rendering.
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        raise InvalidInput from e
    try:
        if len(pdf) < 1:
            raise InvalidInput
        page = pdf[0]
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


def render(data: bytes, mime: str, max_side: int) -> bytes:
    """Return `data` (a document of type `mime`) as a PNG of at most `max_side` px a side.

    Raises InvalidInput or TooLarge. Meant to run inside the worker process,
    after `apply_limits`.
    """
    from PIL import Image

    if mime == "application/pdf":
        img = _render_pdf(data, max_side)
    else:
        img = _render_image(data, mime, max_side)
    img = _to_rgb(img)
    # Rebuild the image from its pixels alone: no EXIF, XMP, ICC profile,
    # comment or text chunk can ride along into the preview.
    clean = Image.frombytes(img.mode, img.size, img.tobytes())
    out = io.BytesIO()
    clean.save(out, "PNG")
    return out.getvalue()


def main(argv: list[str]) -> int:
    """Worker entry point: `argv` is `[mime, max_side]`; returns the exit status."""
    apply_limits()
    if len(argv) != 2 or argv[0] not in MIME_TYPES or not argv[1].isdigit():
        return EXIT_USAGE
    mime, max_side = argv[0], int(argv[1])
    if not MIN_SIDE <= max_side <= MAX_SIDE:
        return EXIT_USAGE
    data = sys.stdin.buffer.read()
    try:
        png = render(data, mime, max_side)
    except InvalidInput:
        return EXIT_INVALID
    except TooLarge:
        return EXIT_TOO_LARGE
    except MemoryError:
        return EXIT_NO_MEMORY
    sys.stdout.buffer.write(png)
    sys.stdout.buffer.flush()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
