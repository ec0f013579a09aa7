"""Sharing with a counsellor, in real browsers: the person shares a whole
category from a phone, the counsellor opens and downloads a document at a desk,
the person stops sharing, the counsellor is refused, and the person's history
tells each step in plain French.

The accounts, the documents and the assignment (an administrator's act) are
made beforehand through the real services, in the live server's database;
every step after that goes through the pages.

As in test_journey.py, the steps are hard assertions, and what the person
would notice along the way (console errors and CSP violations, side-scrolling
on the phone, small touch targets, missing confirmation messages) is collected
and asserted at the end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from babel.dates import get_month_names
from flask import Flask

from tests.browser.steps import (
    DESK,
    TARGETS,
    UUID,
    Findings,
    desk_page,
    download_from,
    phone_page,
    share_category,
    sign_in,
)
from tests.factories import Account, make_account, make_document, make_establishment, pdf_bytes
from vault.core.db import db_session
from vault.models import Document, Role, User
from vault.sharing import service as sharing

# The share form's choices (category, counsellor, duration) are touch targets too.
SHARING_TARGETS = TARGETS + ", main label.category-choice"

PERSON = ("Inès", "Moreau")
COUNSELLOR = ("Sam", "Lefèvre")
ADMINISTRATOR = ("Alix", "Partage")
COUNSELLOR_NAME = "Sam Lefèvre"
# The journal's time, in French. Playwright runs a pattern as a JavaScript regular
# expression, where \w is ASCII only: « décembre », « février », « août » would not
# match it. The month is one of the twelve French names, whatever today is.
FRENCH_MONTHS = "|".join(get_month_names("wide", locale="fr_FR").values())
JOURNAL_TIME = re.compile(rf"^\d{{1,2}} (?:{FRENCH_MONTHS}) \d{{4}} à \d{{2}}:\d{{2}}$")
ADMINISTRATOR_NAME = "Alix Partage"


@dataclass
class Vault:
    """What the test prepared: three accounts, three documents, one assignment."""

    person: Account
    counsellor: Account
    carte_vitale: Document
    carte_vitale_pdf: bytes
    attestation: Document
    identity: Document


@pytest.fixture
def vault(live_app: Flask) -> Vault:
    """Function-scoped: accounts are made while the suite's fast Argon2 parameters
    are in place. Names are unique to this module, so the live database, shared
    with the other browser tests, cannot mix them up."""
    establishment = make_establishment(live_app, "Maison d'arrêt de Partage")
    administrator = make_account(
        live_app, Role.ADMINISTRATOR, *ADMINISTRATOR, passphrase="la clef du partage est sure"
    )
    person = make_account(
        live_app,
        Role.PERSON,
        *PERSON,
        passphrase="le jardin sous la neige",
        establishment_id=establishment.id,
        birth_date=date(1988, 3, 2),
        prison_number="B654321",
    )
    counsellor = make_account(
        live_app, Role.COUNSELLOR, *COUNSELLOR, passphrase="le bureau du SPIP au calme"
    )
    carte_vitale_pdf = pdf_bytes("Ines Moreau, carte Vitale")
    carte_vitale = make_document(
        live_app,
        person,
        carte_vitale_pdf,
        title="Carte Vitale",
        category="health",
        doc_type="social_security_card",
    )
    attestation = make_document(
        live_app,
        person,
        pdf_bytes("Ines Moreau, attestation CMU"),
        title="Attestation CMU",
        category="health",
        doc_type="health_insurance",
    )
    identity = make_document(
        live_app,
        person,
        pdf_bytes("Ines Moreau, carte d'identite"),
        title="Ma carte d'identité",
        category="identity",
        doc_type="id_card",
    )
    with live_app.app_context():
        db = db_session()
        sharing.assign(
            db,
            db.get(User, person.user.id),  # type: ignore[arg-type]
            db.get(User, counsellor.user.id),  # type: ignore[arg-type]
            by=db.get(User, administrator.user.id),  # type: ignore[arg-type]
        )
        db.commit()
    return Vault(person, counsellor, carte_vitale, carte_vitale_pdf, attestation, identity)


class SharingFindings(Findings):
    """The share form's choices are touch targets too, and the 404s the
    counsellor is meant to get are not console errors."""

    def __init__(self) -> None:
        super().__init__(SHARING_TARGETS)
        self.expected_404: set[str] = set()

    def expected(self, message: Any) -> bool:
        # Chromium logs the refused page's status: that is the point here.
        return message.location.get("url", "") in self.expected_404 and "404" in message.text


def shared_titles(page: Any) -> list[str]:
    """Titles of the documents listed under « Documents partagés avec moi »."""
    return [
        t.strip() for t in page.locator("main .document-card .document-title").all_inner_texts()
    ]


@pytest.mark.browser
def test_a_category_shared_opened_revoked_and_journaled(
    browser: Any, live_server: str, vault: Vault, contexts: list[Any]
) -> None:
    from playwright.sync_api import expect

    findings = SharingFindings()
    person_id = vault.person.user.id
    document_path = f"/suivi/{person_id}/documents/{vault.carte_vitale.id}"
    download_path = f"{document_path}/telecharger"

    # --- 1. The person, on a phone: shares the whole « Santé » category ---------------
    phone = phone_page(browser, contexts, live_server)
    findings.watch(phone, "person")
    phone.goto("/connexion")
    findings.phone_page(phone)
    sign_in(phone, vault.person.username, vault.person.passphrase, r"/documents/$")
    phone.get_by_role("link", name="Partages").click()
    expect(phone.get_by_text("Vous ne partagez rien en ce moment.")).to_be_visible()
    share_category(phone, findings, "Santé", COUNSELLOR_NAME)

    # --- 2. The counsellor, at a desk: sees the two health documents, opens one -------
    desk = desk_page(browser, contexts, live_server)
    findings.watch(desk, "counsellor")
    desk.goto("/connexion")
    sign_in(desk, vault.counsellor.username, vault.counsellor.passphrase, r"/suivi/$")
    expect(desk.get_by_role("heading", level=1)).to_have_text(re.compile("Personnes suivies"))
    row = desk.get_by_role("row").filter(has=desk.get_by_role("rowheader", name="Inès Moreau"))
    expect(row).to_contain_text("B654321")
    expect(row).to_contain_text("2 documents")
    findings.fits(desk, DESK["width"])

    desk.get_by_role("link", name="Inès Moreau").click()
    desk.wait_for_url(re.compile(rf"/suivi/{person_id}/$"))
    expect(desk.get_by_role("heading", level=1)).to_have_text(re.compile("Inès Moreau"))
    expect(desk.locator("main .document-card")).to_have_count(2)
    assert sorted(shared_titles(desk)) == ["Attestation CMU", "Carte Vitale"]
    # Not shared: neither its title nor a link to it.
    expect(desk.get_by_text("Ma carte d'identité", exact=True)).to_have_count(0)
    expect(desk.locator(f"a[href*='{vault.identity.id}']")).to_have_count(0)
    findings.fits(desk, DESK["width"])

    desk.get_by_role("link", name=re.compile("Carte Vitale")).click()
    desk.wait_for_url(re.compile(rf"{document_path}$"))
    expect(desk.get_by_role("heading", level=1)).to_have_text(re.compile("Carte Vitale"))
    expect(desk.get_by_text("Inès Moreau partage ce document avec vous.")).to_be_visible()
    findings.fits(desk, DESK["width"])

    assert download_from(desk) == ("Carte Vitale.pdf", vault.carte_vitale_pdf)

    desk.get_by_role("link", name="Inès Moreau").filter(has=desk.locator(".icon-back")).click()
    desk.wait_for_url(re.compile(rf"/suivi/{person_id}/$"))

    # --- 3. The person stops sharing ---------------------------------------------------
    phone.reload()
    share = phone.locator("#shares li").filter(has_text="Catégorie : Santé")
    share.get_by_role("link", name="Arrêter de partager").click()
    phone.wait_for_url(re.compile(rf"/partages/{UUID}/retirer$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text(re.compile("Arrêter de partager"))
    expect(
        phone.get_by_text(f"{COUNSELLOR_NAME} ne pourra plus ouvrir la catégorie Santé.")
    ).to_be_visible()
    findings.phone_page(phone)
    phone.get_by_role("button", name="Oui, arrêter de partager").click()

    phone.wait_for_url(re.compile(r"/partages/$"))
    findings.notice(
        phone, "Le partage est arrêté. Votre conseiller ne peut plus ouvrir ces documents."
    )
    expect(phone.locator("#shares li")).to_have_count(0)
    expect(phone.get_by_text("Vous ne partagez rien en ce moment.")).to_be_visible()
    findings.phone_page(phone)

    # --- 4. The counsellor reloads: nothing is shared any more --------------------------
    desk.reload()
    expect(desk.locator("main .document-card")).to_have_count(0)
    expect(
        desk.get_by_text("Inès Moreau ne partage aucun document avec vous pour le moment.")
    ).to_be_visible()
    # (« Carte Vitale » is also a type name, which the release checklist may show.)
    expect(desk.locator(f"a[href*='{vault.carte_vitale.id}']")).to_have_count(0)
    expect(desk.locator(f"a[href*='{vault.attestation.id}']")).to_have_count(0)

    for path in (document_path, download_path):
        findings.expected_404.add(f"{live_server}{path}")
    response = desk.goto(document_path)
    assert response is not None and response.status == 404, response and response.status
    expect(desk.get_by_role("heading", level=1)).to_have_text(re.compile("Page introuvable"))
    expect(desk.get_by_text("Carte Vitale", exact=True)).to_have_count(0)
    # Through the context's own request client (its cookies): a download must not start.
    refused = desk.request.get(download_path, max_redirects=0)
    assert refused.status == 404, refused.status
    assert refused.body() != vault.carte_vitale_pdf

    # --- 5. The person's history tells each step, newest first --------------------------
    phone.get_by_role("link", name="Historique").click()
    phone.wait_for_url(re.compile(r"/journal/$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text(
        re.compile("Historique de mon coffre")
    )
    findings.phone_page(phone)
    lines = [" ".join(t.split()) for t in phone.locator("ol.journal li span").all_inner_texts()]
    counsellor = f"Votre conseiller ou conseillère {COUNSELLOR_NAME}"
    expected = [
        f"Vous avez arrêté de partager la catégorie Santé avec {COUNSELLOR_NAME}.",
        f"{counsellor} a téléchargé « Carte Vitale ».",
        f"{counsellor} a regardé « Carte Vitale ».",
        f"Vous avez partagé la catégorie Santé avec {COUNSELLOR_NAME}, "
        "avec les documents ajoutés plus tard.",
        f"L'administrateur {ADMINISTRATOR_NAME} a désigné {COUNSELLOR_NAME} "
        "comme votre conseiller.",
    ]
    missing = [sentence for sentence in expected if sentence not in lines]
    assert not missing, f"missing from the history: {missing}\nshown: {lines}"
    positions = [lines.index(sentence) for sentence in expected]
    assert positions == sorted(positions), f"history out of order: {lines}"
    # The counsellor never opened the other health document, nor the refused URLs.
    assert not [line for line in lines if "Attestation CMU" in line and "conseill" in line], lines
    assert sum("Carte Vitale" in line and line.startswith(counsellor) for line in lines) == 2, lines
    # Each line says when: « 3 mars 2026 à 14:02 », « 5 décembre 2026 à 09:15 ».
    for sentence in expected[1:3]:
        when = phone.locator("ol.journal li").filter(has_text=sentence).locator("time")
        expect(when).to_have_text(JOURNAL_TIME)

    # Filtered on the counsellors: only what they did.
    phone.get_by_role("link", name="Mes conseillers").click()
    phone.wait_for_url(re.compile(r"/journal/\?qui=conseillers$"))
    shown = [" ".join(t.split()) for t in phone.locator("ol.journal li span").all_inner_texts()]
    assert shown == expected[1:3], shown
    findings.phone_page(phone)

    assert findings.problems == [], "\n".join(findings.problems)
