"""A real Chromium (Debian's), driven by Playwright, against a live app server.

Playwright's own browser download does not work offline; the tests use the
system's chromium. Two kinds of server:

- `live_server`: the real app on the embedded default (SQLite and local blobs
  in a temporary folder), served by Werkzeug in a thread, over plain HTTP;
- `production_site`: the app as the production image runs it (gunicorn,
  PostgreSQL, SeaweedFS, real secrets) over HTTPS, once with gunicorn
  terminating TLS and once behind nginx (tests/browser/production.py), seen
  by `https_browser`, a Chromium that trusts the test's certificate only.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.browser.production import (
    Certificate,
    ProductionSite,
    make_certificate,
    production_environment,
    start_site,
    stop_site,
)
from tests.conftest import fresh_postgresql_schema, make_settings
from tests.s3server import S3Target, fresh_bucket
from tests.services import service_missing
from vault import create_app
from vault.core import migrate
from vault.core.db import get_database, make_engine
from vault.core.extensions import get_store

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The app the live server serves: tests may prepare its database through
    the real services (e.g. `tests.factories.make_account(live_app, ...)`)."""
    settings = make_settings(tmp_path_factory.mktemp("live"))
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    engine.dispose()
    app = create_app(settings)
    yield app
    get_database(app).dispose()
    get_store(app).close()


@pytest.fixture(scope="session")
def live_server(live_app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture
def contexts() -> Iterator[list[Any]]:
    """Browser contexts opened by the test (tests.browser.steps.new_page), closed at the end."""
    opened: list[Any] = []
    yield opened
    for context in opened:
        context.close()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    """One Playwright for the session: its sync API cannot run twice at once."""
    from playwright.sync_api import expect, sync_playwright

    # expect() waits 5 s by default: generous waits on a shared machine.
    expect.set_options(timeout=20_000)
    with sync_playwright() as playwright:
        yield playwright


def launch_chromium(playwright: Any, *extra_args: str) -> Iterator[Any]:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        service_missing("Debian's chromium is not installed (apt-get install chromium)")
    browser = playwright.chromium.launch(
        executable_path=str(Path(executable)),
        headless=True,
        args=[*CHROMIUM_ARGS, *extra_args],
    )
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    yield from launch_chromium(playwright)


# --- the app as in production, over HTTPS ------------------------------------------------


@pytest.fixture(scope="session")
def tls_certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def https_browser(playwright: Any, tls_certificate: Certificate) -> Iterator[Any]:
    """A Chromium that trusts the test certificate's key, as a browser trusts a
    real certificate, and no other invalid one (no blanket ignore)."""
    yield from launch_chromium(
        playwright, f"--ignore-certificate-errors-spki-list={tls_certificate.spki_sha256}"
    )


@pytest.fixture(scope="session", params=["tls", "proxy"])
def production_site(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    tls_certificate: Certificate,
    s3_server: S3Target,
) -> Iterator[ProductionSite]:
    """The app in production mode: gunicorn terminating TLS ("tls"), or nginx
    terminating it in front of gunicorn ("proxy"). One server per mode for the
    session, on its own database schema and bucket."""
    mode: str = request.param
    scratch = tmp_path_factory.mktemp(f"production-{mode}")
    with fresh_postgresql_schema() as database_url:
        environment = production_environment(
            database_url, s3_server.server.url(fresh_bucket()), scratch
        )
        site = start_site(mode, environment, scratch, tls_certificate)
        try:
            yield site
        finally:
            stop_site(site)
