"""The CV builder in real browsers, at a kiosk's size (1280×1024) and a phone's
(390×844): a person writes a CV from nothing, leaves half-way, signs out, signs
in again and resumes where they stopped, makes the PDF (whose text holds what
they typed), shares it with their counsellor, and writes a cover letter. Every
builder page is audited (axe-core, focus rings, fit, touch targets) at the size
it is seen.

Without JavaScript nothing changes: adding and removing items are buttons of
the step's form (test_builder.py drives them without a browser).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.browser.steps import (
    DESK,
    PHONE,
    TARGETS,
    Findings,
    download_from,
    new_page,
    sign_in,
    sign_out,
)
from tests.factories import Account, make_account
from vault import create_app
from vault.core.db import db_session, get_database
from vault.core.extensions import get_settings, get_store
from vault.models import Role, User
from vault.sharing import service as sharing

# The builder's ticked choices are touch targets too.
CV_TARGETS = TARGETS + ", main label.builder-choice"
COUNSELLOR_NAME = "Lou Emploi"


class CvFindings(Findings):
    """The builder's ticked choices are touch targets, and the refused step the
    test means to cause (400, shown with its message) is no console error."""

    def __init__(self) -> None:
        super().__init__(CV_TARGETS)

    def expected(self, message: Any) -> bool:
        url = message.location.get("url", "")
        return url.endswith("/cv/etape/identite") and "400" in message.text


@dataclass
class People:
    person: Account
    counsellor: Account


def people(live_app: Flask, tag: str) -> People:
    """A person followed by a counsellor; names unique to this module and size."""
    administrator = make_account(live_app, Role.ADMINISTRATOR, "Ada", f"Cv{tag}")
    person = make_account(
        live_app, Role.PERSON, "Yanis", f"Durand{tag}", passphrase="la cuisine du matin est calme"
    )
    counsellor = make_account(
        live_app, Role.COUNSELLOR, "Lou", "Emploi", passphrase="le conseil pour l'emploi ici"
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
    return People(person, counsellor)


def next_step(page: Any, findings: Findings, slug: str) -> None:
    page.get_by_role("button", name="Suivant").click()
    page.wait_for_url(re.compile(rf"/cv/(?:lettre/)?etape/{slug}$"))
    findings.audit(page)


@pytest.mark.browser
@pytest.mark.parametrize("size", [DESK, PHONE], ids=["kiosk", "phone"])
def test_a_cv_written_left_resumed_made_and_shared(
    browser: Any, live_server: str, live_app: Flask, contexts: list[Any], size: dict[str, int]
) -> None:
    from playwright.sync_api import expect

    tag = str(size["width"])
    who = people(live_app, tag)
    findings = CvFindings()
    options = {"viewport": size}
    if size == PHONE:
        options |= {"is_mobile": True, "has_touch": True}
    page = new_page(browser, contexts, live_server, **options)
    findings.watch(page, "person")
    page.goto("/connexion")
    sign_in(page, who.person.username, who.person.passphrase, r"/documents/$")

    # --- 1. From nothing: the first steps ----------------------------------------------
    page.get_by_role("link", name="Mon CV").click()
    page.wait_for_url(re.compile(r"/cv/$"))
    findings.audit(page)
    page.get_by_role("link", name="Écrire mon CV").click()
    page.wait_for_url(re.compile(r"/cv/etape/identite$"))
    expect(page.get_by_text("Étape 1 sur 9")).to_be_visible()
    expect(page.get_by_text("Jamais l'adresse de la prison")).to_be_visible()
    findings.audit(page)
    # A prison address is refused, with the reason next to the field.
    page.get_by_label("Prénom").fill("Yanis")
    page.get_by_label("Nom", exact=True).fill(f"Durand{tag}")
    page.get_by_label("Ville après la sortie (facultatif)").fill("Centre pénitentiaire de Meaux")
    page.get_by_role("button", name="Suivant").click()
    expect(page.locator("#town-error")).to_contain_text("Ne nommez pas la prison")
    findings.audit(page)
    page.get_by_label("Ville après la sortie (facultatif)").fill("Marseille")
    page.get_by_label("Téléphone (facultatif)").fill("07 11 22 33 44")
    next_step(page, findings, "emploi")
    page.get_by_label("Métier recherché").fill("Préparateur de commandes")
    next_step(page, findings, "experience")
    expect(page.get_by_text("sans nommer l'établissement").first).to_be_visible()
    page.get_by_label("Poste ou tâche").fill("Agent de conditionnement")
    page.get_by_label("Où (sans nommer l'établissement)").fill("Atelier de production")
    page.get_by_label("Quand").fill("2024–2025")
    page.get_by_role("button", name="Ajouter une expérience").click()
    page.wait_for_url(re.compile(r"/cv/etape/experience#items$"))
    expect(page.get_by_role("group", name="Expérience 2")).to_be_visible()
    findings.audit(page)
    second = page.get_by_role("group", name="Expérience 2")
    second.get_by_label("Poste ou tâche").fill("Magasinier")
    second.get_by_label("Quand").fill("2019")
    # --- 2. Leave half-way, sign out, sign in again, resume ----------------------------
    page.get_by_role("button", name="Enregistrer et arrêter ici").click()
    page.wait_for_url(re.compile(r"/cv/$"))
    findings.notice(page, "Votre brouillon est enregistré.")
    sign_out(page, findings)
    sign_in(page, who.person.username, who.person.passphrase, r"/documents/$")
    page.get_by_role("link", name="Mon CV").click()
    page.get_by_role("link", name="Continuer mon CV").click()
    page.wait_for_url(re.compile(r"/cv/etape/formation$"))
    findings.audit(page)
    page.get_by_role("button", name="Retour").click()
    page.wait_for_url(re.compile(r"/cv/etape/experience$"))
    expect(
        page.get_by_role("group", name="Expérience 2").get_by_label("Poste ou tâche")
    ).to_have_value("Magasinier")
    # Enter in a field goes on (the form's first button is "Next", not "Remove").
    page.get_by_label("Quand").first.press("Enter")
    page.wait_for_url(re.compile(r"/cv/etape/formation$"))
    page.get_by_label("Diplôme ou formation").fill("CACES 1")
    page.get_by_label("Année").fill("2025")
    next_step(page, findings, "competences")
    page.get_by_label("Préparation de commandes").check()
    page.get_by_label("Travail en équipe").check()
    page.get_by_label("Autres compétences, une par ligne (facultatif)").fill("Inventaire")
    next_step(page, findings, "langues")
    page.get_by_label("Langue", exact=True).fill("Portugais")
    page.get_by_label("Niveau").select_option(label="B1 : je parle des choses de tous les jours")
    next_step(page, findings, "permis")
    page.get_by_label("Permis voiture (B)").check()
    next_step(page, findings, "loisirs")
    page.get_by_label("Vos centres d'intérêt (facultatif)").fill("Course à pied")
    next_step(page, findings, "fin")

    # --- 3. The PDF, into the vault --------------------------------------------------
    page.get_by_label("Deux colonnes : contact et compétences sur le côté").check()
    page.get_by_role("button", name="Faire le PDF").click()
    page.wait_for_url(re.compile(r"/documents/[0-9a-f-]{36}$"))
    findings.notice(page, "Votre PDF est enregistré dans votre coffre-fort")
    expect(page.get_by_role("heading", level=1)).to_contain_text("CV – Préparateur de commandes")
    # The document's page is the library's (not audited here: its closed
    # "Modify" details hold controls the focus-ring check cannot focus).
    findings.fits(page, size["width"])
    _name, pdf = download_from(page)
    from tests.helpers import pdf_text

    text = pdf_text(pdf)
    for typed in (
        f"Yanis Durand{tag}",
        "Préparateur de commandes",
        "Atelier de production",
        "Magasinier",
        "CACES 1",
        "Inventaire",
        "Portugais",
        "Course à pied",
        "07 11 22 33 44",
        "Marseille",
        "Permis voiture (B)",
    ):
        assert typed in text, typed

    # --- 4. Shared with the counsellor like any document -------------------------------
    page.get_by_role("link", name="Partager avec mon conseiller").click()
    expect(page.get_by_role("radio", name=COUNSELLOR_NAME)).to_be_checked()
    page.get_by_role("button", name="Partager", exact=True).click()
    page.wait_for_url(re.compile(r"/documents/[0-9a-f-]{36}$"))
    findings.notice(page, "Le document est partagé.")

    # --- 5. A cover letter, the name taken from the CV --------------------------------
    page.get_by_role("link", name="Mon CV").click()
    page.get_by_role("link", name="Écrire une lettre de motivation").click()
    page.wait_for_url(re.compile(r"/cv/lettre/etape/poste$"))
    expect(page.get_by_label("Vos prénom et nom")).to_have_value(f"Yanis Durand{tag}")
    findings.audit(page)
    page.get_by_label("Poste", exact=True).fill("Préparateur de commandes")
    page.get_by_label("Employeur", exact=True).fill("Entrepôt Sud")
    next_step(page, findings, "vous")
    expect(page.get_by_label("Votre paragraphe")).to_have_value(re.compile("chez Entrepôt Sud"))
    page.get_by_role("button", name="Prendre cette phrase").nth(2).click()
    page.wait_for_url(re.compile(r"/cv/lettre/etape/vous#paragraph$"))
    expect(page.get_by_label("Votre paragraphe")).to_have_value(
        re.compile("^Je voudrais travailler chez Entrepôt Sud")
    )
    findings.audit(page)
    next_step(page, findings, "moi")
    next_step(page, findings, "nous")
    next_step(page, findings, "fin")
    page.get_by_role("button", name="Faire le PDF").click()
    page.wait_for_url(re.compile(r"/documents/[0-9a-f-]{36}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(
        "Lettre de motivation – Entrepôt Sud"
    )
    _name, letter = download_from(page)
    assert "Je voudrais travailler chez Entrepôt Sud" in pdf_text(letter)
    assert findings.problems == [], "\n".join(findings.problems)


@pytest.fixture(scope="module")
def kiosk_server(live_app: Flask) -> Iterator[str]:
    """The live app's database and blobs, served as to a kiosk network (127.0.0.0/8)."""
    settings = replace(get_settings(live_app), kiosk_networks=("127.0.0.0/8",))
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    get_database(app).dispose()
    get_store(app).close()


@pytest.mark.browser
@pytest.mark.parametrize("size", [DESK, PHONE], ids=["kiosk", "phone"])
def test_on_a_kiosk_the_cv_and_the_letter_are_pages_to_print(
    browser: Any, kiosk_server: str, live_app: Flask, contexts: list[Any], size: dict[str, int]
) -> None:
    from playwright.sync_api import expect

    tag = f"k{size['width']}"
    who = people(live_app, tag)
    findings = CvFindings()
    page = new_page(browser, contexts, kiosk_server, viewport=size)
    findings.watch(page, "person")
    downloads: list[Any] = []
    page.on("download", lambda download: downloads.append(download))
    page.goto("/connexion")
    sign_in(page, who.person.username, who.person.passphrase, r"/documents/$")
    page.goto("/cv/etape/identite")
    page.get_by_label("Prénom").fill("Yanis")
    page.get_by_label("Nom", exact=True).fill(f"Durand{tag}")
    next_step(page, findings, "emploi")
    page.get_by_label("Métier recherché").fill("Cariste")
    next_step(page, findings, "experience")
    page.goto("/cv/etape/fin")
    findings.audit(page)
    page.get_by_role("button", name="Faire le PDF").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Mon CV, à imprimer"))
    expect(page.get_by_role("heading", level=2, name=f"Yanis Durand{tag}")).to_be_visible()
    # The script shows the Print button; the CV is the page itself.
    expect(page.get_by_role("button", name="Imprimer")).to_be_visible()
    expect(page.locator("article.cv-sheet")).to_contain_text(f"Yanis Durand{tag}")
    expect(page.locator("article.cv-sheet")).to_contain_text("Cariste")
    findings.audit(page)

    page.goto("/cv/lettre/etape/poste")
    page.get_by_label("Poste", exact=True).fill("Cariste")
    page.get_by_label("Employeur", exact=True).fill("Logistique Nord")
    next_step(page, findings, "vous")
    next_step(page, findings, "moi")  # the suggested first paragraph, kept
    page.goto("/cv/lettre/etape/fin")
    findings.audit(page)
    page.get_by_role("button", name="Faire le PDF").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile("Ma lettre de motivation, à imprimer")
    )
    expect(page.locator("article.letter-sheet")).to_contain_text("Logistique Nord")
    findings.audit(page)
    assert downloads == [], "nothing may be saved to a kiosk"
    assert findings.problems == [], "\n".join(findings.problems)
