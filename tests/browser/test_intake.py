"""Intake day, in a real browser: an administrator imports the establishment's list,
reads the report, downloads the activation sheets, and looks at the overview;
at a kiosk-sized desk (1280×1024) and on a phone (390×844). Every page reached
is audited (fit, touch targets, axe-core, focus rings).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.browser.steps import DESK, PHONE, TARGETS, Findings, new_page, sign_in
from tests.factories import make_account, make_establishment
from tests.helpers import pdf_pages_text
from vault.models import Role

PLACE = "Maison d'arrêt de l'Import"
PASSPHRASE = "la liste arrive le lundi"
# The dry-run box and the file input are touch targets too.
INTAKE_TARGETS = TARGETS + ", main input[type=file], main label.category-choice"


def _list(suffix: str) -> str:
    return (
        "action;numero_ecrou;etablissement;nom;prenom\n"
        f"arrivee;I{suffix}1;{PLACE};Benali;Sofia\n"
        f"arrivee;I{suffix}2;{PLACE};Nguyen;Tom\n"
        f"arrivee;;{PLACE};Sans;Numéro\n"
    )


@pytest.mark.browser
@pytest.mark.parametrize(("size", "suffix"), [(DESK, "d"), (PHONE, "p")], ids=["desk", "phone"])
def test_an_administrator_imports_a_list_and_prints_the_sheets(
    live_app: Flask,
    live_server: str,
    browser: Any,
    contexts: list[Any],
    tmp_path: Path,
    size: dict[str, int],
    suffix: str,
) -> None:
    from playwright.sync_api import expect

    make_establishment(live_app, PLACE)
    admin = make_account(
        live_app, Role.ADMINISTRATOR, "Inès", f"Import{suffix}", passphrase=PASSPHRASE
    )
    options: dict[str, Any] = {"viewport": size}
    if size == PHONE:
        options |= {"is_mobile": True, "has_touch": True}
    page = new_page(browser, contexts, live_server, **options)
    findings = Findings(INTAKE_TARGETS)
    findings.watch(page, "administrator")
    page.goto("/connexion")
    sign_in(page, admin.username, PASSPHRASE, r"/admin/")

    page.get_by_role("link", name="Importer une liste").click()
    page.wait_for_url(re.compile(r"/admin/import/$"))
    findings.audit(page)
    source = tmp_path / "liste.csv"
    source.write_text(_list(suffix), encoding="utf-8")
    page.get_by_label("Vérifier seulement, ne rien modifier").check()
    page.get_by_label("Choisir le fichier").set_input_files(str(source))
    page.get_by_role("button", name="Importer", exact=True).click()
    expect(
        page.get_by_role("heading", name="Vérification seule : rien n'a été modifié")
    ).to_be_visible()
    findings.audit(page)

    page.get_by_label("Vérifier seulement, ne rien modifier").uncheck()
    page.get_by_label("Choisir le fichier").set_input_files(str(source))
    page.get_by_role("button", name="Importer", exact=True).click()
    expect(page.get_by_role("heading", name="Import terminé")).to_be_visible()
    expect(page.get_by_text("Comptes ouverts : 2")).to_be_visible()
    expect(page.get_by_text("Le numéro d'écrou est manquant.")).to_be_visible()
    findings.audit(page)
    with page.expect_download() as info:
        page.get_by_role("link", name="Imprimer les 2 feuilles d'activation (PDF)").click()
    pages = pdf_pages_text(Path(info.value.path()).read_bytes())
    assert len(pages) == 2
    assert "Sofia Benali" in pages[0] and "Tom Nguyen" in pages[1]

    page.get_by_role("link", name="Tableau de bord").click()
    page.wait_for_url(re.compile(r"/admin/tableau-de-bord/$"))
    expect(page.get_by_role("heading", name="Tâches planifiées")).to_be_visible()
    findings.audit(page)
    assert "Sofia" not in page.content()
    assert findings.problems == []
