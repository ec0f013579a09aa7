"""A person's journey in Arabic, right to left (issue 14's acceptance, docs/rtl.md).

Sign in, add a document, share it with the counsellor, read the history: on
the kiosk (1280×1024, a server that counts 127.0.0.1 as a kiosk network) and
on a phone (390×844). The browser asks for Arabic as a browser set to Arabic
does (`Accept-Language: ar`); every page must come back with
`<html lang="ar" dir="rtl">`, nothing wider than the screen, axe-core at no
serious or critical problem, a focus ring, large enough targets
(`Findings.audit`), and the back and sign-out arrows turned round.

The steps find fields and buttons by their `name`, `id` or address, never by
their words: the words are the translators' (vault/translations/ar/), the
layout is what is checked here. Pictures of each page go to VAULT_SCREENSHOTS
when set (scripts/screens-arabic writes docs/screens/*-ar-*.png).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.browser.steps import DESK, PHONE, UUID, Findings, path_of
from tests.conftest import make_settings
from tests.factories import Account, make_account, pdf_bytes
from vault import create_app
from vault.access import assignments
from vault.core import migrate
from vault.core.db import db_session, get_database, make_engine
from vault.core.extensions import get_store
from vault.models import Role, User

PASSPHRASE = "قمر أخضر تحت المطر"
TITLE = "بطاقة الهوية"


@pytest.fixture(scope="module")
def arabic_kiosk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str]]:
    """An app that counts the test's browser as a kiosk in detention (docs/kiosk.md)."""
    settings = replace(
        make_settings(tmp_path_factory.mktemp("arabic-kiosk")),
        kiosk_networks=("127.0.0.1/32",),
    )
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    engine.dispose()
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    get_database(app).dispose()
    get_store(app).close()


def followed_person(app: Flask, last: str) -> Account:
    """A person with a vault, followed by a counsellor (so there is someone to share with)."""
    person = make_account(app, first="ليلى", last=last, passphrase=PASSPHRASE)
    counsellor = make_account(app, Role.COUNSELLOR, first="Sam", last=f"Conseil{last}")
    admin = make_account(app, Role.ADMINISTRATOR, first="Alex", last=f"Admin{last}")
    with app.app_context():
        db = db_session()
        assignments.assign(
            db,
            db.get(User, person.user.id),
            db.get(User, counsellor.user.id),
            by=db.get(User, admin.user.id),
        )
        db.commit()
    return person


class Journey:
    """Each page of the journey: right to left, audited, photographed."""

    def __init__(self, page: Any, findings: Findings, size: str) -> None:
        self.page, self.findings, self.size = page, findings, size

    def check(self, name: str) -> None:
        html = self.page.locator("html")
        assert html.get_attribute("lang") == "ar", path_of(self.page)
        assert html.get_attribute("dir") == "rtl", path_of(self.page)
        self.findings.audit(self.page)
        shots = os.environ.get("VAULT_SCREENSHOTS")
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(
                path=str(Path(shots) / f"{name}-ar-{self.size}.png"), full_page=True
            )


def turned_round(page: Any, selector: str) -> bool:
    transform = page.locator(selector).first.evaluate("el => getComputedStyle(el).transform")
    return bool(transform == "matrix(-1, 0, 0, 1, 0, 0)")


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [DESK, PHONE], ids=["kiosk", "phone"])
def test_a_person_signs_in_files_shares_and_reads_the_history_in_arabic(
    browser: Any,
    live_app: Flask,
    live_server: str,
    arabic_kiosk_server: tuple[Flask, str],
    contexts: list[Any],
    viewport: dict[str, int],
) -> None:
    from playwright.sync_api import expect

    on_kiosk = viewport == DESK
    app, base = arabic_kiosk_server if on_kiosk else (live_app, live_server)
    size = "kiosk" if on_kiosk else "phone"
    person = followed_person(app, f"Rtl{size}")
    options: dict[str, Any] = {"viewport": viewport, "locale": "ar"}
    if not on_kiosk:
        options.update(is_mobile=True, has_touch=True)
    context = browser.new_context(base_url=base, accept_downloads=True, **options)
    contexts.append(context)
    context.set_default_timeout(30_000)
    page = context.new_page()
    findings = Findings()
    findings.watch(page, "person")
    journey = Journey(page, findings, size)

    # --- sign in ---------------------------------------------------------------------
    page.goto("/connexion")
    journey.check("sign-in")
    page.locator("#username").fill(person.username)
    page.locator("#passphrase").fill(PASSPHRASE)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/documents/$"))
    journey.check("documents")
    # The way out points the way Arabic reads: turned round.
    assert turned_round(page, "header .icon-signout")

    # --- add a document --------------------------------------------------------------
    page.locator("main a[href$='/documents/ajouter']").first.click()
    page.wait_for_url(re.compile(r"/documents/ajouter$"))
    journey.check("add")
    page.locator("#title").fill(TITLE)
    page.locator("input[name=category][value=identity]").check()
    page.locator("#doc_type").select_option("id_card")
    page.locator("#file").set_input_files(
        {"name": "carte.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes("ليلى")}
    )
    page.locator("#upload-form button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/documents/{UUID}$"))
    expect(page.locator("main h1 bdi")).to_have_text(TITLE)
    journey.check("document")
    document_path = path_of(page)

    # --- share it with the counsellor ------------------------------------------------
    page.locator("main a[href*='/partages/document/']").click()
    page.wait_for_url(re.compile(rf"/partages/document/{UUID}$"))
    journey.check("share")
    assert turned_round(page, "main .icon-back")
    page.locator("main form[action*='/partages/document/'] button[type=submit]").click()
    page.wait_for_url(re.compile(rf"({document_path}|/partages/.*)$"))
    expect(page.locator("main .notice[role=status]")).to_have_count(1)

    # --- read the history --------------------------------------------------------------
    page.goto("/journal/")
    journey.check("history")
    lines = page.locator("ol.journal li")
    expect(lines.first).to_be_visible()
    assert lines.count() >= 3, "signed in, added, shared"
    expect(page.locator("ol.journal")).to_contain_text(TITLE)

    assert findings.problems == [], findings.problems
