"""Sandboxed preview worker: untrusted document bytes on stdin, a clean PNG on stdout.

Run only by `vault.documents.previews`, as a short-lived child process
(`python -I -B <this file> <mime> <max_side> [<page>]`). With a page number, stdout
is the page count (4 bytes, big-endian) then that page as a PNG (page 0: the count
alone). Parsing a hostile PDF or image is
the riskiest thing the vault does, so it happens here, with nothing to steal
(minimal environment, no keys, no database) and, before the first byte is read,
inside a sandbox (`enter_sandbox`: resource limits, undumpable, its own user
when started as root, Landlock, seccomp) that leaves it nothing to read but its
input, the Python library and the fonts, and nothing to write but its output.
The parent also enforces a wall-clock timeout.

This module imports only the standard library at the top, and nothing from the
app: it runs with `-I` from any directory, and importing it (for the tests) has
no side effect.

The exit status is the whole protocol besides stdout: the parent never logs the
stderr of the worker, since it could echo parts of the document.
"""

from __future__ import annotations

import ctypes
import errno
import importlib.util
import os
import resource
import struct
import sys
import sysconfig
import termios
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from landlockpy import Ruleset


def _load_rendering() -> ModuleType:
    """The decoders (preview_render.py, beside this file), loaded by path.

    The worker runs with `-I`, outside the package, and must not import
    `vault` (the app); loaded now, before the sandbox closes the file system.
    """
    path = Path(__file__).with_name("preview_render.py")
    spec = importlib.util.spec_from_file_location("vault_preview_render", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


rendering = _load_rendering()
# What the worker runs on the document, named here so that tests can replace it.
render = rendering.render
page_count = rendering.page_count
InvalidInput: type[Exception] = rendering.InvalidInput
TooLarge: type[Exception] = rendering.TooLarge
MIME_TYPES: frozenset[str] = rendering.MIME_TYPES

# Exit statuses understood by vault.documents.previews (anything else is a crash).
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INVALID = 3  # not a readable file of the claimed type, encrypted PDF, empty PDF
EXIT_TOO_LARGE = 4  # decompression bomb or absurd page size
EXIT_NO_MEMORY = 5
EXIT_SANDBOX = 6  # the sandbox could not be entered: nothing was parsed
EXIT_NO_PAGE = 7  # the page asked for is past the document's last page

# Limits. The address space is generous because pdfium reserves memory for
# its allocators and rasterises large embedded images; 1 GiB still keeps one
# worker from starving the host (each app process runs at most two).
ADDRESS_SPACE_BYTES = 1024 * 1024 * 1024
# Measured at 800 px by bench/previews.py (docs/operations.md, "Preview
# sandbox"): a text PDF 0.15 s, a 300 dpi A4 scan 0.25-0.45 s, a 12-megapixel
# phone photo 0.35 s, a 50-megapixel image (the most decoded) 0.6-1.6 s,
# interpreter start included. Four seconds leave more than twice the worst
# case for a slower machine, and stop a costly document (nested transparency
# groups) at a quarter of what it took before.
CPU_SECONDS = 4
# Enough for stdin/stdout/stderr, shared libraries opened while importing and
# the fonts pdfium looks up; a parser has no business holding more.
OPEN_FILES = 32

# Bounds on the requested size; the parent checks them too.
MIN_SIDE = 16
MAX_SIDE = 2048


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


# --- the sandbox ---------------------------------------------------------------
#
# Layers, each enough on its own against most of what a subverted parser could
# try (docs/operations.md, "Preview sandbox"):
#   1. resource limits (apply_limits): CPU, memory, no file may grow, no core;
#   2. not dumpable: no process of the same user may read this one's memory
#      (it holds a person's document);
#   3. a user of its own when started as root, with every capability dropped:
#      root's capabilities would otherwise pass every permission check;
#   4. Landlock, where the kernel has it: read-only access to the Python library
#      and the fonts, nothing else (no /proc, no instance folder, no blob); no
#      TCP; no signal or abstract socket outside the sandbox;
#   5. seccomp: an allow-list of system calls; files opened read-only only,
#      writes to stdout and stderr only, no socket, no unlink or rename, no
#      exec, no ptrace. Anything else fails with EPERM.
# All of it is irreversible and is entered before the first untrusted byte is read.

# Whom the worker becomes when started as root. 65534 is "nobody" on Debian and
# most distributions: it owns no file and no process of the app.
SANDBOX_UID = 65534
SANDBOX_GID = 65534

# pdfium looks up system fonts for PDFs that do not embed theirs.
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/usr/share/X11/fonts")

# System calls the renderers, the interpreter and its exit need once the
# document is being read (found by tracing the worker on PDFs, JPEGs and PNGs).
# openat, write, ioctl, kill, tgkill and prlimit64 are allowed with conditions
# below. Not listed, hence refused: socket, connect, unlink, rename, link,
# mkdir, chmod, truncate, execve, fork and clone, ptrace, process_vm_readv...
ALLOWED_SYSCALLS = (
    # files already open, and looking up (not changing) the font folders
    "read", "readv", "pread64", "lseek", "close", "fcntl", "getdents64",
    "fstat", "newfstatat", "statx", "stat", "lstat", "access", "faccessat", "faccessat2",
    "readlink", "readlinkat", "getcwd",
    # memory
    "mmap", "munmap", "mremap", "mprotect", "madvise", "brk",
    # the interpreter itself
    "futex", "sched_yield", "sched_getaffinity", "getrandom",
    "clock_gettime", "clock_getres", "gettimeofday", "clock_nanosleep", "nanosleep",
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
    "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid",
    "getresuid", "getresgid", "getgroups", "capget", "getrusage", "exit", "exit_group",
)  # fmt: skip

PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class SandboxError(Exception):
    """A layer of the sandbox that this machine offers could not be put in place."""


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 where Landlock is not available.

    Not available means: an old kernel, Landlock left out of the boot's LSM
    list, or a container runtime whose seccomp profile refuses its calls.
    """
    import landlockpy

    try:
        return landlockpy.abi_version()
    except landlockpy.LandlockError:
        return 0


def enter_sandbox() -> None:
    """Confine this process for good before it reads any untrusted byte.

    Raises SandboxError when a layer this machine offers fails to apply; the
    worker then exits without reading its input.
    """
    try:
        _set_dumpable(False)
        _preload()
        # The ruleset is built while paths may still be opened with the
        # starting user's rights; it is enforced after the switch of user.
        ruleset = _landlock_ruleset()
        syscall_filter = _seccomp_filter()
        _drop_privileges()
        if ruleset is not None:
            ruleset.restrict()  # sets no_new_privs first
            ruleset.close()
        syscall_filter.load()  # sets no_new_privs too when Landlock did not
    except Exception as e:  # whatever failed (no libseccomp: RuntimeError), nothing is parsed
        raise SandboxError(str(e)) from e


def _prctl(option: int, value: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    result = int(libc.prctl(option, value, 0, 0, 0))
    if result < 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return result


def _set_dumpable(flag: bool) -> None:
    _prctl(PR_SET_DUMPABLE, int(flag))


def _preload() -> None:
    """Import now whatever rendering imports lazily: later, no file may be opened but fonts."""
    import pypdfium2  # noqa: F401  (loads and initialises pdfium)
    from PIL import Image, ImageOps, TiffImagePlugin  # noqa: F401  (EXIF orientation)

    # Every decoder plugin: Pillow imports them on demand (MPO from JPEG...).
    Image.init()


def _readable_paths() -> list[str]:
    # The Python library is code anyone may read; a lazy import must not fail.
    paths = sysconfig.get_paths()
    candidates = [paths[name] for name in ("stdlib", "platstdlib", "purelib", "platlib")]
    candidates += FONT_DIRS
    return sorted({os.path.realpath(p) for p in candidates if os.path.isdir(p)})


def _landlock_ruleset() -> Ruleset | None:
    if landlock_abi() < 1:
        # Said once at the app's start (vault.documents.previews.sandbox_summary).
        return None
    from landlockpy import AccessFS, Ruleset, Scope

    # Every right this kernel knows is handled, hence denied unless granted:
    # files and directories, TCP bind and connect, signals and abstract UNIX
    # sockets reaching outside the sandbox.
    ruleset = Ruleset(scoped=Scope.ABSTRACT_UNIX_SOCKET | Scope.SIGNAL)
    for path in _readable_paths():
        ruleset.allow_path(path, AccessFS.READ_FILE | AccessFS.READ_DIR)
    return ruleset


def _drop_privileges() -> None:
    if os.geteuid() == 0:
        os.setgroups([])
        os.setresgid(SANDBOX_GID, SANDBOX_GID, SANDBOX_GID)
        os.setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
        ids = (os.getresuid(), os.getresgid(), os.getgroups())
        if ids != ((SANDBOX_UID,) * 3, (SANDBOX_GID,) * 3, []):
            raise SandboxError("the change of user did not hold")
    # Leaving uid 0 clears every capability; a non-root user may still hold
    # some (file or ambient capabilities): give them all up, then check.
    # (An unprivileged start keeps its groups, even group 0 as on OpenShift:
    # without capabilities they cannot be changed, and Landlock bounds them.)
    _clear_capabilities()
    held = _capabilities()
    if any(held.values()) or 0 in os.getresuid():
        raise SandboxError(f"privileges kept: {held}")
    _set_dumpable(False)  # a change of user resets it


def _clear_capabilities() -> None:
    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [(name, ctypes.c_uint32) for name in ("effective", "permitted", "inheritable")]

    libc = ctypes.CDLL(None, use_errno=True)
    header = Header(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (Data * 2)()  # all zero
    if libc.capset(ctypes.byref(header), data) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


def _capabilities() -> dict[str, int]:
    # Bytes, not text: decoding could import a codec, and the library may no
    # longer be readable by the new user.
    with open("/proc/self/status", "rb") as f:
        fields = dict(line.split(b":", 1) for line in f if line.startswith(b"Cap"))
    return {name.decode(): int(value, 16) for name, value in fields.items() if name != b"CapBnd"}


def _seccomp_filter() -> Any:  # a pyseccomp.SyscallFilter (pyseccomp has no type hints)
    import pyseccomp as seccomp

    denied = seccomp.ERRNO(errno.EPERM)
    syscall_filter = seccomp.SyscallFilter(denied)
    for name in ALLOWED_SYSCALLS:
        _allow(seccomp, syscall_filter, name)
    # Opening for reading only: no O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND
    # or O_TMPFILE (whose O_DIRECTORY bit alone is fine: listing font folders).
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    writing |= os.O_TMPFILE & ~os.O_DIRECTORY
    _allow(seccomp, syscall_filter, "openat", seccomp.Arg(2, seccomp.MASKED_EQ, writing, 0))
    # Output goes to the pipes the parent reads, nowhere else.
    for fd in (1, 2):
        _allow(seccomp, syscall_filter, "write", seccomp.Arg(0, seccomp.EQ, fd))
    # Signals to itself only (abort(), the interpreter's own handlers).
    pid = os.getpid()
    _allow(seccomp, syscall_filter, "kill", seccomp.Arg(0, seccomp.EQ, pid))
    _allow(seccomp, syscall_filter, "tgkill", seccomp.Arg(0, seccomp.EQ, pid))
    # isatty() on the files Python opens; no other device control.
    _allow(seccomp, syscall_filter, "ioctl", seccomp.Arg(1, seccomp.EQ, termios.TCGETS))
    # Reading its own limits, never raising them.
    _allow(
        seccomp,
        syscall_filter,
        "prlimit64",
        seccomp.Arg(0, seccomp.EQ, 0),
        seccomp.Arg(2, seccomp.EQ, 0),
    )
    return syscall_filter


def _allow(seccomp: Any, syscall_filter: Any, name: str, *args: Any) -> None:
    number = seccomp.resolve_syscall(seccomp.Arch.NATIVE, name)
    if number < 0:
        return  # not a system call on this architecture (e.g. no plain open on arm64)
    syscall_filter.add_rule(seccomp.ALLOW, number, *args)


def main(argv: list[str]) -> int:
    """Worker entry point: `argv` is `[mime, max_side]` or `[mime, max_side, page]`.

    Returns the exit status.
    """
    apply_limits()
    if len(argv) not in (2, 3) or argv[0] not in MIME_TYPES:
        return EXIT_USAGE
    if not all(arg.isdigit() for arg in argv[1:]):
        return EXIT_USAGE
    mime, max_side = argv[0], int(argv[1])
    page = int(argv[2]) if len(argv) == 3 else None
    if not MIN_SIDE <= max_side <= MAX_SIDE:
        return EXIT_USAGE
    try:
        enter_sandbox()
    except SandboxError:
        return EXIT_SANDBOX
    data = sys.stdin.buffer.read()
    try:
        if page is None:
            png = render(data, mime, max_side)
        else:
            png = struct.pack(">I", count := page_count(data, mime))
            if page > count:
                return EXIT_NO_PAGE
            png += render(data, mime, max_side, page) if page else b""
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
