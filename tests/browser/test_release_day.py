"""Release day, in real browsers: the counsellor checks the release checklist at
a desk, an administrator records the release, the person signs in from an
address outside the establishment's networks, downloads the exit pack on a
phone, and the archive verifies on its own.

Sign-in limited to the establishment's networks is made real first: the
establishment allows 127.0.0.0/8 (the live server sees 127.0.0.1: the
"kiosk"), the person signs in there; the administrator then narrows the
networks to 10.99.0.0/16 and the same sign-in is refused with the French
message. After the release, from that same non-establishment address, the
person is let in.

The accounts, the two documents and the assignment are made beforehand
through the real services, in the live server's database; every step after
that (networks, release, checklist, export) goes through the pages. As in
test_journey.py, steps are hard assertions, and what the person would notice
(console errors and CSP violations, side-scrolling on the phone, small touch
targets, missing confirmation messages) is collected and asserted at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_date
from flask import Flask

from tests.browser.steps import (
    DESK,
    TARGETS,
    Findings,
    desk_page,
    export_pack,
    fill_sign_in,
    path_of,
    pdf_text,
    phone_page,
    sign_in,
    sign_out,
)
from tests.clock import local_today
from tests.factories import Account, make_account, make_document, make_establishment, pdf_bytes
from vault.core.db import db_session
from vault.models import Document, Establishment, Role, User
from vault.sharing import service as sharing

# The release form's and the networks form's choices are touch targets too.
RELEASE_TARGETS = TARGETS + ", main label.category-choice"

ESTABLISHMENT = "Centre de détention de la Levée d'écrou"
PERSON = ("Yanis", "Bellanger")
COUNSELLOR = ("Maëlle", "Costa")
ADMINISTRATOR = ("Rémi", "Greffe")
PERSON_NAME = "Yanis Bellanger"
ADMINISTRATOR_NAME = "Rémi Greffe"
PERSON_PASSPHRASE = "la porte s'ouvre au matin"

KIOSK_NETWORKS = "127.0.0.0/8"  # the live server sees 127.0.0.1
OTHER_NETWORKS = "10.99.0.0/16"  # 127.0.0.1 is outside
OUTSIDE_MESSAGE = (
    "Pendant votre détention, vous pouvez vous connecter uniquement depuis "
    "l'établissement, par exemple depuis une borne."
)
IDENTITY_ROW = "Carte d'identité, passeport ou titre de séjour"
BANK_ROW = "RIB (relevé d'identité bancaire)"


def long_date(day: date) -> str:
    """As the pages print it: « 25 janvier 2027 »."""
    return format_date(day, "long", locale="fr_FR")


@dataclass
class ReleaseDay:
    """What the test prepared: an establishment, three accounts, two documents."""

    establishment_id: uuid.UUID
    administrator: Account
    counsellor: Account
    person: Account
    identity: Document
    identity_pdf: bytes
    identity_expiry: date
    cv: Document
    cv_pdf: bytes


@pytest.fixture
def release_day(live_app: Flask) -> ReleaseDay:
    """Function-scoped: accounts are made while the suite's fast Argon2 parameters
    are in place. Names are unique to this module, so the live database, shared
    with the other browser tests, cannot mix them up."""
    establishment = make_establishment(live_app, ESTABLISHMENT)
    administrator = make_account(
        live_app, Role.ADMINISTRATOR, *ADMINISTRATOR, passphrase="le greffe ferme a midi"
    )
    person = make_account(
        live_app,
        Role.PERSON,
        *PERSON,
        passphrase=PERSON_PASSPHRASE,
        establishment_id=establishment.id,
        birth_date=date(1991, 7, 14),
        prison_number="C246810",
    )
    counsellor = make_account(
        live_app, Role.COUNSELLOR, *COUNSELLOR, passphrase="le dossier de sortie est pret"
    )
    # Expires within 90 days: « Expire bientôt » on the checklist.
    identity_expiry = local_today() + timedelta(days=60)
    identity_pdf = pdf_bytes("Yanis Bellanger, carte d'identite")
    identity = make_document(
        live_app,
        person,
        identity_pdf,
        title="Ma carte d'identité",
        category="identity",
        doc_type="id_card",
        expiry_date=identity_expiry,
    )
    cv_pdf = pdf_bytes("Yanis Bellanger, curriculum vitae")
    cv = make_document(live_app, person, cv_pdf, title="Mon CV", category="work", doc_type="cv")
    with live_app.app_context():
        db = db_session()
        sharing.assign(
            db,
            db.get(User, person.user.id),  # type: ignore[arg-type]
            db.get(User, counsellor.user.id),  # type: ignore[arg-type]
            by=db.get(User, administrator.user.id),  # type: ignore[arg-type]
        )
        db.commit()
    return ReleaseDay(
        establishment.id,
        administrator,
        counsellor,
        person,
        identity,
        identity_pdf,
        identity_expiry,
        cv,
        cv_pdf,
    )


class ReleaseFindings(Findings):
    """The forms' choices are touch targets too, and the refusal the person is
    meant to get (403 on /connexion) is not a console error."""

    def __init__(self) -> None:
        super().__init__(RELEASE_TARGETS)
        self.expected_status: set[tuple[str, int]] = set()

    def expected(self, message: Any) -> bool:
        # Chromium logs the refused page's status: that is the point here.
        where = message.location.get("url", "")
        return any(
            where == url and f"status of {status}" in message.text
            for url, status in self.expected_status
        )


def set_networks(page: Any, findings: ReleaseFindings, establishment_id: Any, text: str) -> None:
    """The administrator limits sign-in to `text` at the establishment."""
    from playwright.sync_api import expect

    page.goto(f"/admin/etablissements/{establishment_id}/reseaux")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(f"Réseaux de {re.escape(ESTABLISHMENT)}")
    )
    findings.fits(page, DESK["width"])
    page.get_by_label("Réseaux de l'établissement (un par ligne)").fill(text)
    page.get_by_label(
        "Pendant leur détention ici, les personnes se connectent seulement depuis ces réseaux"
    ).check()
    page.get_by_role("button", name="Enregistrer").click()
    page.wait_for_url(re.compile(rf"/admin/etablissements/{establishment_id}/reseaux$"))
    findings.notice(
        page,
        f"Enregistré. Les personnes détenues à {ESTABLISHMENT} se connectent seulement "
        "depuis 1 réseau.",
    )
    expect(page.get_by_label("Réseaux de l'établissement (un par ligne)")).to_have_value(text)


def checklist_row(page: Any, label: str) -> Any:
    """The checklist's row for `label` (its row header)."""
    return (
        page.locator("table.checklist")
        .get_by_role("row")
        .filter(has=page.get_by_role("rowheader", name=label, exact=True))
    )


def fact(page: Any, term: str) -> Any:
    """The value (dd) after `term` (dt) in the page's list of facts."""
    return page.locator(f"dl.facts dt:text-is('{term}') + dd")


def journal_lines(page: Any) -> list[str]:
    return [" ".join(t.split()) for t in page.locator("ol.journal li span").all_inner_texts()]


def verify_command(archive: Path) -> list[str]:
    """`vault export verify ARCHIVE` from this venv: the console script, else the module."""
    script = Path(sys.executable).with_name("vault")
    if script.exists():
        return [str(script), "export", "verify", str(archive)]
    return [
        sys.executable,
        "-c",
        "from vault.cli.main import main; main()",
        "export",
        "verify",
        str(archive),
    ]


@pytest.mark.browser
def test_release_day_checklist_release_exit_pack_and_sign_in_from_outside(
    browser: Any,
    live_app: Flask,
    live_server: str,
    release_day: ReleaseDay,
    contexts: list[Any],
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    findings = ReleaseFindings()
    day = release_day
    person_id = day.person.user.id
    today = local_today()

    # --- 0. The administrator limits sign-in to the establishment's kiosks ------------
    admin = desk_page(browser, contexts, live_server)
    findings.watch(admin, "administrator")
    admin.goto("/connexion")
    sign_in(admin, day.administrator.username, day.administrator.passphrase, r"/admin/")
    set_networks(admin, findings, day.establishment_id, KIOSK_NETWORKS)

    # The person, at a kiosk of the establishment (127.0.0.1): let in.
    phone = phone_page(browser, contexts, live_server)
    findings.watch(phone, "person")
    phone.goto("/connexion")
    findings.phone_page(phone)
    sign_in(phone, day.person.username, PERSON_PASSPHRASE, r"/documents/$")
    phone.get_by_role("link", name="Ma sortie").click()
    phone.wait_for_url(re.compile(r"/ma-sortie$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text(re.compile("Ma sortie"))
    # The CV and the identity card (expiring soon still counts) of the 8 default items.
    expect(phone.get_by_text("2 papiers sur 8 sont prêts.")).to_be_visible()
    expect(checklist_row(phone, BANK_ROW)).to_contain_text("Manquant")
    findings.phone_page(phone)
    sign_out(phone)

    # --- 1. The counsellor, at a desk, checks the release checklist ---------------------
    desk = desk_page(browser, contexts, live_server)
    findings.watch(desk, "counsellor")
    desk.goto("/connexion")
    sign_in(desk, day.counsellor.username, day.counsellor.passphrase, r"/suivi/$")
    row = desk.get_by_role("row").filter(has=desk.get_by_role("rowheader", name=PERSON_NAME))
    expect(row).to_contain_text("C246810")
    expect(row).to_contain_text("2 sur 8")
    expect(row).to_contain_text("1 expire bientôt")
    findings.fits(desk, DESK["width"])

    desk.get_by_role("link", name=PERSON_NAME).click()
    desk.wait_for_url(re.compile(rf"/suivi/{person_id}/$"))
    expect(desk.get_by_role("heading", level=1)).to_have_text(re.compile(PERSON_NAME))
    expect(desk.get_by_role("heading", name="Liste pour la sortie")).to_be_visible()
    expect(desk.locator("table.checklist tbody tr")).to_have_count(8)
    # Present, expiring (with its date), missing: each in French, on its own row.
    expect(checklist_row(desk, "CV")).to_contain_text("Présent")
    expect(checklist_row(desk, IDENTITY_ROW)).to_contain_text(
        f"Expire bientôt ({long_date(day.identity_expiry)})"
    )
    expect(checklist_row(desk, BANK_ROW)).to_contain_text("Manquant")
    # What is not present can be asked for; what is present cannot.
    expect(checklist_row(desk, BANK_ROW).get_by_role("link", name="Le demander")).to_have_count(1)
    expect(checklist_row(desk, "CV").get_by_role("link", name="Le demander")).to_have_count(0)
    states = desk.locator("table.checklist tbody td:nth-child(2)").all_inner_texts()
    assert [s.strip() for s in states].count("Présent") == 1, states
    assert [s.strip() for s in states].count("Manquant") == 6, states
    # Nothing is shared: the counsellor sees which papers exist, not the papers.
    expect(desk.locator(f"a[href*='{day.identity.id}']")).to_have_count(0)
    expect(desk.locator(f"a[href*='{day.cv.id}']")).to_have_count(0)
    findings.fits(desk, DESK["width"])

    # --- 2. The restriction is real: from outside the networks, refused -----------------
    set_networks(admin, findings, day.establishment_id, OTHER_NETWORKS)
    findings.expected_status.add((f"{live_server}/connexion", 403))
    fill_sign_in(phone, day.person.username, PERSON_PASSPHRASE)
    with phone.expect_response(
        lambda r: r.url.endswith("/connexion") and r.request.method == "POST"
    ) as refused:
        phone.get_by_role("button", name="Se connecter").click()
    assert refused.value.status == 403, refused.value.status
    expect(phone.get_by_role("alert")).to_contain_text(OUTSIDE_MESSAGE)
    assert path_of(phone) == "/connexion"
    findings.phone_page(phone)

    # --- 3. The administrator records the release: today, follow-up continues ----------
    admin.goto(f"/admin/parcours/{person_id}")
    expect(admin.get_by_role("heading", level=1)).to_have_text(re.compile("Détention et sortie"))
    expect(fact(admin, "État")).to_have_text("Détenu")
    release_date = admin.get_by_label("Date de sortie")
    expect(release_date).to_have_value(today.isoformat())
    admin.get_by_role("radio", name=re.compile("^Oui : les conseillers continuent")).check()
    findings.fits(admin, DESK["width"])
    admin.get_by_role("button", name="Enregistrer la sortie").click()
    admin.wait_for_url(re.compile(rf"/admin/parcours/{person_id}$"))
    findings.notice(
        admin,
        f"La sortie de {PERSON_NAME} est enregistrée. Désormais, cette personne peut se "
        "connecter de partout.",
    )
    expect(fact(admin, "État")).to_have_text("Sorti")
    expect(fact(admin, "Sortie le")).to_have_text(long_date(today))
    expect(fact(admin, "Suivi après la sortie")).to_have_text("Continue")
    expect(admin.get_by_role("button", name="Enregistrer la sortie")).to_have_count(0)
    findings.fits(admin, DESK["width"])

    # The networks still exclude the address the person signs in from.
    with live_app.app_context():
        place = db_session().get(Establishment, day.establishment_id)
        assert place is not None
        assert place.restrict_signin and place.networks == OTHER_NETWORKS, place.networks
        db_session().rollback()

    # --- 4. The person, released, signs in from outside and takes the exit pack ---------
    sign_in(phone, day.person.username, PERSON_PASSPHRASE, r"/documents/$")
    findings.phone_page(phone)
    phone.get_by_role("link", name="Ma sortie").click()
    phone.wait_for_url(re.compile(r"/ma-sortie$"))
    expect(
        phone.get_by_text(
            "Votre suivi continue : vos conseillers voient toujours ce que vous partagez avec eux."
        )
    ).to_be_visible()
    expect(checklist_row(phone, IDENTITY_ROW)).to_contain_text("Expire bientôt")
    findings.phone_page(phone)

    phone.get_by_role("link", name="Télécharger tous mes documents").click()
    phone.wait_for_url(re.compile(r"/export/$"))
    expect(phone.get_by_text("Votre coffre contient 2 documents.")).to_be_visible()
    pack = export_pack(phone, findings, PERSON_PASSPHRASE, tmp_path)

    # --- 5. The archive verifies, without configuration ---------------------------------
    clean_env = {"PATH": os.defpath, "HOME": str(tmp_path), "LC_ALL": "C.UTF-8"}
    verified = subprocess.run(
        verify_command(pack),
        cwd=tmp_path,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert verified.returncode == 0, (verified.returncode, verified.stdout, verified.stderr)
    assert "export verify: OK (2 documents)" in verified.stdout, verified.stdout

    with zipfile.ZipFile(pack) as archive:
        names = archive.namelist()
        assert {"manifest.json", "journal.json", "resume.pdf"} <= set(names), names
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["person"]["username"] == day.person.username, manifest["person"]
        by_id = {entry["document_id"]: entry for entry in manifest["files"]}
        assert set(by_id) == {str(day.identity.id), str(day.cv.id)}, sorted(by_id)
        for document, stored in ((day.identity, day.identity_pdf), (day.cv, day.cv_pdf)):
            entry = by_id[str(document.id)]
            assert archive.read(entry["path"]) == stored, entry["path"]
            assert entry["sha256"] == hashlib.sha256(stored).hexdigest(), entry
        identity_entry = by_id[str(day.identity.id)]
        assert identity_entry["path"].startswith("Identit"), identity_entry["path"]
        assert identity_entry["expiry_date"] == day.identity_expiry.isoformat(), identity_entry
        summary = archive.read("resume.pdf")
    assert summary.startswith(b"%PDF"), summary[:16]
    summary_text = " ".join(pdf_text(summary).split())
    for expected in (PERSON_NAME, "Ma carte d'identité", BANK_ROW):
        assert expected in summary_text, f"{expected!r} not in resume.pdf: {summary_text[:2000]}"

    # --- 6. The person's history tells release day ---------------------------------------
    phone.get_by_role("link", name="Historique").click()
    phone.wait_for_url(re.compile(r"/journal/$"))
    lines = journal_lines(phone)
    expected_lines = [
        "Vous avez téléchargé tous vos documents (dossier de sortie).",
        f"L'administrateur {ADMINISTRATOR_NAME} a enregistré votre sortie.",
        "Une connexion avec votre phrase secrète depuis l'extérieur de l'établissement "
        "a été refusée.",
    ]
    missing = [sentence for sentence in expected_lines if sentence not in lines]
    assert not missing, f"missing from the history: {missing}\nshown: {lines}"
    positions = [lines.index(sentence) for sentence in expected_lines]
    assert positions == sorted(positions), f"history out of order: {lines}"
    findings.phone_page(phone)

    # --- 7. Follow-up continues: the counsellor still follows the person ----------------
    desk.reload()
    expect(desk.get_by_role("heading", level=1)).to_have_text(re.compile(PERSON_NAME))
    expect(checklist_row(desk, IDENTITY_ROW)).to_contain_text("Expire bientôt")

    assert findings.problems == [], "\n".join(findings.problems)
