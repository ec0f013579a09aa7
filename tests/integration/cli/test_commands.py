"""The operator's commands, run as an operator runs them: as processes."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import TEST_ESCROW
from tests.services import free_port

VAULT = str(Path(sys.executable).with_name("vault"))


def vault_env(instance: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "FLASK_"))}
    env.update({"VAULT_INSTANCE_PATH": str(instance), **extra})
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [VAULT, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_first_start_prints_the_escrow_secret_once_and_keeps_it_nowhere(
    tmp_path: Path,
) -> None:
    """`make run`'s first two commands on a fresh instance folder."""
    instance = tmp_path / "instance"
    env = vault_env(instance)
    upgraded = run(["db", "upgrade"], env)
    assert upgraded.returncode == 0, upgraded.stderr
    match = re.search(r"escrow secret \(stored nowhere\):\n\s+(\S+)\n", upgraded.stderr)
    assert match, upgraded.stderr
    secret = match.group(1)
    first_admin = run(["accounts", "first-admin", "--quiet"], env)
    assert first_admin.returncode == 0, first_admin.stderr
    assert secret not in first_admin.stdout + first_admin.stderr  # printed once
    raw = base64.b64decode(secret)
    for path in instance.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
            assert raw not in path.read_bytes(), path
    # Saved where the message says, it is this instance's escrow secret.
    saved = tmp_path / "vault-dev-escrow.secret"
    saved.write_text(secret + "\n")
    checked = run(["escrow", "check", "--secret-file", str(saved)], env)
    assert checked.returncode == 0, checked.stderr
    assert "escrow check: OK" in checked.stdout


def test_embedded_default_serves_french_home_page(tmp_path: Path) -> None:
    env = vault_env(tmp_path)
    upgraded = run(["db", "upgrade"], env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "db upgrade: OK" in upgraded.stdout
    assert "DEVELOPMENT SECRETS" in upgraded.stderr  # the loud warning
    port = free_port()
    server = subprocess.Popen(
        [VAULT, "run", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        page = ""
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    page = response.read().decode()
                break
            except OSError:
                time.sleep(0.1)
        assert "Vos papiers en sécurité" in page
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            assert response.status == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert (tmp_path / "vault.sqlite3").exists()
    assert (tmp_path / "blobs").is_dir()


@pytest.mark.parametrize(
    ("extra", "variable"),
    [
        ({"VAULT_ENV": "production"}, "VAULT_DATABASE_URL"),
        ({"VAULT_SESSION_IDLE_MINUTES": "never"}, "VAULT_SESSION_IDLE_MINUTES"),
        ({"VAULT_STORAGE_URL": "s3://127.0.0.1:9000"}, "VAULT_STORAGE_URL"),
    ],
)
def test_invalid_settings_give_one_line_and_exit_2(
    tmp_path: Path, extra: dict[str, str], variable: str
) -> None:
    result = run(["db", "upgrade"], vault_env(tmp_path, **extra))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"vault: configuration error: {variable}: ")
    assert "Traceback" not in result.stderr


def test_storage_check_on_unreachable_s3_is_one_clear_line(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"s3://probe:hunter2secret@127.0.0.1:{port}/vault?secure=false"
    secrets = {
        "VAULT_SECRET_KEY": "s" * 40,
        "VAULT_SERVER_KEYS": "1:" + "A" * 43 + "=",
        "VAULT_ESCROW_PUBLIC_KEY": TEST_ESCROW["escrow_public_key"],
    }
    result = run(["storage", "check"], vault_env(tmp_path, VAULT_STORAGE_URL=url, **secrets))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("storage check: FAILED: ")
    assert f"s3://127.0.0.1:{port}/vault" in lines[0]
    assert "hunter2secret" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_storage_check_on_local_store(tmp_path: Path) -> None:
    result = run(["storage", "check"], vault_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("storage check: OK (file://")
    assert [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()] == []  # probe gone
