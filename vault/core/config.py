"""Settings: one frozen object built from the environment.

Nothing here imports Flask: the CLI, the tests and the app factory all build a
`Settings` the same way, and tests build one in code. Secrets may be given
directly (``VAULT_SECRET_KEY``) or through a file (``VAULT_SECRET_KEY_FILE``),
as Docker and systemd credentials provide them.

Embedded default: SQLite and a blob directory under ``instance/``, with
development secrets generated there once (and a loud warning). With
``VAULT_ENV=production`` nothing is generated: every required variable must be
set, and a missing one stops start-up with one line naming it.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import os
import secrets
import sys
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

import storage
from crypto import FormatError, KeyRing, derive_keypair, generate_data_key, load_public_key

log = logging.getLogger(__name__)

ENVIRONMENTS = ("development", "production", "testing")
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"
DEV_SECRETS_FILE = "dev-secrets.json"
MIB = 1024 * 1024
# Variables that carry a secret or a credential (or, as NAME_FILE, where to
# read one): read once by `Settings.from_env`, then dropped by `forget_secrets`.
SECRET_VARIABLES = (
    "VAULT_SECRET_KEY",
    "VAULT_SERVER_KEYS",
    "VAULT_DATABASE_URL",
    "VAULT_STORAGE_URL",
    "VAULT_RATELIMIT_STORAGE_URL",
)


class ConfigError(Exception):
    """A setting is missing or invalid; `variable` names the environment variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass(frozen=True)
class Settings:
    """Everything the app needs to know about its deployment, fixed at start-up."""

    env: str
    instance_path: Path
    # Both URLs may carry credentials: kept out of repr (tracebacks, logs).
    database_url: str = field(repr=False)
    storage_url: str = field(repr=False)
    secret_key: str = field(repr=False)
    # "version:base64key,..." parsed by crypto.KeyRing; the highest version wraps.
    server_keys: str = field(repr=False)
    max_upload_bytes: int = 25 * MIB
    vault_quota_bytes: int = 500 * MIB
    # Idle sign-out: short on kiosk networks (shared terminals in detention).
    session_idle_minutes: int = 30
    kiosk_idle_minutes: int = 10
    session_absolute_hours: int = 12
    kiosk_networks: tuple[str, ...] = ()
    # The address people reach from the Internet ("https://coffre.example.fr"):
    # printed on sheets and summaries and given in external links, never the
    # address a request came in on (a kiosk's is the establishment's own; D-071).
    # Required in production; elsewhere empty means "the request's own address".
    public_url: str = ""
    # Number of reverse proxies in front of the app whose X-Forwarded-* to trust.
    proxy_hops: int = 0
    # Where per-address rate limits are counted ("memory://" or "redis://...").
    ratelimit_storage_url: str = field(default="memory://", repr=False)
    # The organisation's escrow public key (base64 of crypto.PublicKey bytes).
    escrow_public_key: str = ""
    activation_days: int = 30
    # After release: a vault is kept this long after the person's last sign-in
    # (issue 6; notice at least 3 months before deletion).
    retention_years: int = 3
    # After a release without follow-up, counsellors keep access this long.
    counsellor_grace_days: int = 30
    log_level: str = "INFO"
    # "text" or "json" (one object a line, with the request id); the image sets json.
    log_format: str = "text"
    # Who may read /metrics (networks); empty: nobody, the page is a 404 to all.
    metrics_allow: tuple[str, ...] = ()
    uses_dev_secrets: bool = False

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def testing(self) -> bool:
        return self.env == "testing"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `environ` (default: the process environment).

        Raises ConfigError naming the first variable that is missing or invalid.
        """
        env_map: Mapping[str, str] = os.environ if environ is None else environ
        env = env_map.get("VAULT_ENV", "development").strip() or "development"
        if env not in ENVIRONMENTS:
            raise ConfigError("VAULT_ENV", f"must be one of {', '.join(ENVIRONMENTS)}")
        production = env == "production"

        instance = Path(env_map.get("VAULT_INSTANCE_PATH", "") or DEFAULT_INSTANCE).resolve()

        def required_in_production(name: str, default: str) -> str:
            value = _read(env_map, name)
            if value:
                return value
            if production:
                raise ConfigError(name, "required when VAULT_ENV=production")
            return default

        database_url = required_in_production(
            "VAULT_DATABASE_URL", f"sqlite:///{instance / 'vault.sqlite3'}"
        )
        database_url = _normalise_database_url(database_url)
        storage_url = required_in_production("VAULT_STORAGE_URL", (instance / "blobs").as_uri())
        _check_storage_url(storage_url)

        # Everything else is checked before development secrets are generated,
        # so a typo never leaves a half-configured instance folder behind.
        max_upload_bytes = _int_mib(env_map, "VAULT_MAX_UPLOAD_MB", 25)
        vault_quota_bytes = _int_mib(env_map, "VAULT_QUOTA_MB", 500)
        idle_minutes = _int(env_map, "VAULT_SESSION_IDLE_MINUTES", 30, low=1, high=720)
        kiosk_idle = _int(env_map, "VAULT_KIOSK_IDLE_MINUTES", 10, low=1, high=720)
        absolute_hours = _int(env_map, "VAULT_SESSION_ABSOLUTE_HOURS", 12, low=1, high=168)
        kiosk_networks = _networks(env_map, "VAULT_KIOSK_NETWORKS")
        proxy_hops = _int(env_map, "VAULT_PROXY_HOPS", 0, low=0, high=5)
        public_url = _public_url(env_map.get("VAULT_PUBLIC_URL", ""))
        if production and not public_url:
            raise ConfigError(
                "VAULT_PUBLIC_URL", "required when VAULT_ENV=production (https://coffre.example.fr)"
            )
        ratelimit_url = _ratelimit_url(env_map)
        activation_days = _int(env_map, "VAULT_ACTIVATION_DAYS", 30, low=1, high=365)
        retention_years = _int(env_map, "VAULT_RETENTION_YEARS", 3, low=1, high=30)
        grace_days = _int(env_map, "VAULT_COUNSELLOR_GRACE_DAYS", 30, low=0, high=365)
        log_level = _log_level(env_map)
        log_format = env_map.get("VAULT_LOG_FORMAT", "text").strip().lower() or "text"
        if log_format not in {"text", "json"}:
            raise ConfigError("VAULT_LOG_FORMAT", "must be text or json")
        metrics_allow = _networks(env_map, "VAULT_METRICS_ALLOW")
        escrow_public_key = _read(env_map, "VAULT_ESCROW_PUBLIC_KEY")
        if escrow_public_key:
            _check_public_key(escrow_public_key)
        elif production:
            raise ConfigError(
                "VAULT_ESCROW_PUBLIC_KEY", "required when VAULT_ENV=production (vault escrow init)"
            )

        secret_key = _read(env_map, "VAULT_SECRET_KEY")
        server_keys = _read(env_map, "VAULT_SERVER_KEYS")
        if production:
            if not secret_key:
                raise ConfigError("VAULT_SECRET_KEY", "required when VAULT_ENV=production")
            if not server_keys:
                raise ConfigError("VAULT_SERVER_KEYS", "required when VAULT_ENV=production")
        uses_dev = not secret_key or not server_keys or not escrow_public_key
        if uses_dev:
            dev = _development_secrets(instance)
            secret_key = secret_key or dev["secret_key"]
            server_keys = server_keys or dev["server_keys"]
            escrow_public_key = escrow_public_key or dev["escrow_public_key"]
        if len(secret_key) < 32:
            raise ConfigError("VAULT_SECRET_KEY", "must be at least 32 characters")
        _check_server_keys(server_keys)

        return cls(
            env=env,
            instance_path=instance,
            database_url=database_url,
            storage_url=storage_url,
            secret_key=secret_key,
            server_keys=server_keys,
            max_upload_bytes=max_upload_bytes,
            vault_quota_bytes=vault_quota_bytes,
            session_idle_minutes=idle_minutes,
            kiosk_idle_minutes=kiosk_idle,
            session_absolute_hours=absolute_hours,
            kiosk_networks=kiosk_networks,
            proxy_hops=proxy_hops,
            public_url=public_url,
            ratelimit_storage_url=ratelimit_url,
            escrow_public_key=escrow_public_key,
            activation_days=activation_days,
            retention_years=retention_years,
            counsellor_grace_days=grace_days,
            log_level=log_level,
            log_format=log_format,
            metrics_allow=metrics_allow,
            uses_dev_secrets=uses_dev,
        )


def forget_secrets(environ: MutableMapping[str, str]) -> None:
    """Remove every secret variable (and its NAME_FILE) from `environ` once settings are read.

    Nothing the process starts later inherits them, and nothing reads them from
    `os.environ` again. The copy the kernel keeps of the initial environment
    (/proc/<pid>/environ) stays: making the process undumpable is what keeps
    other processes from reading it (`vault.make_undumpable`).
    """
    for name in SECRET_VARIABLES:
        environ.pop(name, None)
        environ.pop(f"{name}_FILE", None)


def _read(env_map: Mapping[str, str], name: str) -> str:
    """The value of `name`, or the content of the file named by `name`_FILE."""
    value = env_map.get(name, "").strip()
    if value:
        return value
    path = env_map.get(f"{name}_FILE", "").strip()
    if not path:
        return ""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as e:
        raise ConfigError(f"{name}_FILE", f"cannot read {path} ({e.strerror})") from e


def _int(env_map: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = env_map.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as e:
        raise ConfigError(name, f"must be a whole number, got {raw!r}") from e
    if not low <= value <= high:
        raise ConfigError(name, f"must be between {low} and {high}")
    return value


def _int_mib(env_map: Mapping[str, str], name: str, default: int) -> int:
    return _int(env_map, name, default, low=1, high=100_000) * MIB


def _networks(env_map: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env_map.get(name, "").replace(",", " ").split()
    networks = []
    for item in raw:
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError as e:
            raise ConfigError(name, f"{item!r} is not a network (e.g. 10.20.0.0/16)") from e
    return tuple(networks)


def _public_url(value: str) -> str:
    """The public address without a trailing slash, checked: http(s), a host, no query."""
    url = value.strip().rstrip("/")
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError("VAULT_PUBLIC_URL", "must look like https://coffre.example.fr")
    return url


def _ratelimit_url(env_map: Mapping[str, str]) -> str:
    url = _read(env_map, "VAULT_RATELIMIT_STORAGE_URL") or "memory://"
    if urlsplit(url).scheme not in {"memory", "redis", "rediss"}:
        raise ConfigError("VAULT_RATELIMIT_STORAGE_URL", "must be memory:// or redis://host:port")
    return url


def _check_public_key(value: str) -> None:
    try:
        load_public_key(base64.b64decode(value, validate=True))
    except (ValueError, FormatError) as e:
        raise ConfigError(
            "VAULT_ESCROW_PUBLIC_KEY", "is not an escrow public key (see vault escrow init)"
        ) from e


def _log_level(env_map: Mapping[str, str]) -> str:
    level = env_map.get("VAULT_LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError("VAULT_LOG_LEVEL", "must be DEBUG, INFO, WARNING or ERROR")
    return level


def _normalise_database_url(url: str) -> str:
    """Check `url` and pin PostgreSQL to psycopg 3, the driver we install."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as e:
        raise ConfigError("VAULT_DATABASE_URL", "is not a valid database URL") from e
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "postgresql+psycopg"):
        raise ConfigError(
            "VAULT_DATABASE_URL",
            "must start with sqlite:///, postgresql:// or postgresql+psycopg://",
        )
    if parsed.drivername == "sqlite" and not parsed.database:
        raise ConfigError("VAULT_DATABASE_URL", "sqlite:/// needs a file path")
    return parsed.render_as_string(hide_password=False)


def _check_storage_url(url: str) -> None:
    """Reject a bad storage URL before anything is written to the instance folder."""
    if url.startswith("s3://"):
        try:
            # Builds the client only: no request is made, nothing is written.
            storage.open_store(url).close()
        except storage.StorageConfigError as e:
            raise ConfigError("VAULT_STORAGE_URL", str(e)) from e
        return
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc or parts.query or parts.fragment:
        raise ConfigError("VAULT_STORAGE_URL", "must be file:///absolute/path or s3://...")


def _check_server_keys(value: str) -> None:
    try:
        KeyRing.from_string(value)
    except FormatError as e:
        raise ConfigError("VAULT_SERVER_KEYS", f"{e} (1:<base64 of 32 bytes>[,2:...])") from e


def _development_secrets(instance: Path) -> dict[str, Any]:
    """Load or create the development secrets under `instance` (never in production).

    The escrow secret is never kept there: with the database and the blobs
    next to it, it would open every vault. A new pair's secret is printed once
    (`_show_escrow_secret`); a file written by an older version that still
    holds one loses it, printed once with a warning.
    """
    path = instance / DEV_SECRETS_FILE
    if path.exists():
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            if {"secret_key", "server_keys"} <= data.keys():
                if "escrow_secret" in data:
                    old_secret = str(data.pop("escrow_secret"))
                    _write_private(path, data)
                    _show_escrow_secret(old_secret, removed_from=path)
                if "escrow_public_key" not in data:
                    # Instances made before escrow existed: add a pair once.
                    pair = dev_escrow_pair()
                    data["escrow_public_key"] = pair["escrow_public_key"]
                    _write_private(path, data)
                    _show_escrow_secret(pair["escrow_secret"])
                return data
        except (OSError, ValueError):
            pass
        raise ConfigError("VAULT_SECRET_KEY", f"development secrets file {path} is unreadable")
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    pair = dev_escrow_pair()
    data = {
        "secret_key": secrets.token_urlsafe(48),
        "server_keys": KeyRing.generate_string(),
        "escrow_public_key": pair["escrow_public_key"],
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f)
    log.warning(
        "DEVELOPMENT SECRETS GENERATED in %s: never use them in production "
        "(set VAULT_ENV=production, VAULT_SECRET_KEY and VAULT_SERVER_KEYS)",
        path,
    )
    _show_escrow_secret(pair["escrow_secret"])
    return data


def _show_escrow_secret(secret: str, *, removed_from: Path | None = None) -> None:
    """Print a development escrow secret once, on the console, with what to do with it.

    Straight to stderr, not through logging: a log handler may keep it in a
    file, and a secret never goes to a log. This is the embedded default's
    `vault escrow init`: the operator saves it where they choose, or drops it.
    """
    if removed_from is not None:
        head = (
            f"vault: WARNING: the development escrow secret was removed from {removed_from}: "
            "kept next to the data, it opened every vault. It is shown this once."
        )
    else:
        head = "vault: development escrow key pair made; its secret is shown this once."
    sys.stderr.write(
        f"{head}\n"
        "Development escrow secret (stored nowhere):\n"
        f"    {secret}\n"
        "It opens every account's escrow slot on this instance. To try escrow recovery, save "
        "it outside the instance folder,\n"
        "e.g. (umask 077; echo SECRET > ~/vault-dev-escrow.secret), and give "
        "`vault escrow recover --secret-file ~/vault-dev-escrow.secret`.\n"
        "Without it, escrow recovery is impossible on this instance; nothing else needs it.\n"
    )
    sys.stderr.flush()


def dev_escrow_pair() -> dict[str, str]:
    """A fresh escrow key pair as base64 strings (secret, public)."""
    secret = generate_data_key()
    public = derive_keypair(secret).public_bytes()
    return {
        "escrow_secret": base64.b64encode(secret).decode(),
        "escrow_public_key": base64.b64encode(public).decode(),
    }


def _write_private(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f)
    os.replace(tmp, path)
