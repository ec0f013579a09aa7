"""The preview worker is a sandbox: code running in place of its parser reaches nothing.

Issue 11, item 2. A real serving process (`preview_sandbox/parent.py`, built
by `create_app()` from an environment holding a secret) asks for a preview;
the worker is started exactly as in production but its parser is replaced by
attacks (`preview_sandbox/payload.py` says how, and why that is honest). Each
attack is first shown to succeed without the sandbox, then to fail with it.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import DEFAULT_TEST_PG
from tests.services import service_missing
from vault.core.config import DEV_SECRETS_FILE
from vault.documents import preview_worker

HERE = Path(__file__).resolve().parent / "preview_sandbox"
ENV_CANARY = "ENV-CANARY-" + secrets.token_hex(16)
MEMORY_CANARY = "MEMORY-CANARY-" + secrets.token_hex(16)
FILE_CANARY = "FILE-CANARY-" + secrets.token_hex(16)
BLOB = b"ciphertext of someone's document"

ATTACKS = [
    "parent environ",
    "parent memory",
    "parent memory (process_vm_readv)",
    "instance file",
    "development secrets",
    "database socket",
    "create a file",
    "truncate a blob",
    "rename a blob",
    "unlink a blob",
    "signal the parent",
    "start a program",
]


class Scene:
    """An instance folder with a canary, blobs to attack, and the targets for the payload."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.instance = root / "instance"
        self.instance.mkdir(mode=0o700)
        self.blobs = self.instance / "blobs"
        self.blobs.mkdir()
        canary = self.instance / "canary.txt"
        canary.write_text(FILE_CANARY)
        canary.chmod(0o644)  # readable by anyone: only the sandbox may stop the read
        for name in ("truncate", "rename", "unlink"):
            (self.blobs / name).write_bytes(BLOB)
        database = make_url(os.environ.get("VAULT_TEST_DATABASE_URL", DEFAULT_TEST_PG))
        host, port = database.host or "127.0.0.1", database.port or 5432
        try:
            socket.create_connection((host, port), timeout=5).close()
        except OSError as e:
            service_missing(f"PostgreSQL unreachable at {host}:{port}: {e}")
        self.targets = root / "targets.json"
        self.targets.write_text(
            json.dumps(
                {
                    "canary_file": str(canary),
                    "dev_secrets": str(self.instance / DEV_SECRETS_FILE),
                    "database_host": host,
                    "database_port": port,
                    "new_file": str(self.blobs / "new"),
                    "truncate": str(self.blobs / "truncate"),
                    "rename": str(self.blobs / "rename"),
                    "unlink": str(self.blobs / "unlink"),
                }
            )
        )

    def run(self, worker_script: str, mode: str) -> dict[str, Any]:
        # The embedded default, with one secret given by the environment as
        # production gives them all; the development secrets file is made too.
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "LANG": "C.UTF-8",
            "VAULT_ENV": "development",
            "VAULT_INSTANCE_PATH": str(self.instance),
            "VAULT_SECRET_KEY": ENV_CANARY,
            "VAULT_LOG_LEVEL": "WARNING",
        }
        result = subprocess.run(
            [
                sys.executable,
                str(HERE / "parent.py"),
                worker_script,
                mode,
                str(self.targets),
                MEMORY_CANARY,
            ],
            env=env,
            cwd=self.root,
            capture_output=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stderr.decode(errors="replace")[-3000:]
        report: dict[str, Any] = json.loads(result.stdout.decode().splitlines()[-1])
        assert sorted(report["attacks"]) == sorted(ATTACKS)
        return report

    def files_untouched(self) -> bool:
        return (
            not (self.blobs / "new").exists()
            and not (self.blobs / "rename.moved").exists()
            and all(
                (self.blobs / name).read_bytes() == BLOB
                for name in ("truncate", "rename", "unlink")
            )
        )


def obtained(report: dict[str, Any], attack: str) -> bytes:
    outcome = report["attacks"][attack]
    assert "done" in outcome, f"{attack}: {outcome}"
    return base64.b64decode(outcome["done"])


def not_refused(report: dict[str, Any]) -> dict[str, Any]:
    """The attacks the kernel did not refuse (EPERM: seccomp; EACCES: Landlock or permissions)."""
    return {
        name: outcome
        for name, outcome in report["attacks"].items()
        if outcome.get("refused") not in ("EPERM", "EACCES")
    }


@pytest.fixture
def scene(tmp_path: Path) -> Scene:
    return Scene(tmp_path)


def test_without_the_sandbox_every_attack_succeeds(scene: Scene) -> None:
    """The control: the worker as it was (resource limits only), the parent as it was."""
    report = scene.run("payload_unconfined.py", "unhardened")

    assert ENV_CANARY.encode() in obtained(report, "parent environ")
    assert obtained(report, "parent memory") == MEMORY_CANARY.encode()
    assert obtained(report, "parent memory (process_vm_readv)") == MEMORY_CANARY.encode()
    assert obtained(report, "instance file") == FILE_CANARY.encode()
    assert b"server_keys" in obtained(report, "development secrets")
    for attack in ATTACKS[5:]:
        obtained(report, attack)
    assert (scene.blobs / "new").exists()
    assert (scene.blobs / "truncate").read_bytes() == b""
    assert (scene.blobs / "rename.moved").exists() and not (scene.blobs / "rename").exists()
    assert not (scene.blobs / "unlink").exists()
    assert report["dumpable"] == 1
    assert "VAULT_SECRET_KEY" in report["secrets in environ"]
    assert report["identity"]["uids"] == list(os.getresuid())


def test_the_sandboxed_worker_reaches_nothing(scene: Scene) -> None:
    report = scene.run("payload.py", "hardened")

    assert not_refused(report) == {}
    assert scene.files_untouched()
    # Started as root (as the tests and CI run), it became nobody, with no
    # group and no capability; started unprivileged, it stays who it was.
    user = [preview_worker.SANDBOX_UID] * 3 if os.geteuid() == 0 else list(os.getresuid())
    group = [preview_worker.SANDBOX_GID] * 3 if os.geteuid() == 0 else list(os.getresgid())
    assert report["identity"] == {
        "uids": user,
        "gids": group,
        "groups": [] if os.geteuid() == 0 else report["identity"]["groups"],
        "capabilities": [0, 0, 0],
    }
    # The serving process itself: undumpable, and its secrets out of os.environ.
    assert report["dumpable"] == 0
    assert report["secrets in environ"] == []


def test_landlock_and_seccomp_alone_hold_against_root(scene: Scene) -> None:
    """Without its change of user the worker keeps root's capabilities; still nothing is reached.

    This is also the worker in the image, which starts unprivileged and has no
    other user to become, with root's powers added.
    """
    if preview_worker.landlock_abi() < 1:
        service_missing("this kernel has no Landlock")
    report = scene.run("payload_keeps_root.py", "hardened")

    assert not_refused(report) == {}
    assert scene.files_untouched()
    assert report["identity"]["uids"] == list(os.getresuid())
    if os.geteuid() == 0:
        assert all(report["identity"]["capabilities"][:2])  # root's effective and permitted sets
