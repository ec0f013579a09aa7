"""Photos of a paper (recto and verso, the pages of a letter) made into one PDF.

docs/decisions.md D-082. Each photo is decoded in the sandboxed preview worker
(`previews.render_preview`), like any untrusted image: it comes back as a PNG of
pixels only, turned upright from its EXIF orientation, with no EXIF, GPS, XMP or
ICC data left. Only those clean pixels are put into the PDF, one page each,
in the order the photos were sent. Everything stays in memory: no plaintext
touches the disk.
"""

from __future__ import annotations

import io
from typing import Final

from PIL import Image

from vault.core.http import StreamingUpload
from vault.documents.previews import PreviewError, render_preview
from vault.documents.uploads import SNIFF_BYTES, sniff_type

# The form field whose files are photos of one paper.
PHOTO_FIELD: Final = "photos"
# The pages of one paper: a two-sided card, a letter of a few pages.
MAX_PHOTOS: Final = 10
# The longest side of a page in pixels: 2048 (the worker's largest) is 175 dpi
# on an A4 page, enough to read small print, and bounds each page's memory
# (12 MiB decoded) whatever the phone's camera.
PAGE_SIDE: Final = 2048
# The long side of an A4 page in inches: the pages print at A4 size.
A4_LONG_INCHES: Final = 11.69
PHOTO_TYPES: Final = frozenset({"image/jpeg", "image/png"})
JPEG_QUALITY: Final = 85


class PhotoRefused(Exception):
    """The photos cannot become a PDF: `code` and `status` for the intake's refusal.

    "photos_and_file" (both sent), "bad_photo" (not a photo we can read),
    "busy" (no worker free to read it: a later try may work), "too_large"
    (the PDF is over the size limit).
    """

    def __init__(self, code: str, status: int) -> None:
        super().__init__(code)
        self.code, self.status = code, status


def pdf_of_photos(upload: StreamingUpload, max_bytes: int) -> bytes:
    """The upload's photos as one PDF of at most `max_bytes`; their bytes are let go."""
    if upload.file is not None:
        raise PhotoRefused("photos_and_file", 400)
    pdf = photos_to_pdf(upload.photos)
    upload.photos.clear()  # the photos' plaintext goes as soon as the PDF is made
    if len(pdf) > max_bytes:
        raise PhotoRefused("too_large", 413)
    return pdf


def photos_to_pdf(photos: list[bytes]) -> bytes:
    """One PDF with a page per photo (JPEG or PNG), upright and without metadata."""
    if not photos:
        raise ValueError("no photo")
    pages: list[Image.Image] = []
    for photo in photos:
        mime = sniff_type(photo[:SNIFF_BYTES])
        if mime not in PHOTO_TYPES:
            raise PhotoRefused("bad_photo", 415)
        try:
            clean = render_preview(photo, mime, max_side=PAGE_SIDE)
        except PreviewError as e:
            if not e.permanent:
                raise PhotoRefused("busy", 503) from None
            raise PhotoRefused("bad_photo", 415) from None
        # Our own PNG, from the worker's checked output: pixels only.
        with Image.open(io.BytesIO(clean), formats=["PNG"]) as image:
            pages.append(image.convert("RGB"))
    longest = max(max(page.size) for page in pages)
    out = io.BytesIO()
    # Pillow writes each page as a JPEG made from the pixels alone; no EXIF
    # is given to the encoder, so none is written.
    pages[0].save(
        out,
        "PDF",
        save_all=True,
        append_images=pages[1:],
        resolution=longest / A4_LONG_INCHES,
        quality=JPEG_QUALITY,
    )
    return out.getvalue()
