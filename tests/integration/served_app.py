"""The app served as in the image (gunicorn with docker/gunicorn.conf.py) or by `vault run`.

For tests about what a real server writes to its logs, and for tests whose
requests must commit for real (concurrent sessions on PostgreSQL): a fresh
PostgreSQL schema per use, dropped afterwards, instead of the suite's
rolled-back transaction.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from crypto import KeyRing
from tests.conftest import DEFAULT_TEST_PG, TEST_ESCROW, make_settings
from tests.cookies import cookie_header, keep_cookies
from tests.services import free_port, service_missing
from vault import create_app
from vault.core import migrate
from vault.core.db import get_database, make_engine
from vault.core.extensions import get_store

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CSRF = r'name="csrf_token"[^>]*value="([^"]+)"'


@contextlib.contextmanager
def fresh_postgresql() -> Iterator[str]:
    """The URL of a new schema on the test PostgreSQL server, migrated; dropped at the end."""
    base = os.environ.get("VAULT_TEST_DATABASE_URL", DEFAULT_TEST_PG)
    schema = f"vault_served_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as e:
        admin.dispose()
        service_missing(f"PostgreSQL unreachable: {e.orig}")
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(hide_password=False)
    try:
        engine = make_engine(rendered)
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()
        yield rendered
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@dataclass(frozen=True)
class Deployment:
    """What a production server is given: database, store, secrets."""

    database_url: str
    storage_url: str
    server_keys: str
    secret_key: str
    instance: Path

    def environment(self, **extra: str) -> dict[str, str]:
        return {
            "VAULT_ENV": "production",
            "VAULT_INSTANCE_PATH": str(self.instance),
            "VAULT_DATABASE_URL": self.database_url,
            "VAULT_STORAGE_URL": self.storage_url,
            "VAULT_SECRET_KEY": self.secret_key,
            "VAULT_SERVER_KEYS": self.server_keys,
            "VAULT_ESCROW_PUBLIC_KEY": TEST_ESCROW["escrow_public_key"],
            "VAULT_PUBLIC_URL": "https://coffre.example.fr",
            # Everything the app can say, so that nothing hides below the level.
            "VAULT_LOG_LEVEL": "DEBUG",
            **extra,
        }

    @contextlib.contextmanager
    def app(self) -> Iterator[Flask]:
        """The same deployment in this process (its commits are real), to prepare data."""
        settings = replace(
            make_settings(self.instance),
            database_url=self.database_url,
            storage_url=self.storage_url,
            server_keys=self.server_keys,
            secret_key=self.secret_key,
        )
        app = create_app(settings)
        try:
            yield app
        finally:
            get_database(app).dispose()
            get_store(app).close()


def new_deployment(database_url: str, storage_url: str, instance: Path) -> Deployment:
    return Deployment(
        database_url=database_url,
        storage_url=storage_url,
        server_keys=KeyRing.generate_string(),
        secret_key=secrets.token_urlsafe(48),
        instance=instance,
    )


class Server:
    """A server process in its own process group; stdout and stderr each go to a file."""

    def __init__(self, command: list[str], environment: dict[str, str], scratch: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.stdout_path = scratch / "stdout.log"
        self.stderr_path = scratch / "stderr.log"
        env = dict(os.environ, **environment)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
        )
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self.process = subprocess.Popen(
                [part.format(port=self.port) for part in command],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 120.0) -> None:
        from urllib3 import PoolManager
        from urllib3.exceptions import HTTPError

        http = PoolManager()
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(f"the server exited at start-up:\n{self.logs()}")
                try:
                    if http.request("GET", self.base + "/health", retries=False).status == 200:
                        return
                except (HTTPError, OSError):
                    pass
                time.sleep(0.2)
        finally:
            http.clear()
        raise AssertionError(f"the server did not answer within {timeout:.0f}s:\n{self.logs()}")

    def stop(self) -> None:
        """Stop the server and wait, so that every log line is written."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def logs(self) -> str:
        """Everything the server wrote, without terminal colours (Werkzeug adds them)."""
        parts = []
        for path in (self.stdout_path, self.stderr_path):
            with contextlib.suppress(OSError):
                parts.append(path.read_text(errors="replace"))
        return re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(parts))


def gunicorn(environment: dict[str, str], scratch: Path, *options: str) -> Server:
    """gunicorn exactly as the image runs it, on a free loopback port.

    Only the bind address changes (and gunicorn's control socket, which
    would be shared by every server of the test run, is off), plus any
    `options` a test adds (`--workers 1` to know which process serves it).
    The access log goes to stdout and the error log, with the app's own
    log, to stderr.
    """
    command = [
        str(BIN / "gunicorn"),
        "--config",
        "docker/gunicorn.conf.py",
        "--bind",
        "127.0.0.1:{port}",
        "--no-control-socket",
        *options,
        "wsgi:app",
    ]
    server = Server(command, environment, scratch)
    server.wait_ready()
    return server


class Client:
    """A client over real HTTP that keeps its own cookies, Secure ones included.

    The production app sets `__Host-` cookies with `Secure`; here it is served
    without TLS, as behind the TLS-terminating proxy, so they are kept by hand.
    """

    def __init__(self, base: str) -> None:
        from urllib3 import PoolManager

        self.base = base
        self.http = PoolManager(maxsize=1)
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, *, fields: dict[str, str] | None = None, **headers: str
    ) -> Any:
        sent = {name.replace("_", "-"): value for name, value in headers.items()}
        body = None
        if fields is not None:
            body = urlencode(fields)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            sent["Cookie"] = cookie_header(self.cookies)
        response = self.http.request(
            method, self.base + path, body=body, headers=sent, redirect=False, retries=False
        )
        keep_cookies(self.cookies, response.headers.getlist("Set-Cookie"))
        return response

    def get(self, path: str, **headers: str) -> Any:
        return self.request("GET", path, **headers)

    def page(self, path: str, expect: int = 200, **headers: str) -> str:
        response = self.get(path, **headers)
        assert response.status == expect, (path, response.status)
        return str(response.data.decode())

    def post(self, path: str, fields: dict[str, str], **headers: str) -> Any:
        return self.request("POST", path, fields=fields, **headers)

    def csrf(self, path: str) -> str:
        match = re.search(CSRF, self.page(path))
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def sign_in(self, username: str, passphrase: str) -> None:
        fields = {"csrf_token": self.csrf("/connexion"), "username": username}
        response = self.post("/connexion", fields | {"passphrase": passphrase})
        assert response.status == 302, response.status

    def close(self) -> None:
        self.http.clear()
