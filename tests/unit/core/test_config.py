"""Settings from the environment: defaults, production strictness, one-line errors."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
from pathlib import Path

import pytest

from crypto import derive_keypair
from vault.core.config import ConfigError, Settings, dev_escrow_pair

# A fixed key: it names parametrized tests, which every pytest-xdist worker
# must collect alike.
KEYS = "1:" + base64.b64encode(bytes(range(32))).decode()
ESCROW = dev_escrow_pair()["escrow_public_key"]
PRODUCTION = {
    "VAULT_ENV": "production",
    "VAULT_DATABASE_URL": "postgresql+psycopg://vault:dbpassword@db/vault",
    "VAULT_STORAGE_URL": "s3://key:s3password@s3:8333/vault",
    "VAULT_SECRET_KEY": "x" * 48,
    "VAULT_SERVER_KEYS": KEYS,
    "VAULT_ESCROW_PUBLIC_KEY": ESCROW,
    "VAULT_PUBLIC_URL": "https://coffre.example.fr",
}


def test_embedded_default_generates_dev_secrets_once(tmp_path: Path) -> None:
    env = {"VAULT_INSTANCE_PATH": str(tmp_path)}
    first = Settings.from_env(env)
    assert first.env == "development"
    assert first.database_url == f"sqlite:///{tmp_path / 'vault.sqlite3'}"
    assert first.storage_url == (tmp_path / "blobs").as_uri()
    assert first.uses_dev_secrets
    secrets_file = tmp_path / "dev-secrets.json"
    assert stat.S_IMODE(os.stat(secrets_file).st_mode) == 0o600
    second = Settings.from_env(env)
    assert (second.secret_key, second.server_keys) == (first.secret_key, first.server_keys)
    assert json.loads(secrets_file.read_text())["secret_key"] == first.secret_key


def test_secrets_are_not_in_repr(tmp_path: Path) -> None:
    settings = Settings.from_env({**PRODUCTION, "VAULT_INSTANCE_PATH": str(tmp_path)})
    for secret in (settings.secret_key, KEYS, "dbpassword", "s3password"):
        assert secret not in repr(settings)


def test_plain_postgresql_url_uses_psycopg(tmp_path: Path) -> None:
    env = {**PRODUCTION, "VAULT_DATABASE_URL": "postgresql://vault:pw@db:5432/vault"}
    settings = Settings.from_env(env)
    assert settings.database_url == "postgresql+psycopg://vault:pw@db:5432/vault"


def test_production_with_everything_set(tmp_path: Path) -> None:
    settings = Settings.from_env({**PRODUCTION, "VAULT_INSTANCE_PATH": str(tmp_path)})
    assert settings.production and not settings.uses_dev_secrets
    assert not (tmp_path / "dev-secrets.json").exists()


@pytest.mark.parametrize(
    "missing",
    ["VAULT_DATABASE_URL", "VAULT_STORAGE_URL", "VAULT_SECRET_KEY", "VAULT_SERVER_KEYS"],
)
def test_production_refuses_to_start_without(missing: str, tmp_path: Path) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**env, "VAULT_INSTANCE_PATH": str(tmp_path)})
    assert caught.value.variable == missing
    assert str(caught.value) == f"{missing}: required when VAULT_ENV=production"
    assert not (tmp_path / "dev-secrets.json").exists()


def test_secret_from_file(tmp_path: Path) -> None:
    key_file = tmp_path / "secret"
    key_file.write_text("y" * 40 + "\n")
    env = {k: v for k, v in PRODUCTION.items() if k != "VAULT_SECRET_KEY"}
    settings = Settings.from_env({**env, "VAULT_SECRET_KEY_FILE": str(key_file)})
    assert settings.secret_key == "y" * 40


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("VAULT_ENV", "staging"),
        ("VAULT_DATABASE_URL", "mysql://x"),
        ("VAULT_DATABASE_URL", "postgresql://vault@db:notaport/vault"),
        ("VAULT_DATABASE_URL", "not a url"),
        ("VAULT_DATABASE_URL", "sqlite:///"),
        ("VAULT_STORAGE_URL", "s3://k:s@host/bucket?retries=nan"),
        ("VAULT_STORAGE_URL", "s3://k:s@host/bucket?connect_timeout=nan"),
        ("VAULT_STORAGE_URL", "s3://k:s@host/bucket?part_size_mib=inf"),
        ("VAULT_STORAGE_URL", "ftp://x"),
        ("VAULT_SECRET_KEY", "short"),
        ("VAULT_SERVER_KEYS", "1:notbase64!"),
        ("VAULT_SERVER_KEYS", "1:" + base64.b64encode(b"short").decode()),
        ("VAULT_SERVER_KEYS", f"{KEYS},{KEYS}"),
        ("VAULT_MAX_UPLOAD_MB", "lots"),
        ("VAULT_MAX_UPLOAD_MB", "0"),
        ("VAULT_SESSION_IDLE_MINUTES", "100000"),
        ("VAULT_LOG_LEVEL", "LOUD"),
        ("VAULT_KIOSK_NETWORKS", "10.0.0.0/8 prison"),
        ("VAULT_KIOSK_IDLE_MINUTES", "0"),
        ("VAULT_SESSION_ABSOLUTE_HOURS", "1000"),
        ("VAULT_PROXY_HOPS", "-1"),
        ("VAULT_RATELIMIT_STORAGE_URL", "memcached://x"),
        ("VAULT_ESCROW_PUBLIC_KEY", "bm90IGEga2V5"),
        ("VAULT_ESCROW_PUBLIC_KEY", "!!!"),
        ("VAULT_ACTIVATION_DAYS", "0"),
        ("VAULT_RETENTION_YEARS", "0"),
        ("VAULT_RETENTION_YEARS", "three"),
        ("VAULT_COUNSELLOR_GRACE_DAYS", "-1"),
        ("VAULT_COUNSELLOR_GRACE_DAYS", "366"),
        ("VAULT_SECRET_KEY_FILE", "/nonexistent/secret"),
    ],
)
def test_invalid_values_name_the_variable(variable: str, value: str, tmp_path: Path) -> None:
    env = {**PRODUCTION, "VAULT_INSTANCE_PATH": str(tmp_path), variable: value}
    if variable.endswith("_FILE"):
        del env[variable.removesuffix("_FILE")]
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert caught.value.variable == variable
    assert "\n" not in str(caught.value)
    assert PRODUCTION["VAULT_SECRET_KEY"] not in str(caught.value)


def test_production_requires_the_escrow_public_key(tmp_path: Path) -> None:
    env = {**PRODUCTION, "VAULT_INSTANCE_PATH": str(tmp_path)}
    del env["VAULT_ESCROW_PUBLIC_KEY"]
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert caught.value.variable == "VAULT_ESCROW_PUBLIC_KEY"
    assert not (tmp_path / "dev-secrets.json").exists()


def test_session_and_network_settings(tmp_path: Path) -> None:
    env = {
        **PRODUCTION,
        "VAULT_INSTANCE_PATH": str(tmp_path),
        "VAULT_KIOSK_NETWORKS": "10.20.0.0/16, 192.168.1.7",
        "VAULT_KIOSK_IDLE_MINUTES": "5",
        "VAULT_PROXY_HOPS": "1",
        "VAULT_RATELIMIT_STORAGE_URL": "redis://127.0.0.1:6379/0",
    }
    settings = Settings.from_env(env)
    assert settings.kiosk_networks == ("10.20.0.0/16", "192.168.1.7/32")
    assert settings.kiosk_idle_minutes == 5
    assert settings.session_idle_minutes == 30
    assert settings.proxy_hops == 1
    assert settings.escrow_public_key == ESCROW
    assert "redis" not in repr(settings)


def test_development_instances_get_an_escrow_pair(tmp_path: Path) -> None:
    first = Settings.from_env({"VAULT_INSTANCE_PATH": str(tmp_path)})
    data = json.loads((tmp_path / "dev-secrets.json").read_text())
    assert data["escrow_public_key"] == first.escrow_public_key
    assert Settings.from_env({"VAULT_INSTANCE_PATH": str(tmp_path)}).escrow_public_key == (
        first.escrow_public_key
    )


def test_lifecycle_settings(tmp_path: Path) -> None:
    env = {**PRODUCTION, "VAULT_INSTANCE_PATH": str(tmp_path)}
    settings = Settings.from_env(env)
    assert (settings.retention_years, settings.counsellor_grace_days) == (3, 30)
    env |= {"VAULT_RETENTION_YEARS": "5", "VAULT_COUNSELLOR_GRACE_DAYS": "0"}
    settings = Settings.from_env(env)
    assert (settings.retention_years, settings.counsellor_grace_days) == (5, 0)


def _files_hold(root: Path, secret: str) -> list[Path]:
    """Files under `root` that hold the escrow secret, as base64 or as raw bytes."""
    raw = base64.b64decode(secret)
    return [
        path
        for path in root.rglob("*")
        if path.is_file() and (secret.encode() in path.read_bytes() or raw in path.read_bytes())
    ]


def _printed_secret(text: str) -> str:
    match = re.search(r"escrow secret[^\n]*\n\s+([A-Za-z0-9+/]{43}=)\n", text, re.IGNORECASE)
    assert match, text
    return match.group(1)


def test_the_development_escrow_secret_is_printed_once_and_stored_nowhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = Settings.from_env({"VAULT_INSTANCE_PATH": str(tmp_path)})
    printed = capsys.readouterr().err
    secret = _printed_secret(printed)
    # What to do with it, in the same message.
    assert "--secret-file" in printed and "outside" in printed
    # It is the secret of the instance's escrow key...
    public = derive_keypair(base64.b64decode(secret)).public_bytes()
    assert base64.b64encode(public).decode() == first.escrow_public_key
    # ...and nothing under the instance folder holds it.
    assert _files_hold(tmp_path, secret) == []
    assert "escrow_secret" not in json.loads((tmp_path / "dev-secrets.json").read_text())
    # The next starts do not show it again.
    Settings.from_env({"VAULT_INSTANCE_PATH": str(tmp_path)})
    assert secret not in capsys.readouterr().err


def test_an_older_instance_keeping_the_escrow_secret_moves_it_out_loudly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pair = dev_escrow_pair()
    old = {"secret_key": "s" * 64, "server_keys": KEYS, **pair}
    path = tmp_path / "dev-secrets.json"
    path.write_text(json.dumps(old))
    path.chmod(0o600)

    settings = Settings.from_env({"VAULT_INSTANCE_PATH": str(tmp_path)})
    printed = capsys.readouterr().err
    assert _printed_secret(printed) == pair["escrow_secret"]
    assert "removed" in printed
    # The instance keeps working with the same keys; only the secret left.
    assert (settings.secret_key, settings.server_keys) == (old["secret_key"], KEYS)
    assert settings.escrow_public_key == pair["escrow_public_key"]
    assert _files_hold(tmp_path, pair["escrow_secret"]) == []
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    Settings.from_env({"VAULT_INSTANCE_PATH": str(tmp_path)})
    assert pair["escrow_secret"] not in capsys.readouterr().err


def test_production_requires_the_public_address(tmp_path: Path) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "VAULT_PUBLIC_URL"}
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**env, "VAULT_INSTANCE_PATH": str(tmp_path)})
    assert caught.value.variable == "VAULT_PUBLIC_URL"
    assert "required when VAULT_ENV=production" in str(caught.value)


@pytest.mark.parametrize(
    "value", ["coffre.example.fr", "ftp://coffre.example.fr", "https://", "https://x.fr/?a=1"]
)
def test_the_public_address_is_checked(value: str, tmp_path: Path) -> None:
    env = {**PRODUCTION, "VAULT_INSTANCE_PATH": str(tmp_path), "VAULT_PUBLIC_URL": value}
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert caught.value.variable == "VAULT_PUBLIC_URL"


def test_the_public_address_is_kept_without_its_last_slash(tmp_path: Path) -> None:
    env = {**PRODUCTION, "VAULT_PUBLIC_URL": "https://coffre.example.fr/vault/"}
    assert Settings.from_env(env).public_url == "https://coffre.example.fr/vault"
    development = Settings.from_env({"VAULT_INSTANCE_PATH": str(tmp_path)})
    assert development.public_url == ""
