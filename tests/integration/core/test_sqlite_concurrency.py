"""The embedded default under ordinary concurrency (issue 11).

A real threaded server (Werkzeug, as `make run` serves) on a SQLite file, and
real HTTP clients in threads, each with its own cookies. Simultaneous sign-ins
and uploads must all succeed: none may fail because another request wrote
while it was reading.
"""

from __future__ import annotations

import http.cookiejar
import re
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import make_server

from tests.factories import PASSPHRASE, make_account, pdf_bytes
from vault.core import migrate
from vault.core.config import Settings
from vault.core.db import db_session, make_engine
from vault.models import Document

SIGN_INS = 8
UPLOADS = 6


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class Browser:
    """A plain HTTP client with its own cookies, like one browser."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )

    def request(self, path: str, body: bytes | None = None, content_type: str = "") -> int:
        headers = {"Content-Type": content_type} if content_type else {}
        req = urllib.request.Request(self.base + path, data=body, headers=headers)
        try:
            with self.opener.open(req, timeout=120) as response:
                self.page = response.read().decode()
                return int(response.status)
        except urllib.error.HTTPError as e:
            self.page = e.read().decode(errors="replace")
            return int(e.code)

    def token(self, path: str) -> str:
        assert self.request(path) == 200
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', self.page)
        assert match
        return match.group(1)

    def post_form(self, path: str, fields: dict[str, str]) -> int:
        body = urllib.parse.urlencode(fields).encode()
        return self.request(path, body, "application/x-www-form-urlencoded")

    def post_multipart(self, path: str, parts: list[tuple[str, str | None, bytes]]) -> int:
        boundary = uuid.uuid4().hex
        body = b""
        for name, filename, value in parts:
            disposition = f'form-data; name="{name}"'
            if filename:
                disposition += f'; filename="{filename}"\r\nContent-Type: application/pdf'
            body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
            body += value + b"\r\n"
        body += f"--{boundary}--\r\n".encode()
        return self.request(path, body, f"multipart/form-data; boundary={boundary}")


@pytest.fixture
def file_app(make_app: Callable[..., Flask], settings: Settings) -> Flask:
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    engine.dispose()
    return make_app()


@pytest.fixture
def server(file_app: Flask) -> Iterator[str]:
    httpd = make_server("127.0.0.1", 0, file_app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=10)
    httpd.server_close()


def all_at_once(actions: list[Callable[[], int]]) -> list[int]:
    """Run each action in its own thread, released together; their statuses."""
    start = threading.Barrier(len(actions))
    statuses: list[int] = [0] * len(actions)

    def run(i: int) -> None:
        start.wait()
        statuses[i] = actions[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return statuses


def test_simultaneous_sign_ins_all_succeed(file_app: Flask, server: str) -> None:
    names = [f"Personne{i}" for i in range(SIGN_INS)]
    people = [make_account(file_app, first=name, last="Test") for name in names]
    browsers = [Browser(server) for _ in people]
    tokens = [browser.token("/connexion") for browser in browsers]

    def sign_in(i: int) -> Callable[[], int]:
        fields = {"username": people[i].username, "passphrase": PASSPHRASE}
        return lambda: browsers[i].post_form("/connexion", {**fields, "csrf_token": tokens[i]})

    assert all_at_once([sign_in(i) for i in range(SIGN_INS)]) == [302] * SIGN_INS
    for browser in browsers:
        assert browser.request("/documents/") == 200


def test_simultaneous_uploads_all_succeed(file_app: Flask, server: str) -> None:
    person = make_account(file_app)
    browsers = [Browser(server) for _ in range(UPLOADS)]
    tokens = []
    for browser in browsers:
        token = browser.token("/connexion")
        fields = {"username": person.username, "passphrase": PASSPHRASE, "csrf_token": token}
        assert browser.post_form("/connexion", fields) == 302
        tokens.append(browser.token("/documents/ajouter"))

    def upload(i: int) -> Callable[[], int]:
        parts: list[tuple[str, str | None, bytes]] = [
            ("csrf_token", None, tokens[i].encode()),
            ("title", None, f"Document {i}".encode()),
            ("category", None, b"identity"),
            ("doc_type", None, b"id_card"),
            ("expiry_date", None, b""),
            ("file", f"document{i}.pdf", pdf_bytes(f"document {i}")),
        ]
        return lambda: browsers[i].post_multipart("/documents/ajouter", parts)

    assert all_at_once([upload(i) for i in range(UPLOADS)]) == [302] * UPLOADS
    with file_app.app_context():
        stored = db_session().execute(select(func.count()).select_from(Document)).scalar_one()
    assert stored == UPLOADS
    assert Path(file_app.instance_path).exists()
