"""What an 800 px preview costs the worker, in CPU seconds, on documents like real ones.

Made here, in memory: a 300 dpi A4 letter scan as JPEG, PNG (colour and grey)
and PDF, a three-page scanned PDF, a 12-megapixel phone photo, 50-megapixel
images (the most the worker decodes) as JPEG, PNG and PDF, two text PDFs from
the system's documentation when present, and the nested transparency groups
that the CPU limit is there to stop. Each goes through `render_preview`, the
real worker in its sandbox, one at a time; the CPU time is the worker's own
(user + system, interpreter start included), read from the kernel when it is
reaped. The figures and the limit chosen from them: docs/operations.md,
"Preview sandbox".

Prints one line per document, then ``preview_bench worst_real_cpu=X limit=Y``.
"""

from __future__ import annotations

import io
import resource
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.unit.documents.test_previews import nested_transparency_groups
from vault.documents import preview_worker, previews

SYSTEM_PDFS = [
    Path("/usr/share/doc/libtasn1-doc/libtasn1.pdf"),
    Path("/usr/share/doc/shared-mime-info/shared-mime-info-spec.pdf"),
]


def letter(size: tuple[int, int]) -> Image.Image:
    """A page of dark lines on off-white paper, with a scanner's grain."""
    page = Image.new("RGB", size, (250, 248, 240))
    draw = ImageDraw.Draw(page)
    for y in range(size[1] // 12, int(size[1] * 0.9), size[0] // 40):
        draw.rectangle((size[0] // 12, y, size[0] * 11 // 12, y + size[0] // 90), fill=(20, 20, 30))
    return Image.blend(page, Image.effect_noise(size, 12).convert("RGB"), 0.08)


def encoded(image: Image.Image, kind: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


def documents() -> list[tuple[str, str, bytes]]:
    a4 = letter((2480, 3508))
    photo = Image.blend(
        Image.effect_noise((4032, 3024), 40).convert("RGB"),
        Image.linear_gradient("L").resize((4032, 3024)).convert("RGB"),
        0.6,
    )
    big = Image.effect_noise((8600, 5800), 30).convert("RGB")
    pages = [letter((2480, 3508)) for _ in range(2)]
    found = [
        ("A4 scan, JPEG", "image/jpeg", encoded(a4, "JPEG", quality=90)),
        ("A4 scan, PNG", "image/png", encoded(a4, "PNG")),
        ("A4 scan, grey PNG", "image/png", encoded(a4.convert("L"), "PNG")),
        ("A4 scan, PDF", "application/pdf", encoded(a4, "PDF", resolution=300)),
        (
            "3-page scan, PDF",
            "application/pdf",
            encoded(a4, "PDF", resolution=300, save_all=True, append_images=pages),
        ),
        ("12 MP photo, JPEG", "image/jpeg", encoded(photo, "JPEG", quality=92)),
        ("50 MP, JPEG", "image/jpeg", encoded(big, "JPEG", quality=90)),
        ("50 MP, PNG", "image/png", encoded(big, "PNG", compress_level=1)),
        ("50 MP, PDF", "application/pdf", encoded(big, "PDF", resolution=300)),
    ]
    found += [(p.name, "application/pdf", p.read_bytes()) for p in SYSTEM_PDFS if p.exists()]
    return found


def cost(data: bytes, mime: str) -> tuple[float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        previews.render_preview(data, mime, timeout=120)
        outcome = "ok"
    except previews.PreviewError as e:
        outcome = str(e)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, outcome


def main() -> None:
    worst = 0.0
    for name, mime, data in documents():
        cpu, outcome = cost(data, mime)
        worst = max(worst, cpu)
        print(f"{name:34s} {len(data) / 1e6:7.2f} MB  cpu {cpu:5.2f} s  {outcome}")
    started = time.monotonic()
    cpu, outcome = cost(nested_transparency_groups(), "application/pdf")
    print(f"{'nested transparency groups':34s} {'':7s}    cpu {cpu:5.2f} s  {outcome}"
          f"  (stopped after {time.monotonic() - started:.1f} s)")  # fmt: skip
    print(f"preview_bench worst_real_cpu={worst:.2f} limit={preview_worker.CPU_SECONDS}")


if __name__ == "__main__":
    main()
