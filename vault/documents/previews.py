"""Previews and thumbnails of documents, rendered in a sandboxed child process.

`render_preview` turns the plaintext bytes of a document (PDF, JPEG or PNG)
into a small PNG, which the caller encrypts and stores like any other blob;
`render_page` renders one page at a readable size and `count_pages` counts
them (the page viewer, vault/documents/pages.py).
The untrusted bytes are parsed only in `vault.documents.preview_worker`, a short-lived
process with resource limits and a bare environment, confined before it reads
a byte (its own user when started as root, Landlock, seccomp: see the worker
and docs/operations.md); this side bounds how many run at once and how long a
caller waits for one, gives each a wall-clock deadline, bounds what it may send
back, checks that the answer is a PNG of the right size, and never logs what
the worker printed (it could echo parts of the document). Nothing touches
disk: the document travels through a pipe and stays in memory on both sides.

A request thread waits for a preview at most `SLOT_WAIT` for a free worker
plus `RENDER_DEADLINE`; `PreviewError.permanent` tells the caller whether the
document itself is at fault (remember it, never try again) or the machine was
busy (try another time).

PNG rather than JPEG or WebP: lossless, so the text of a scanned letter stays
crisp at 800 px; no quality knob; every browser shows it; and Pillow writes no
metadata into it unless asked.
"""

from __future__ import annotations

import logging
import os
import selectors
import signal
import struct
import subprocess
import sys
import threading
import time
from functools import cache
from pathlib import Path

from vault.core import metrics
from vault.documents import preview_worker as worker

log = logging.getLogger(__name__)

PREVIEW_MIME = "image/png"
PREVIEW_SIDE = 800
THUMBNAIL_SIDE = 200
# Pages shown in full (the page viewer, D-100): an A4 page 1400 px high is
# 990 px wide, about 120 dpi, where the small print of a letter stays legible.
PAGE_SIDE = 1400
MIME_TYPES = worker.MIME_TYPES

_WORKER_PATH = Path(worker.__file__).resolve()
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHUNK = 64 * 1024

# How many workers may run at once in this process. Module-level on purpose:
# this is a process-wide resource limit (each worker may use 1 GiB and a CPU),
# not application state, and two apps in one process share the same machine.
WORKER_SLOTS = 2
_WORKER_SLOTS = threading.BoundedSemaphore(WORKER_SLOTS)
# A request thread waits this long for a free worker, then answers without a
# preview: threads serve sign-ins and pages too.
SLOT_WAIT = 1.0
# Wall-clock deadline of one render. The worst real document measured (a
# 50-megapixel PNG) takes 1.6 s of CPU; the worker's CPU limit is
# worker.CPU_SECONDS (docs/operations.md).
RENDER_DEADLINE = 5.0
# A worker stopped at the deadline after burning at least this much CPU was
# slowed by its document, not by a busy machine: the failure is permanent.
COSTLY_CPU_SECONDS = worker.CPU_SECONDS / 2

_EXIT_CAUSES = {
    worker.EXIT_USAGE: "usage",
    worker.EXIT_INVALID: "invalid input",
    worker.EXIT_TOO_LARGE: "too large",
    worker.EXIT_NO_MEMORY: "out of memory",
    worker.EXIT_SANDBOX: "sandbox unavailable",
}


@cache
def log_sandbox() -> None:
    """Say once per process how previews are confined on this machine: never pretend.

    The worker refuses to run without seccomp (no preview is made) and runs
    without Landlock where the kernel lacks it, which this line tells the
    operator (docs/operations.md, "Preview sandbox"). Called when a gunicorn
    worker starts (docker/gunicorn.conf.py) and before the first preview of any
    process; not by `create_app`, so that commands keep their one line.
    """
    try:
        import pyseccomp  # noqa: F401  (finds libseccomp, as the worker will)
    except (ImportError, RuntimeError):
        log.error("preview sandbox: libseccomp not found: no preview will be made")
        return
    user = "a user of its own (nobody), " if os.geteuid() == 0 else ""
    abi = worker.landlock_abi()
    if abi < 1:
        log.warning(
            "preview sandbox: seccomp and %sbut NO LANDLOCK on this kernel: the preview "
            "worker can read every file its user can read",
            user,
        )
        return
    log.info("preview sandbox: seccomp, %sLandlock (ABI %d)", user, abi)


class PreviewError(Exception):
    """No preview could be made of this document.

    `permanent` is true when the document is at fault (unreadable, too large,
    too costly, crashed the parser): trying again would fail again. It is false
    when the machine was at fault (no free worker, deadline passed while the
    worker was starved of CPU, no sandbox): a later try may succeed.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class NoSuchPage(PreviewError):
    """The page asked for is past the document's last page (not the document's fault)."""


class _DeadlinePassed(PreviewError):
    """The worker was still running at its deadline."""


def render_preview(
    data: bytes,
    mime: str,
    *,
    max_side: int = PREVIEW_SIDE,
    timeout: float = RENDER_DEADLINE,
    slot_wait: float = SLOT_WAIT,
) -> bytes:
    """Render the first page or the image in `data` as a PNG (`PREVIEW_MIME`).

    Parameters:
        data: the plaintext document, held in memory.
        mime: its type as detected from magic bytes; one of `MIME_TYPES`.
        max_side: the longest side of the result in pixels (`PREVIEW_SIDE`,
            `THUMBNAIL_SIDE` or another value between 16 and 2048).
        timeout: seconds the worker may take, once it has started.
        slot_wait: seconds to wait for a free worker before giving up.

    The result carries pixels only (no EXIF, GPS, XMP or ICC data), turned
    upright according to the EXIF orientation.

    Raises PreviewError when the type is not allowed, the document cannot be
    read or is too large to decode, the worker fails, times out or sends back
    something other than a PNG within bounds. The message names the cause and
    never anything from the document. Raises ValueError for a `max_side` out
    of range (a programming error).
    """
    if not worker.MIN_SIDE <= max_side <= worker.MAX_SIDE:
        raise ValueError(f"max_side must be between {worker.MIN_SIDE} and {worker.MAX_SIDE}")
    output = _render(data, mime, [str(max_side)], _max_output(max_side), timeout, slot_wait)
    _check_png(output, max_side)
    return output


def count_pages(data: bytes, mime: str, *, slot_wait: float = SLOT_WAIT) -> int:
    """How many pages the document in `data` has (an image has one).

    A PDF is opened by the sandboxed worker (page 0: the count, no render);
    an image is never parsed for it. Raises PreviewError as `render_preview`.
    """
    if mime in MIME_TYPES and mime != "application/pdf":
        return 1
    output = _render(data, mime, [str(worker.MIN_SIDE), "0"], 4, RENDER_DEADLINE, slot_wait)
    if len(output) != 4:
        raise PreviewError("preview worker sent no page count", permanent=True)
    count: int = struct.unpack(">I", output)[0]
    return count


def render_page(
    data: bytes, mime: str, page: int, *, max_side: int = PAGE_SIDE, slot_wait: float = SLOT_WAIT
) -> tuple[int, bytes]:
    """Page `page` (from 1) of the document in `data` as a PNG, with the page count.

    An image is its own single page. Raises NoSuchPage past the last page,
    PreviewError as `render_preview` otherwise; ValueError for a page below 1
    or a `max_side` out of range.
    """
    if page < 1 or not worker.MIN_SIDE <= max_side <= worker.MAX_SIDE:
        raise ValueError("page must be 1 or more and max_side within the worker's bounds")
    limit = 4 + _max_output(max_side)
    output = _render(data, mime, [str(max_side), str(page)], limit, RENDER_DEADLINE, slot_wait)
    if len(output) < 4:
        raise PreviewError("preview worker sent no page count", permanent=True)
    count: int = struct.unpack(">I", output[:4])[0]
    _check_png(output[4:], max_side)
    return count, output[4:]


def _render(
    data: bytes, mime: str, args: list[str], limit: int, timeout: float, slot_wait: float
) -> bytes:
    """Run one worker on `data` with `args` after the type; its output once it exited cleanly."""
    log_sandbox()
    try:
        if mime not in MIME_TYPES:
            raise PreviewError("no preview for this type", permanent=True)
        if not _WORKER_SLOTS.acquire(timeout=max(0.0, slot_wait)):
            raise PreviewError("preview workers busy")
        try:
            deadline = time.monotonic() + timeout
            returncode, output = _run_worker(_worker_command(mime, args), data, deadline, limit)
        finally:
            _WORKER_SLOTS.release()
        if returncode == worker.EXIT_NO_PAGE:
            raise NoSuchPage("no such page")
        if returncode != worker.EXIT_OK:
            # Usage and sandbox failures are ours or the machine's, not the document's.
            permanent = returncode not in (worker.EXIT_USAGE, worker.EXIT_SANDBOX)
            raise PreviewError(
                f"preview worker failed: {_describe_exit(returncode)}", permanent=permanent
            )
    except PreviewError as e:
        # Only our own fixed message: the worker's stderr is never logged.
        log.warning("preview not made: %s", e)
        metrics.PREVIEWS.labels(_outcome(e)).inc()
        raise
    metrics.PREVIEWS.labels("made").inc()
    return output


def _worker_command(mime: str, args: list[str]) -> list[str]:
    # -I (isolated): PYTHON* variables, the user site and the script's and
    # current directories are all ignored, so only the venv is importable. The
    # worker imports nothing from the app, so running it by path needs no
    # PYTHONPATH and works from any directory. -B: it may not write files, so
    # it should not even try to cache bytecode.
    return [sys.executable, "-I", "-B", str(_WORKER_PATH), mime, *args]


def _worker_env() -> dict[str, str]:
    # Built from nothing: the worker must not inherit keys, database URLs or
    # anything else from the app's environment.
    env = {"PATH": os.defpath, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    # Not a secret; passed on so that a stray temp file would land where the
    # tests watch (RLIMIT_FSIZE=0 already makes writing one fail).
    if "TMPDIR" in os.environ:
        env["TMPDIR"] = os.environ["TMPDIR"]
    return env


def _max_output(max_side: int) -> int:
    # An RGBA PNG that did not compress at all, plus room for its chunks.
    return max_side * (4 * max_side + 1) + 64 * 1024


def _run_worker(command: list[str], data: bytes, deadline: float, limit: int) -> tuple[int, bytes]:
    """Run the worker with `data` on stdin; return its exit status and stdout.

    Raises PreviewError past `deadline` (a `time.monotonic()` value) or when
    stdout exceeds `limit` bytes, after killing the worker. The worker is
    always reaped before this returns: a slot is never given back while its
    process still runs.

    Written out with a selector instead of `subprocess.run` so that the output
    is bounded while it arrives (a subverted worker could otherwise flood this
    process's memory) and stderr is drained but kept nowhere; the worker is
    reaped with wait4 so that the CPU time it used is known.
    """
    try:
        proc = subprocess.Popen(  # noqa: S603 (fixed command, no shell)
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd="/",
            env=_worker_env(),
            close_fds=True,
        )
    except OSError as e:
        raise PreviewError("preview worker could not start") from e
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    output = bytearray()
    try:
        with selectors.DefaultSelector() as selector:
            _pump(proc, selector, memoryview(data), output, limit, deadline)
        _reap(proc, deadline)
        assert proc.returncode is not None
        return proc.returncode, bytes(output)
    except _DeadlinePassed as e:
        proc.kill()
        # Starved by a busy machine, a worker uses little CPU before its
        # deadline; one that used this much was kept busy by its document.
        costly = _reap(proc) >= COSTLY_CPU_SECONDS
        raise PreviewError("preview worker timed out", permanent=costly) from e
    finally:
        if proc.returncode is None:
            proc.kill()
            _reap(proc)
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            pipe.close()


def _reap(proc: subprocess.Popen[bytes], deadline: float | None = None) -> float:
    """Wait for the worker to exit (until `deadline`, if given); return the CPU seconds it used.

    Its exit status is recorded on `proc` as `Popen.wait` would. Raises
    _DeadlinePassed if it is still running at `deadline`.
    """
    while True:
        pid, status, usage = os.wait4(proc.pid, 0 if deadline is None else os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return usage.ru_utime + usage.ru_stime
        if deadline is not None and time.monotonic() >= deadline:
            raise _DeadlinePassed("preview worker timed out")
        # Its output is closed: it is exiting, or stuck until the deadline.
        time.sleep(0.01)


def _pump(
    proc: subprocess.Popen[bytes],
    selector: selectors.BaseSelector,
    data: memoryview,
    output: bytearray,
    limit: int,
    deadline: float,
) -> None:
    """Feed stdin and drain stdout and stderr until all three are closed."""
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    sent = 0
    if data:
        # Non-blocking so that a full pipe never stalls us past the deadline.
        os.set_blocking(proc.stdin.fileno(), False)
        selector.register(proc.stdin, selectors.EVENT_WRITE)
    else:
        proc.stdin.close()
    selector.register(proc.stdout, selectors.EVENT_READ)
    selector.register(proc.stderr, selectors.EVENT_READ)
    while selector.get_map():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _DeadlinePassed("preview worker timed out")
        for key, _ in selector.select(remaining):
            if key.fileobj is proc.stdin:
                try:
                    sent += os.write(key.fd, data[sent : sent + _CHUNK])
                except BrokenPipeError:
                    # The worker stopped reading (it failed early): its exit
                    # status will say why.
                    sent = len(data)
                if sent >= len(data):
                    selector.unregister(proc.stdin)
                    proc.stdin.close()
                continue
            chunk = os.read(key.fd, _CHUNK)
            if not chunk:
                selector.unregister(key.fileobj)
            elif key.fileobj is proc.stdout:
                output += chunk
                if len(output) > limit:
                    raise PreviewError("preview worker output too large", permanent=True)
            # stderr chunks are dropped on purpose: they may quote the document.


def _describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name  # SIGXCPU, SIGKILL, SIGSEGV...
        except ValueError:
            return f"signal {-returncode}"
    return _EXIT_CAUSES.get(returncode, f"exit status {returncode}")


def _check_png(output: bytes, max_side: int) -> None:
    # Read the IHDR by hand rather than with Pillow: parsing what a possibly
    # subverted worker sent back is exactly what this process must not do.
    if len(output) < 33 or not output.startswith(_PNG_SIGNATURE) or output[12:16] != b"IHDR":
        raise PreviewError("preview worker output is not a PNG", permanent=True)
    width, height = struct.unpack(">II", output[16:24])
    if not (0 < width <= max_side and 0 < height <= max_side):
        raise PreviewError("preview worker output has the wrong size", permanent=True)


def _outcome(error: PreviewError) -> str:
    """The metrics' word for a preview not made (docs/operations.md, "Metrics")."""
    if error.permanent:
        return "failed"
    if isinstance(error, _DeadlinePassed):
        return "late"
    return "busy" if str(error) == "preview workers busy" else "error"
