"""Kiosk mode in a real browser (issue 13, docs/kiosk.md).

A live server of its own declares 127.0.0.1 a kiosk network with a 1-minute
kiosk idle time, so that the browser here is a kiosk in detention:

- the idle countdown ends with the document gone from the screen, then the
  sign-in page (the server refused the ended session);
- « Je suis encore là » keeps the person in past the first deadline;
- along the person's journey no response carries `Content-Disposition:
  attachment`: documents are shown, the recovery sheet is a page to print,
  export is refused.

Waits are on the page's own events and state; the only long waits are the
idle minute itself.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.browser.steps import DESK, PHONE, Findings, new_page, path_of, sign_in
from tests.conftest import make_settings
from tests.factories import Account, make_account, make_document, open_pending, pdf_bytes
from vault import create_app
from vault.core import migrate
from vault.core.db import get_database, make_engine
from vault.core.extensions import get_store
from vault.models import Document

PASSPHRASE = "lune verte sous la pluie"
# The idle minute, with room for a shared machine's slowness.
IDLE_WAIT_MS = 100_000


@pytest.fixture(scope="module")
def kiosk_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    settings = replace(
        make_settings(tmp_path_factory.mktemp("kiosk")),
        kiosk_networks=("127.0.0.1/32",),
        kiosk_idle_minutes=1,
    )
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    engine.dispose()
    app = create_app(settings)
    yield app
    get_database(app).dispose()
    get_store(app).close()


@pytest.fixture(scope="module")
def kiosk_server(kiosk_app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, kiosk_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


class KioskFindings(Findings):
    """The refused download is meant: its 403 is no problem of the page."""

    def expected(self, message: Any) -> bool:
        return "/telecharger" in message.location.get("url", "") and "403" in message.text


def screen(browser: Any, contexts: list[Any], base_url: str, viewport: dict[str, int]) -> Any:
    if viewport == PHONE:
        return new_page(browser, contexts, base_url, viewport=PHONE, is_mobile=True, has_touch=True)
    return new_page(browser, contexts, base_url, viewport=DESK)


def person_with_a_document(app: Flask, last: str) -> tuple[Account, Document]:
    account = make_account(app, first="Inès", last=last, passphrase=PASSPHRASE)
    document = make_document(app, account, pdf_bytes("Inès, carte d'identité"))
    return account, document


def open_document(page: Any, findings: Findings, account: Account) -> None:
    """From the sign-in page to the document's page, its preview shown."""
    from playwright.sync_api import expect

    page.goto("/connexion")
    findings.audit(page)
    sign_in(page, account.username, PASSPHRASE, r"/documents/$")
    findings.audit(page)
    page.get_by_role("link", name=re.compile("Carte d'identité")).click()
    page.wait_for_url(re.compile(r"/documents/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Carte d'identité"))
    # Page 1 of the document, drawn by the server (D-100): "Page 1 sur 1".
    preview = page.get_by_role("img", name="Page 1 sur 1")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=preview.element_handle()
    )
    findings.audit(page)


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [DESK, PHONE], ids=["kiosk", "phone"])
def test_the_idle_countdown_ends_with_the_document_gone(
    browser: Any,
    kiosk_server: str,
    kiosk_app: Flask,
    contexts: list[Any],
    viewport: dict[str, int],
) -> None:
    from playwright.sync_api import expect

    findings = Findings()
    account, _document = person_with_a_document(
        kiosk_app, "Compte" if viewport == DESK else "Rebours"
    )
    page = screen(browser, contexts, kiosk_server, viewport)
    findings.watch(page, "person")
    open_document(page, findings, account)
    document_path = path_of(page)

    # A 1-minute idle time: the countdown is on screen from the start.
    warning = page.locator("#idle-warning")
    expect(warning).to_be_visible()
    expect(warning.get_by_role("timer")).to_have_text(re.compile(r"^\d+$"))
    expect(warning.get_by_role("button", name="Je suis encore là")).to_be_visible()

    # Time is up: the page is emptied at once, before the browser leaves it.
    page.wait_for_function("() => !document.querySelector('figure.page')", timeout=IDLE_WAIT_MS)
    blanked = page.evaluate(
        "() => [location.pathname, document.body.innerText, document.images.length]"
    )
    # Still at the document's address (the browser leaves a second later), nothing shown.
    assert blanked[0] == document_path
    assert "Carte d'identité" not in blanked[1] and "Inès" not in blanked[1]
    assert blanked[2] == 0
    # Then the same address again: the server refuses the ended session.
    page.wait_for_url(re.compile(r"/connexion$"), timeout=30_000)
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Ouvrir mon coffre"))
    findings.notice(page, "Votre connexion est terminée")
    expect(page.get_by_text("Carte d'identité")).to_have_count(0)
    expect(page.locator("img[src*='apercu'], img[src*='/page/']")).to_have_count(0)
    findings.audit(page)
    # Back does not bring the document again.
    page.go_back()
    expect(page.locator("figure.page, figure.preview")).to_have_count(0)

    assert findings.problems == [], "\n".join(findings.problems)


@pytest.mark.browser
def test_still_here_keeps_the_person_in(
    browser: Any, kiosk_server: str, kiosk_app: Flask, contexts: list[Any]
) -> None:
    from playwright.sync_api import expect

    findings = Findings()
    account, _document = person_with_a_document(kiosk_app, "Encore")
    page = screen(browser, contexts, kiosk_server, DESK)
    findings.watch(page, "person")
    open_document(page, findings, account)
    document_path = path_of(page)
    clock = page.locator("#idle-warning [role=timer]")

    # Halfway through the minute, the person touches « Je suis encore là ».
    page.wait_for_function(
        "() => Number(document.querySelector('[data-idle-clock]').textContent) <= 40",
        timeout=IDLE_WAIT_MS,
    )
    first_deadline = page.evaluate(
        "() => Date.now() + Number(document.querySelector('[data-idle-clock]').textContent) * 1000"
    )
    with page.expect_response(lambda r: r.url.endswith("/session/encore-la")) as answer:
        page.get_by_role("button", name="Je suis encore là").click()
    assert answer.value.status == 200
    expect(clock).to_have_text(re.compile(r"^(5\d|60)$"))

    # Past the first deadline (and the server's, with its margin): still in.
    page.wait_for_function("t => Date.now() > t", arg=first_deadline + 3000, timeout=IDLE_WAIT_MS)
    assert path_of(page) == document_path
    expect(page.get_by_role("img", name="Page 1 sur 1")).to_be_visible()
    page.reload()
    assert path_of(page) == document_path
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Carte d'identité"))
    findings.audit(page)

    assert findings.problems == [], "\n".join(findings.problems)


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [DESK, PHONE], ids=["kiosk", "phone"])
def test_nothing_lands_on_the_kiosk(
    browser: Any,
    kiosk_server: str,
    kiosk_app: Flask,
    contexts: list[Any],
    viewport: dict[str, int],
) -> None:
    from playwright.sync_api import expect

    findings = KioskFindings()
    suffix = "Borne" if viewport == DESK else "Mobile"
    account, document = person_with_a_document(kiosk_app, suffix)
    pending = open_pending(kiosk_app, first="Nora", last=suffix)
    page = screen(browser, contexts, kiosk_server, viewport)
    findings.watch(page, "person")
    responses: list[tuple[str, str]] = []
    page.on(
        "response",
        lambda r: responses.append((r.url, r.headers.get("content-disposition", ""))),
    )

    # --- A newcomer activates their vault: the recovery sheet is a page to print.
    page.goto("/activer")
    findings.audit(page)
    page.get_by_label("Identifiant").fill(pending.user.username)
    page.get_by_label("Code d'activation").fill(pending.activation_code)
    page.get_by_role("button", name="Continuer").click()
    page.wait_for_url(re.compile(r"/activer/phrase-secrete$"))
    findings.audit(page)
    for label in ("Votre phrase secrète", "Tapez-la encore une fois"):
        field = page.get_by_label(label)
        # No password manager offers to keep it for the next person.
        assert field.get_attribute("autocomplete") == "off"
        field.fill(PASSPHRASE)
    page.get_by_role("button", name="Enregistrer ma phrase secrète").click()
    page.wait_for_url(re.compile(r"/activer/feuille-de-secours$"))
    code = page.get_by_label("Code de secours").inner_text().split()
    findings.audit(page)
    page.get_by_role("link", name="Afficher la feuille à imprimer").click()
    page.wait_for_url(re.compile(r"/activer/feuille-de-secours\.pdf$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Feuille de secours")
    expect(page.locator("main")).to_contain_text(" ".join(code[:4]))
    findings.audit(page)
    # On paper: the sheet alone, without the menu, the countdown or the buttons.
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".print-bar")).to_be_hidden()
    expect(page.locator(".print-hint")).to_be_hidden()
    expect(page.locator("main")).to_contain_text(" ".join(code[4:]))
    page.emulate_media(media="screen")
    # « Imprimer » opens the browser's print dialog (replaced here, to see it called).
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    page.get_by_role("button", name="Imprimer").click()
    assert page.evaluate("() => window.printed") == 1
    page.get_by_role("link", name="Retour").click()
    page.wait_for_url(re.compile(r"/activer/feuille-de-secours$"))
    page.get_by_role("button", name="J'ai gardé ma feuille de secours").click()
    page.wait_for_url(re.compile(r"/documents/$"))
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(re.compile(r"/connexion$"))

    # --- A person with a document: signs in, opens it; no download is offered.
    assert page.get_by_label("Phrase secrète").get_attribute("autocomplete") == "off"
    open_document(page, findings, account)
    expect(page.get_by_role("link", name="Télécharger")).to_have_count(0)
    # Asked for directly, the file is refused with an explanation.
    refused = page.goto(f"/documents/{document.id}/telecharger")
    assert refused is not None and refused.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Rien n'est enregistré sur une borne")
    findings.audit(page)

    # --- Export: refused, with how to get it after release or with the counsellor.
    page.goto("/export/")
    expect(page.get_by_role("heading", name="Pas sur ce terminal")).to_be_visible()
    expect(page.locator("#kiosk-export")).to_contain_text("Après votre sortie")
    expect(page.locator("#kiosk-export")).to_contain_text("votre conseiller")
    expect(page.get_by_role("button", name="Télécharger mon coffre")).to_have_count(0)
    findings.audit(page)

    assert responses, "no response recorded"
    attachments = [(url, value) for url, value in responses if "attachment" in value.lower()]
    assert attachments == []
    assert findings.problems == [], "\n".join(findings.problems)
