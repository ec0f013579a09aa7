"""Previews are made in a sandboxed worker, carry pixels only, and leave nothing on disk."""

from __future__ import annotations

import errno
import io
import logging
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from vault.documents import preview_worker, previews
from vault.documents.previews import PREVIEW_MIME, THUMBNAIL_SIDE, PreviewError, render_preview

CANARY = "CANARY-7f3a9c"


# --- inputs, all made here -------------------------------------------------


def jpeg_with_metadata() -> bytes:
    """A 40x20 JPEG, left half red, right half blue, stored sideways (orientation 6)."""
    img = Image.new("RGB", (40, 20), "blue")
    img.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.ImageDescription] = CANARY
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 24.0)
    buf = io.BytesIO()
    img.save(
        buf,
        "JPEG",
        quality=95,
        exif=exif,
        icc_profile=CANARY.encode() * 10,
        xmp=f"<x:xmpmeta>{CANARY}</x:xmpmeta>".encode(),
        comment=CANARY.encode(),
    )
    return buf.getvalue()


def png(size: tuple[int, int], mode: str = "RGB", color: str | tuple[int, ...] = "green") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, "PNG")
    return buf.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(width: int, height: int) -> bytes:
    """A few hundred bytes whose header announces a huge RGB image."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + png_chunk(b"IEND", b"")
    )


def pdf_of_pages(*colors: str) -> bytes:
    pages = [Image.new("RGB", (600, 800), color) for color in colors]
    buf = io.BytesIO()
    pages[0].save(buf, "PDF", save_all=True, append_images=pages[1:])
    return buf.getvalue()


def pdf_with_text(text: str, width: int = 612, height: int = 792) -> bytes:
    """A minimal hand-written one-page PDF with a line of Helvetica."""
    content = f"BT /F1 48 Tf 72 600 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] /Contents 4 0 R"
        " /Resources << /Font << /F1 5 0 R >> >> >>".encode(),
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def nested_transparency_groups(depth: int = 8, fanout: int = 4) -> bytes:
    """A 3 KB PDF whose page draws a transparency group that draws the one below `fanout` times.

    pdfium composites every group in a bitmap of its own: fanout**depth of them.
    The kind of document the review used to keep a worker busy for its whole
    CPU limit.
    """
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    }

    def group(content: bytes, resources: bytes) -> bytes:
        return (
            b"<< /Type /XObject /Subtype /Form /BBox [0 0 600 800]"
            b" /Group << /S /Transparency /I true /K true >> /Resources "
            + resources
            + b" /Length %d >>\nstream\n%s\nendstream" % (len(content), content)
        )

    first = 5
    objects[first] = group(b"0.5 g 0 0 600 800 re f", b"<< >>")
    for level in range(1, depth + 1):
        objects[first + level] = group(
            b" ".join([b"q /G gs /X Do Q"] * fanout),
            b"<< /XObject << /X %d 0 R >>"
            b" /ExtGState << /G << /CA 0.5 /ca 0.5 /BM /Multiply >> >> >>" % (first + level - 1),
        )
    content = b"q /X Do Q"
    objects[4] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content)
    objects[3] = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 600 800] /Contents 4 0 R"
        b" /Resources << /XObject << /X %d 0 R >> >> >>" % (first + depth)
    )
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref, size = len(out), max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(1, size))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


def worker_processes() -> list[int]:
    """Preview workers that are children of this process right now."""
    me, found = os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # gone meanwhile
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        if ppid == me and b"preview_worker.py" in cmdline:
            found.append(int(entry.name))
    return found


def open_png(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG"
    img.load()
    return img


def rgb(img: Image.Image, x: int, y: int) -> tuple[int, int, int]:
    red, green, blue = img.convert("RGB").getpixel((x, y))  # type: ignore[misc]
    return red, green, blue


def chunk_types(data: bytes) -> list[bytes]:
    types, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        types.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return types


def fake_worker(monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    """Replace the worker with a Python snippet, keeping the real sandboxed spawn."""
    monkeypatch.setattr(
        previews, "_worker_command", lambda mime, max_side: [sys.executable, "-I", "-c", code]
    )


# --- what a preview is ---------------------------------------------------------


def test_jpeg_loses_exif_gps_icc_xmp_and_is_turned_upright() -> None:
    source = jpeg_with_metadata()
    assert Image.open(io.BytesIO(source)).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    out = render_preview(source, "image/jpeg")

    assert PREVIEW_MIME == "image/png"
    assert chunk_types(out) and set(chunk_types(out)) <= {b"IHDR", b"IDAT", b"IEND"}
    assert CANARY.encode() not in out
    img = open_png(out)
    assert not img.getexif() and "icc_profile" not in img.info and "xmp" not in img.info
    # 40x20 stored, shown rotated 90° clockwise: 20x40, the red left half on top.
    assert img.size == (20, 40)
    red, _, blue = rgb(img, 10, 5)
    assert red > 200 and blue < 60
    red, _, blue = rgb(img, 10, 35)
    assert blue > 200 and red < 60


@pytest.mark.parametrize("max_side", [previews.PREVIEW_SIDE, THUMBNAIL_SIDE])
def test_png_is_scaled_to_fit_max_side(max_side: int) -> None:
    img = open_png(render_preview(png((1600, 400)), "image/png", max_side=max_side))
    assert img.size == (max_side, max_side // 4)


def test_small_images_are_not_enlarged_and_transparency_is_kept() -> None:
    img = open_png(render_preview(png((30, 50), "RGBA", (0, 0, 0, 0)), "image/png"))
    assert img.size == (30, 50)
    assert img.mode == "RGBA"


def test_sixteen_bit_grey_png_is_scaled_not_clipped() -> None:
    source = io.BytesIO()
    Image.new("I;16", (20, 20), 0x8000).save(source, "PNG")
    img = open_png(render_preview(source.getvalue(), "image/png"))
    value = img.convert("L").getpixel((5, 5))
    assert isinstance(value, int) and 120 <= value <= 136


def test_pdf_preview_is_the_first_page_only() -> None:
    img = open_png(render_preview(pdf_of_pages("red", "blue"), "application/pdf"))
    assert max(img.size) == 800
    red, green, blue = rgb(img, img.width // 2, img.height // 2)
    assert red > 240 and green < 15 and blue < 15  # Pillow stored the page as JPEG


def test_pdf_text_is_rendered_within_max_side() -> None:
    img = open_png(render_preview(pdf_with_text("Hello"), "application/pdf", max_side=300))
    assert max(img.size) == 300
    darkest = img.convert("L").getextrema()[0]
    assert isinstance(darkest, int) and darkest < 100  # the text was drawn


def test_pdf_with_a_huge_page_is_refused_or_bounded() -> None:
    try:
        out = render_preview(pdf_with_text("x", 200_000, 200_000), "application/pdf")
    except PreviewError:
        return
    assert max(open_png(out).size) <= 800


# --- what is refused -------------------------------------------------------------


@pytest.mark.parametrize("mime", sorted(previews.MIME_TYPES))
def test_garbage_is_refused(mime: str) -> None:
    with pytest.raises(PreviewError, match="invalid input"):
        render_preview(b"\x00garbage" * 100, mime)


def test_empty_input_is_refused() -> None:
    with pytest.raises(PreviewError):
        render_preview(b"", "image/png")


def test_a_jpeg_claimed_as_png_is_refused() -> None:
    # The worker parses only the claimed format, not whatever Pillow would guess.
    with pytest.raises(PreviewError):
        render_preview(jpeg_with_metadata(), "image/png")


@pytest.mark.parametrize("mime", ["image/gif", "text/html", "image/svg+xml", ""])
def test_types_outside_the_allow_list_never_reach_a_worker(
    monkeypatch: pytest.MonkeyPatch, mime: str
) -> None:
    monkeypatch.setattr(previews, "_run_worker", pytest.fail)
    with pytest.raises(PreviewError, match="no preview for this type"):
        render_preview(png((10, 10)), mime)


@pytest.mark.parametrize("max_side", [0, 15, 2049])
def test_max_side_out_of_range_is_a_programming_error(max_side: int) -> None:
    with pytest.raises(ValueError):
        render_preview(png((10, 10)), "image/png", max_side=max_side)


@pytest.mark.parametrize("side", [100_000, 8_000])  # past Pillow's error, and in its warning band
def test_decompression_bomb_is_refused_quickly(side: int) -> None:
    started = time.monotonic()
    with pytest.raises(PreviewError, match="too large"):
        render_preview(png_claiming(side, side), "image/png")
    assert time.monotonic() - started < 5


def test_truncated_jpeg_never_hangs() -> None:
    img = Image.effect_noise((600, 600), 64).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG")
    truncated = buf.getvalue()[: len(buf.getvalue()) // 2]
    started = time.monotonic()
    try:
        out = render_preview(truncated, "image/jpeg", timeout=10)
    except PreviewError:
        pass
    else:
        assert max(open_png(out).size) <= 800
    assert time.monotonic() - started < 5


# --- the sandbox -------------------------------------------------------------------


def test_nothing_is_written_to_the_temp_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    watched = tmp_path / "tmp"
    watched.mkdir()
    monkeypatch.setenv("TMPDIR", str(watched))  # the worker is given it too
    monkeypatch.setattr(tempfile, "tempdir", str(watched))
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # and it works from any directory

    render_preview(jpeg_with_metadata(), "image/jpeg")
    render_preview(png((900, 900)), "image/png", max_side=THUMBNAIL_SIDE)
    render_preview(pdf_with_text(CANARY), "application/pdf")
    with pytest.raises(PreviewError):
        render_preview(b"garbage", "application/pdf")

    assert list(watched.iterdir()) == []
    assert list(elsewhere.iterdir()) == []


def test_the_worker_cannot_write_a_file(tmp_path: Path) -> None:
    target = tmp_path / "leak"
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('w', {str(previews._WORKER_PATH)!r})\n"
        "w = importlib.util.module_from_spec(spec); spec.loader.exec_module(w)\n"
        "w.apply_limits()\n"
        "try:\n"
        f"    with open({str(target)!r}, 'wb') as f:\n"
        "        f.write(b'plaintext')\n"
        "except OSError as e:\n"
        "    print(e.errno)\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, check=False, timeout=10
    )
    # Python ignores SIGXFSZ, so the write fails with EFBIG instead of killing.
    assert result.stdout.strip() == str(errno.EFBIG).encode()
    assert not target.exists() or target.read_bytes() == b""


def test_the_worker_environment_carries_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VAULT_SECRET_KEY", CANARY)
    monkeypatch.setenv("DATABASE_URL", CANARY)
    env = previews._worker_env()
    assert CANARY not in "".join(env.values())
    assert set(env) <= {"PATH", "LANG", "LC_ALL", "TMPDIR"}


def test_a_worker_past_its_deadline_is_killed(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_worker(monkeypatch, "import time; time.sleep(60)")
    started = time.monotonic()
    with pytest.raises(PreviewError, match="timed out"):
        render_preview(png((10, 10)), "image/png", timeout=1.0)
    assert time.monotonic() - started < 3


def test_a_worker_that_never_reads_its_input_is_still_killed_on_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 8 MiB cannot fit in a pipe: the parent must not block writing it.
    fake_worker(monkeypatch, "import time; time.sleep(60)")
    started = time.monotonic()
    with pytest.raises(PreviewError, match="timed out"):
        render_preview(b"\0" * (8 << 20), "image/png", timeout=1.0)
    assert time.monotonic() - started < 3


def test_a_flood_of_output_is_cut_short(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_worker(monkeypatch, "import sys\nwhile True: sys.stdout.buffer.write(b'x' * 65536)")
    with pytest.raises(PreviewError, match="output too large"):
        render_preview(png((10, 10)), "image/png", max_side=THUMBNAIL_SIDE, timeout=10)


@pytest.mark.parametrize(
    ("output", "cause"),
    [
        (b"not a png at all, but long enough to have a header", "not a PNG"),
        (png((900, 10)), "wrong size"),
    ],
)
def test_output_must_be_a_png_within_bounds(
    monkeypatch: pytest.MonkeyPatch, output: bytes, cause: str
) -> None:
    fake_worker(monkeypatch, f"import sys; sys.stdout.buffer.write({output!r})")
    with pytest.raises(PreviewError, match=cause):
        render_preview(png((10, 10)), "image/png")


def test_a_crash_is_reported_by_cause_and_stderr_is_never_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fake_worker(
        monkeypatch,
        f"import os, signal, sys; sys.stderr.write({CANARY!r}); sys.stderr.flush();"
        " os.kill(os.getpid(), signal.SIGSEGV)",
    )
    with caplog.at_level(logging.DEBUG), pytest.raises(PreviewError, match="SIGSEGV") as info:
        render_preview(png((10, 10)), "image/png")
    assert CANARY not in caplog.text and CANARY not in str(info.value)
    assert "SIGSEGV" in caplog.text


def test_with_no_free_slot_the_caller_gives_up_after_the_slot_wait() -> None:
    slots = previews._WORKER_SLOTS
    taken = [slots.acquire(blocking=False) for _ in range(previews.WORKER_SLOTS)]
    try:
        assert all(taken) and not slots.acquire(blocking=False)
        with pytest.raises(PreviewError, match="busy") as info:
            render_preview(png((10, 10)), "image/png", slot_wait=0.2, timeout=60)
        assert not info.value.permanent  # the machine was busy, not the document
    finally:
        for _ in taken:
            slots.release()


def test_no_more_workers_than_slots_run_at_once() -> None:
    """Twice as many renders as slots plus one, of a slow real document, at the same moment."""
    bomb = nested_transparency_groups()
    callers = 2 * previews.WORKER_SLOTS + 1
    start = threading.Barrier(callers + 1)
    errors: list[PreviewError] = []
    running: list[int] = []

    def render() -> None:
        start.wait()
        try:
            render_preview(bomb, "application/pdf", slot_wait=0.5, timeout=120)
        except PreviewError as e:
            errors.append(e)

    threads = [threading.Thread(target=render) for _ in range(callers)]
    for thread in threads:
        thread.start()
    start.wait()
    while any(thread.is_alive() for thread in threads):
        running.append(len(worker_processes()))
        threads[0].join(0.01)
    for thread in threads:
        thread.join()

    print("workers seen at once:", max(running))
    assert 1 <= max(running) <= previews.WORKER_SLOTS
    # Every caller got an answer: the document is too costly, or no slot was free.
    assert len(errors) == callers
    busy = [e for e in errors if "busy" in str(e)]
    assert busy and all(not e.permanent for e in busy)
    assert all(e.permanent for e in errors if e not in busy)


def test_a_costly_pdf_is_stopped_by_the_cpu_limit_as_the_documents_fault() -> None:
    bomb = nested_transparency_groups()
    assert len(bomb) < 4096
    # A deadline far away: what stops the worker is its own CPU limit.
    with pytest.raises(PreviewError, match=r"SIGXCPU|SIGKILL") as info:
        render_preview(bomb, "application/pdf", timeout=120)
    assert info.value.permanent


def test_the_worker_limits_and_waits_are_the_documented_ones() -> None:
    code = (
        "import importlib.util, resource\n"
        f"spec = importlib.util.spec_from_file_location('w', {str(previews._WORKER_PATH)!r})\n"
        "w = importlib.util.module_from_spec(spec); spec.loader.exec_module(w)\n"
        "w.apply_limits()\n"
        "for name in ('CPU', 'AS', 'NOFILE', 'FSIZE', 'CORE'):\n"
        "    print(name, *resource.getrlimit(getattr(resource, 'RLIMIT_' + name)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, check=True, timeout=30
    )
    limits = {
        name: (int(soft), int(hard))
        for name, soft, hard in map(str.split, result.stdout.decode().splitlines())
    }
    # docs/operations.md, "Preview sandbox"
    assert limits == {
        "CPU": (4, 5),
        "AS": (1 << 30, 1 << 30),
        "NOFILE": (32, 32),
        "FSIZE": (0, 0),
        "CORE": (0, 0),
    }
    assert previews.WORKER_SLOTS == 2
    assert previews.SLOT_WAIT == 1.0 and previews.RENDER_DEADLINE == 5.0
    # On an idle machine a costly document meets its CPU limit, and is
    # remembered as such, before the serving thread stops waiting for it.
    assert preview_worker.CPU_SECONDS < previews.RENDER_DEADLINE
    assert previews.COSTLY_CPU_SECONDS == 2.0


@pytest.mark.parametrize(
    ("code", "cause", "permanent"),
    [
        ("import sys; sys.exit(3)", "invalid input", True),
        ("import sys; sys.exit(4)", "too large", True),
        ("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)", "SIGSEGV", True),
        ("import sys; sys.exit(1)", "exit status 1", True),
        ("import sys; sys.stdout.buffer.write(b'x' * 64)", "not a PNG", True),
        # Not the document's doing: worth trying again later.
        ("import sys; sys.exit(6)", "sandbox unavailable", False),
        ("import sys; sys.exit(2)", "usage", False),
        ("import time; time.sleep(60)", "timed out", False),
    ],
)
def test_failures_say_whether_the_document_is_at_fault(
    monkeypatch: pytest.MonkeyPatch, code: str, cause: str, permanent: bool
) -> None:
    fake_worker(monkeypatch, code)
    with pytest.raises(PreviewError, match=cause) as info:
        render_preview(png((10, 10)), "image/png", timeout=2.0)
    assert info.value.permanent is permanent


def test_a_worker_busy_computing_at_its_deadline_is_the_documents_fault(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Sleeping (a starved worker) is not; computing until the deadline is.
    monkeypatch.setattr(previews, "COSTLY_CPU_SECONDS", 0.2)
    fake_worker(monkeypatch, "while True: pass")
    with pytest.raises(PreviewError, match="timed out") as info:
        render_preview(png((10, 10)), "image/png", timeout=3.0)
    assert info.value.permanent


def run_worker_patched(patch: str, data: bytes) -> subprocess.CompletedProcess[bytes]:
    """The real worker's main() with one line of `patch` applied to the module `w` first."""
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('w', {str(previews._WORKER_PATH)!r})\n"
        "w = importlib.util.module_from_spec(spec); spec.loader.exec_module(w)\n"
        f"{patch}\n"
        "sys.exit(w.main(['image/png', '800']))\n"
    )
    return subprocess.run(
        [sys.executable, "-I", "-c", code],
        input=data,
        capture_output=True,
        check=False,
        timeout=60,
        env=previews._worker_env(),
        cwd="/",
    )


def test_the_worker_never_reads_its_input_when_a_sandbox_layer_fails() -> None:
    result = run_worker_patched(
        "def fail(): raise OSError(1, 'no seccomp here')\nw._seccomp_filter = fail", png((10, 10))
    )
    assert result.returncode == preview_worker.EXIT_SANDBOX
    assert result.stdout == b""


def test_without_landlock_the_worker_still_renders_under_the_other_layers() -> None:
    result = run_worker_patched("w.landlock_abi = lambda: 0", png((10, 10)))
    assert result.returncode == preview_worker.EXIT_OK
    assert open_png(result.stdout).size == (10, 10)


@pytest.mark.parametrize(
    ("abi", "seccomp", "level", "words"),
    [
        (7, True, logging.INFO, "seccomp, a user of its own (nobody), Landlock (ABI 7)"),
        (0, True, logging.WARNING, "NO LANDLOCK"),
        (7, False, logging.ERROR, "no preview will be made"),
    ],
)
def test_the_start_up_log_says_which_layers_this_machine_offers(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    abi: int,
    seccomp: bool,
    level: int,
    words: str,
) -> None:
    monkeypatch.setattr(preview_worker, "landlock_abi", lambda: abi)
    if not seccomp:
        monkeypatch.setitem(sys.modules, "pyseccomp", None)  # import fails, as without libseccomp
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    previews.log_sandbox.cache_clear()
    try:
        with caplog.at_level(logging.INFO, logger="vault.documents.previews"):
            previews.log_sandbox()
    finally:
        previews.log_sandbox.cache_clear()
    assert [(r.levelno, words in r.getMessage()) for r in caplog.records] == [(level, True)]


def test_the_worker_refuses_bad_arguments() -> None:
    for argv in (["image/gif", "800"], ["image/png", "9999"], ["image/png"]):
        result = subprocess.run(
            [sys.executable, "-I", str(previews._WORKER_PATH), *argv],
            input=png((10, 10)),
            capture_output=True,
            check=False,
            timeout=10,
        )
        assert result.returncode == preview_worker.EXIT_USAGE
        assert result.stdout == b""
