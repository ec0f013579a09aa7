"""The whole journey in a real browser: an administrator opens an account and
prints its activation sheet; the person activates the vault on a phone, files
a document, gets it back, and signs out.

Only the administrator's own account is made beforehand, through the real
services, in the live server's database; every other step goes through the
pages, as someone at a desk or on a phone would take it.

The steps are hard assertions: if one fails, the rest cannot run. What the
person sees along the way (confirmation messages, console errors and CSP
violations, side-scrolling on the phone, touch targets) is collected and
asserted at the end, so that one run reports every such problem at once.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from tests.browser.steps import (
    Findings,
    activate,
    add_establishment,
    desk_page,
    download_from,
    open_account,
    phone_page,
    print_activation_sheet,
    sign_in,
    sign_out,
    upload_document,
)
from tests.factories import Account, make_account, pdf_bytes
from vault.models import Role

PASSPHRASE = "lune verte sous la pluie"
ESTABLISHMENT = "Centre pénitentiaire de Navigateur"


@pytest.fixture
def administrator(live_app: Flask) -> Account:
    """An active administrator in the live server's database. Function-scoped:
    made while the suite's fast Argon2 parameters are in place."""
    return make_account(
        live_app, Role.ADMINISTRATOR, "Alex", "Gestion", passphrase="admin du coffre"
    )


@pytest.mark.browser
def test_an_account_from_opening_to_a_filed_document(
    browser: Any, live_server: str, administrator: Account, contexts: list[Any]
) -> None:
    from playwright.sync_api import expect

    findings = Findings()

    # --- 1. The administrator, at a desk: opens the account, prints the sheet ----------
    admin = desk_page(browser, contexts, live_server)
    findings.watch(admin, "administrator")
    admin.goto("/connexion")
    sign_in(admin, administrator.username, administrator.passphrase, r"/admin/$")
    expect(admin.get_by_role("heading", level=1)).to_have_text(re.compile("Comptes"))
    add_establishment(admin, findings, ESTABLISHMENT)
    username = open_account(
        admin,
        findings,
        kind="person",
        first="Camille",
        last="Dupont",
        establishment=ESTABLISHMENT,
        birth_date="1990-04-12",
        prison_number="A123456",
    )
    assert username == "camille.dupont"
    code = print_activation_sheet(admin, username)
    sign_out(admin, findings)

    # --- 2. The person, on a phone: activates the vault -------------------------------
    phone = phone_page(browser, contexts, live_server)
    findings.watch(phone, "person")
    activate(phone, findings, username, code, PASSPHRASE, r"/documents/$")
    expect(phone.get_by_role("heading", level=1)).to_have_text(re.compile("Mes documents"))

    # --- 3. Files a document: upload.js sends it, with its progress bar ----------------
    content = pdf_bytes("Camille Dupont, carte d'identite")
    upload_document(
        phone,
        findings,
        title="Ma carte d'identité",
        category="Identité",
        doc_type="id_card",
        content=content,
        filename="carte.pdf",
    )

    # The preview, rendered by the server from the encrypted document, is shown:
    # page 1 of the document, drawn by the server (D-100): "Page 1 sur 1".
    preview = phone.get_by_role("img", name="Page 1 sur 1")
    preview.scroll_into_view_if_needed()
    phone.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=preview.element_handle()
    )

    # Downloaded, it is the very same file.
    filename, received = download_from(phone)
    assert filename.endswith(".pdf")
    assert received == content

    # And it is in the list.
    phone.locator("main").get_by_role("link", name="Mes documents").filter(
        has=phone.locator(".icon-back")
    ).click()
    phone.wait_for_url(re.compile(r"/documents/$"))
    card = phone.get_by_role("link", name=re.compile("Ma carte d'identité"))
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Carte d'identité")  # its type
    findings.phone_page(phone)

    # --- Signs out: the vault is closed -------------------------------------------------
    sign_out(phone, findings)
    # On a shared phone or kiosk, Back must not bring the list back.
    phone.go_back()
    expect(phone.get_by_role("heading", level=1)).to_have_text(re.compile("Ouvrir mon coffre"))
    expect(phone.get_by_text("Ma carte d'identité")).to_have_count(0)
    response = phone.goto("/documents/")
    assert response is not None and response.ok
    assert re.search(r"/connexion(\?|$)", phone.url), phone.url
    expect(phone.get_by_role("heading", level=1)).to_have_text(re.compile("Ouvrir mon coffre"))

    assert findings.problems == [], "\n".join(findings.problems)
