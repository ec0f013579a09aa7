"""A real Chromium (Debian's), driven by Playwright, against a live app server.

Playwright's own browser download does not work offline; the tests use the
system's chromium. The server is the real app on the embedded default
(SQLite and local blobs in a temporary folder), served by Werkzeug in a thread.
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

from tests.conftest import make_settings
from tests.services import service_missing
from vault import create_app, migrate
from vault.db import get_database, make_engine
from vault.extensions import get_store

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
def browser() -> Iterator[object]:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        service_missing("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(Path(executable)), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
