"""A serving process, built from its environment as wsgi.py builds one, that renders one preview.

Usage: python parent.py <worker script in this folder> <hardened|unhardened> <targets.json>

`vault.create_app()` reads the settings from the environment the test gives
(the secret key is a canary) and, hardened, then forgets the secrets and makes
the process undumpable; unhardened (the control), both steps are skipped, as
before the fix. The process then holds a second canary in memory, as a
session's unwrapped vault key is held, and asks `render_preview` for a preview
of the targets (JSON) with the payload standing in for the worker. It prints
one JSON line: the payload's report and what the process itself looks like.
"""

from __future__ import annotations

import ctypes
import io
import json
import os
import sys
from pathlib import Path

import vault
from vault.documents import previews

PR_GET_DUMPABLE = 3


def main(worker_script: str, mode: str, targets_file: str, memory_canary: str) -> None:
    if mode == "unhardened":
        vault.make_undumpable = lambda: None  # type: ignore[assignment]
        vault.forget_secrets = lambda environ: None  # type: ignore[assignment]
    previews._WORKER_PATH = Path(__file__).with_name(worker_script)  # type: ignore[attr-defined]
    vault.create_app()

    session_key = ctypes.create_string_buffer(memory_canary.encode())
    targets = json.loads(Path(targets_file).read_text())
    targets.update(
        parent=os.getpid(), address=ctypes.addressof(session_key), length=len(memory_canary)
    )
    # The same call as the preview view's, with room for a slow shared machine.
    png = previews.render_preview(json.dumps(targets).encode(), "image/png", timeout=60)

    from PIL import Image

    text = Image.open(io.BytesIO(png)).text  # type: ignore[attr-defined]
    libc = ctypes.CDLL(None)
    print(
        json.dumps(
            {
                "attacks": json.loads(text["attacks"]),
                "identity": json.loads(text["identity"]),
                "dumpable": libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0),
                # The one secret the test gives through the environment.
                "secrets in environ": sorted({"VAULT_SECRET_KEY"} & set(os.environ)),
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
