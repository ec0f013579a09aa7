"""Stands in for the preview worker (vault/documents/preview_worker.py): start-up, then attacks.

The parent (parent.py) starts this file exactly as it starts the real worker,
through `vault.documents.previews.render_preview`: same interpreter flags, arguments
("image/png 800"), bare environment, pipes and deadline. This file loads the
real worker module by path and calls its own `main()`, so the resource limits
and `enter_sandbox()` run unchanged; only `render`, the function that parses
the document, is replaced by `attack`. That is the place where a parser bug
in pdfium, libjpeg, libpng or Pillow would hand an attacker the process: what
`attack` can do is what such an attacker could do.

The "document" on stdin is a JSON list of targets written by parent.py. The
answer is a PNG (so that the parent's checks accept it) carrying one text
chunk: what each attack obtained, or the error that stopped it. The test
decides from that, and from the files themselves, what leaked.

Variants (used only to show that the test can fail, and what each layer is
worth), chosen by the file the parent runs:
- payload.py: the worker as shipped;
- payload_unconfined.py: `enter_sandbox` replaced by nothing, the worker as
  it was before the sandbox (resource limits only);
- payload_keeps_root.py: the sandbox without its change of user, so that
  Landlock and seccomp face root's capabilities alone.
"""

from __future__ import annotations

import base64
import ctypes
import errno
import importlib.util
import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType

WORKER = Path(__file__).resolve().parents[4] / "vault" / "documents" / "preview_worker.py"


def load_worker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("preview_worker", WORKER)
    assert spec is not None and spec.loader is not None
    worker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(worker)
    return worker


def outcome(action) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """{"done": what it gave}, {"refused": the errno name} or {"failed": why} for one attack."""
    try:
        result = action()
    except OSError as e:
        return {"refused": errno.errorcode.get(e.errno or 0, str(e))}
    except Exception as e:  # anything else is not the sandbox saying no
        return {"failed": repr(e)}
    return {"done": base64.b64encode(result if isinstance(result, bytes) else b"").decode()}


def read_file(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def read_memory(pid: int, address: int, length: int) -> bytes:
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as f:
        f.seek(address)
        return f.read(length) or b""


def process_vm_readv(pid: int, address: int, length: int) -> bytes:
    class IoVec(ctypes.Structure):
        _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]

    libc = ctypes.CDLL(None, use_errno=True)
    buffer = ctypes.create_string_buffer(length)
    local, remote = IoVec(ctypes.addressof(buffer), length), IoVec(address, length)
    read = libc.process_vm_readv(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
    if read < 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return buffer.raw[:read]


def connect(host: str, port: int) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect((host, port))
        return b"connected"


def create(path: str) -> bytes:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.close(fd)
    return b""


def truncate(path: str) -> bytes:
    # What a subverted worker would do to a blob: no byte needs writing.
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
    os.close(fd)
    return b""


def rename(source: str, target: str) -> bytes:
    os.rename(source, target)
    return b""


def unlink(path: str) -> bytes:
    os.unlink(path)
    return b""


def signal_parent(pid: int) -> bytes:
    os.kill(pid, 0)  # signal 0: only whether it could be sent
    return b""


def spawn() -> bytes:
    return subprocess.run(["/bin/true"], check=True).stdout or b""


def capabilities() -> list[int]:
    """Effective, permitted and inheritable capability sets (both 32-bit halves, OR-ed)."""

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [(name, ctypes.c_uint32) for name in ("effective", "permitted", "inheritable")]

    libc = ctypes.CDLL(None, use_errno=True)
    data = (Data * 2)()
    if libc.capget(ctypes.byref(Header(0x20080522, 0)), data) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return [data[0].effective | data[1].effective, data[0].permitted | data[1].permitted,
            data[0].inheritable | data[1].inheritable]  # fmt: skip


def identity() -> dict[str, object]:
    return {
        "uids": list(os.getresuid()),
        "gids": list(os.getresgid()),
        "groups": os.getgroups(),
        "capabilities": capabilities(),
    }


def attack(data: bytes, mime: str, max_side: int) -> bytes:
    """Try every target named in `data`; answer with a PNG carrying the outcomes."""
    from PIL import Image, PngImagePlugin

    t = json.loads(data)
    pid, address, length = t["parent"], t["address"], t["length"]
    attacks = {
        "parent environ": lambda: read_file(f"/proc/{pid}/environ"),
        "parent memory": lambda: read_memory(pid, address, length),
        "parent memory (process_vm_readv)": lambda: process_vm_readv(pid, address, length),
        "instance file": lambda: read_file(t["canary_file"]),
        "development secrets": lambda: read_file(t["dev_secrets"]),
        "database socket": lambda: connect(t["database_host"], t["database_port"]),
        "create a file": lambda: create(t["new_file"]),
        "truncate a blob": lambda: truncate(t["truncate"]),
        "rename a blob": lambda: rename(t["rename"], t["rename"] + ".moved"),
        "unlink a blob": lambda: unlink(t["unlink"]),
        "signal the parent": lambda: signal_parent(pid),
        "start a program": spawn,
    }
    report = {name: outcome(action) for name, action in attacks.items()}
    info = PngImagePlugin.PngInfo()
    info.add_text("attacks", json.dumps(report))
    info.add_text("identity", json.dumps(identity()))
    out = io.BytesIO()
    Image.new("L", (1, 1)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def run(variant: str) -> int:
    worker = load_worker()
    worker.render = attack
    if variant == "unconfined":
        worker.enter_sandbox = lambda: None
    elif variant == "keeps root":
        worker._drop_privileges = lambda: None
    return int(worker.main(sys.argv[1:]))


if __name__ == "__main__":
    sys.exit(run("as shipped"))
