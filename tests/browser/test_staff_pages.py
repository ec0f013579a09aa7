"""Staff pages of issue 13 in a real browser, at kiosk (1280×1024) and phone (390×844) size:
a counsellor reads a shared document page by page and sees the recoveries waiting; an
administrator reprints an activation sheet from the account page. Every page reached is
audited (axe-core, focus ring, fit, touch targets).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.browser.steps import (
    DESK,
    PHONE,
    TARGETS,
    UUID,
    Findings,
    activation_code_from,
    new_page,
    sign_in,
    sign_out,
)
from tests.factories import make_account, make_document, open_pending
from tests.helpers import user as _user
from tests.integration.documents.test_pages import pdf_of
from vault.core.db import db_session
from vault.core.extensions import get_keyring
from vault.documents.service import Unlocked
from vault.models import Document, Role
from vault.recovery import service as recovery
from vault.sharing import service as sharing

SIZES = [DESK, PHONE]
# The sub-menu's tabs are touch targets too.
STAFF_TARGETS = TARGETS + ", main .subnav a"


def screen(browser: Any, contexts: list[Any], base_url: str, viewport: dict[str, int]) -> Any:
    if viewport == PHONE:
        return new_page(browser, contexts, base_url, viewport=PHONE, is_mobile=True, has_touch=True)
    return new_page(browser, contexts, base_url, viewport=DESK)


def followed_person_with_a_shared_letter(app: Flask, tag: str) -> tuple[Any, Any, Document]:
    """A person followed by a counsellor, sharing a two-page letter, asking for a recovery."""
    person = make_account(app, first="Nadia", last=f"Lecture{tag}")
    cpip = make_account(app, Role.COUNSELLOR, first="Claire", last=f"Cpip{tag}")
    admin = make_account(app, Role.ADMINISTRATOR, first="Ada", last=f"Admin{tag}")
    document = make_document(app, person, pdf_of(2), title="Courrier de la CAF")
    with app.app_context():
        db = db_session()
        sharing.assign(db, _user(person), _user(cpip), by=_user(admin))
        doc = db.get(Document, document.id)
        assert doc is not None
        sharing.share_document(
            db, get_keyring(), Unlocked(_user(person), person.key), doc, cpip.user.id
        )
        # The person typed their recovery code at a kiosk: it waits for Claire.
        recovery.check_kit(db, get_keyring(), person.username, person.recovery_code)
        db.commit()
    return person, cpip, document


@pytest.mark.browser
@pytest.mark.parametrize("viewport", SIZES, ids=["kiosk", "phone"])
def test_a_counsellor_reads_a_shared_letter_page_by_page(
    browser: Any, live_server: str, live_app: Flask, contexts: list[Any], viewport: dict[str, int]
) -> None:
    tag = uuid.uuid4().hex[:6]
    _person, cpip, _document = followed_person_with_a_shared_letter(live_app, tag)
    findings = Findings(STAFF_TARGETS)
    page = screen(browser, contexts, live_server, viewport)
    findings.watch(page, "counsellor")
    page.goto("/connexion")
    findings.audit(page)
    sign_in(page, cpip.username, cpip.passphrase, r"/suivi/$")
    findings.audit(page)

    # The recovery waiting is counted on the home page, one tap from the list.
    waiting = page.locator("main .notice").filter(has_text="attend votre accord")
    assert "1 récupération de coffre attend votre accord." in waiting.inner_text()
    waiting.get_by_role("link", name="Voir les récupérations à approuver").click()
    page.wait_for_url(re.compile(r"/recuperation/approbations$"))
    assert f"Nadia Lecture{tag}" in page.locator("main").inner_text()
    findings.audit(page)
    page.go_back()

    page.get_by_role("link", name=f"Nadia Lecture{tag}").click()
    page.wait_for_url(re.compile(rf"/suivi/{UUID}/$"))
    findings.audit(page)
    page.get_by_role("link", name="Courrier de la CAF").first.click()
    page.wait_for_url(re.compile(rf"/suivi/{UUID}/documents/{UUID}$"))

    # Both pages are drawn in the page itself: no download needed to read the letter.
    pages = page.locator("main .pages img")
    assert pages.count() == 2
    for number in (1, 2):
        image = page.get_by_role("img", name=f"Page {number} sur 2")
        image.scroll_into_view_if_needed()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )
        box = image.bounding_box()
        assert box is not None and box["width"] <= viewport["width"]
    findings.audit(page)
    sign_out(page, findings)
    assert findings.problems == []


@pytest.mark.browser
@pytest.mark.parametrize("viewport", SIZES, ids=["kiosk", "phone"])
def test_an_administrator_reprints_an_activation_sheet_after_signing_in_again(
    browser: Any,
    live_server: str,
    live_app: Flask,
    contexts: list[Any],
    viewport: dict[str, int],
    tmp_path: Path,
) -> None:
    tag = uuid.uuid4().hex[:6]
    admin = make_account(live_app, Role.ADMINISTRATOR, first="Ada", last=f"Admin{tag}")
    # Opened earlier, by a session that has ended: its code is no longer held anywhere.
    pending = open_pending(live_app, Role.PERSON, "Sami", f"Roux{tag}")
    findings = Findings(STAFF_TARGETS)
    page = screen(browser, contexts, live_server, viewport)
    findings.watch(page, "administrator")
    page.goto("/connexion")
    sign_in(page, admin.username, admin.passphrase, r"/admin/$")
    # The sub-menu marks where one is.
    current = page.locator("main .subnav a[aria-current='page']")
    assert current.count() == 1 and "Comptes" in current.inner_text()
    findings.audit(page)

    page.goto(f"/admin/comptes/{pending.user.id}")
    findings.audit(page)
    page.get_by_role("button", name="Réimprimer la feuille d'activation").click()
    page.wait_for_url(re.compile(rf"/admin/comptes/{pending.user.id}$"))
    findings.notice(page, "Une nouvelle feuille d'activation est prête")
    findings.audit(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Imprimer la feuille d'activation").click()
    sheet = Path(download.value.path()).read_bytes()
    code = activation_code_from(sheet)
    assert code.replace(" ", "") != pending.activation_code.replace(" ", "")
    sign_out(page, findings)
    assert findings.problems == []
