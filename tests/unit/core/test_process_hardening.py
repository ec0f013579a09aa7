"""The serving processes keep their secrets to themselves (issue 11, item 2).

What a process of the same user could read: the environment (the kernel keeps
a copy in /proc/<pid>/environ) and the memory (/proc/<pid>/mem, ptrace). The
app reads its secrets once and drops them from `os.environ`, and both the
gunicorn master and each app process are made undumpable. The end-to-end proof,
with a payload in the preview worker, is tests/integration/documents/test_preview_sandbox.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from vault.core.config import SECRET_VARIABLES, Settings, forget_secrets

ROOT = Path(__file__).resolve().parents[3]


def test_every_secret_variable_and_its_file_variant_is_forgotten() -> None:
    environ = {"PATH": "/usr/bin", "VAULT_ENV": "production", "VAULT_LOG_LEVEL": "INFO"}
    for name in SECRET_VARIABLES:
        environ[name] = f"secret of {name}"
        environ[f"{name}_FILE"] = f"/run/secrets/{name}"

    forget_secrets(environ)

    assert environ == {"PATH": "/usr/bin", "VAULT_ENV": "production", "VAULT_LOG_LEVEL": "INFO"}


def test_every_setting_kept_out_of_repr_comes_from_a_forgotten_variable() -> None:
    # Settings hidden from repr are the secrets and credentials; a new one
    # must be forgotten too.
    hidden = {f.name for f in Settings.__dataclass_fields__.values() if not f.repr}
    assert {f"VAULT_{name.upper()}" for name in hidden} == set(SECRET_VARIABLES)


def test_the_gunicorn_master_makes_itself_undumpable() -> None:
    code = (
        "import ctypes, json, runpy\n"
        f"conf = runpy.run_path({str(ROOT / 'docker' / 'gunicorn.conf.py')!r})\n"
        "before = ctypes.CDLL(None).prctl(3, 0, 0, 0, 0)\n"
        "conf['on_starting'](None)\n"
        "print(json.dumps([before, ctypes.CDLL(None).prctl(3, 0, 0, 0, 0)]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=True, timeout=60, cwd=ROOT
    )
    assert json.loads(result.stdout) == [1, 0]  # PR_GET_DUMPABLE before, after


def test_each_gunicorn_worker_says_at_start_how_previews_are_confined() -> None:
    code = (
        "import logging, runpy\n"
        "logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s')\n"
        f"conf = runpy.run_path({str(ROOT / 'docker' / 'gunicorn.conf.py')!r})\n"
        "conf['post_worker_init'](None)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=True, timeout=60, cwd=ROOT
    )
    assert "preview sandbox: seccomp" in result.stderr.decode()
