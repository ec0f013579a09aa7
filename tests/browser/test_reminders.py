"""The reminders panel on the person's first screen, in Chromium at kiosk and phone size.

An identity card expiring in 60 days and the papers missing for release show
right after sign-in, each with a one-tap button; « Remplacer » opens the
replace page of that card, « Ajouter » the add form in the paper's category.

With VAULT_SCREENSHOTS set to a folder, the test also writes the panel as
the person sees it there (reminders-kiosk.png, reminders-phone.png): that is
how docs/screens/ is made (scripts/screens-reminders).
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.browser.steps import DESK, PHONE, Findings, new_page, sign_in
from tests.clock import local_today
from tests.factories import make_account, make_document

PASSPHRASE = "le rappel arrive avant la fin"
MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]


@pytest.mark.browser
@pytest.mark.parametrize(
    ("viewport", "size"), [(DESK, "kiosk"), (PHONE, "phone")], ids=["kiosk", "phone"]
)
def test_the_reminders_panel_on_the_first_screen(
    browser: Any,
    live_app: Flask,
    live_server: str,
    contexts: list[Any],
    viewport: dict[str, int],
    size: str,
) -> None:
    from playwright.sync_api import expect

    first = {"kiosk": "Rémi", "phone": "Rose"}[size]  # two people: one live app for both
    person = make_account(live_app, first=first, last="Rappel", passphrase=PASSPHRASE)
    expiry = local_today() + timedelta(days=60)
    card = make_document(live_app, person, title="Ma carte d'identité", expiry_date=expiry)
    make_document(live_app, person, title="Mon CV", category="work", doc_type="cv")
    options: dict[str, Any] = {"viewport": viewport}
    if viewport == PHONE:
        options |= {"is_mobile": True, "has_touch": True}
    page = new_page(browser, contexts, live_server, **options)
    findings = Findings()
    findings.watch(page, "person")

    page.goto("/connexion")
    findings.audit(page)
    sign_in(page, person.username, PASSPHRASE, r"/documents/$")
    panel = page.locator("#reminders")
    expect(panel.get_by_role("heading", level=2)).to_have_text("À faire pour vos papiers")
    in_words = f"{expiry.day} {MONTHS[expiry.month - 1]} {expiry.year}"
    card_line = panel.locator("li", has_text="Carte d'identité :")
    expect(card_line).to_have_text(
        re.compile(re.escape(f"valable jusqu'au {in_words}, dans 60 jours."))
    )
    # On the first screen: the panel starts within the viewport, no scrolling.
    box = panel.bounding_box()
    assert box is not None and box["y"] < viewport["height"], box
    expect(panel.locator("li", has_text="RIB")).to_have_text(
        re.compile("Utile à la sortie, pas encore dans votre coffre : RIB")
    )
    # The other missing papers: one link to the release page's list.
    expect(panel.get_by_role("link", name=re.compile("^3 autres papiers utiles"))).to_be_visible()
    findings.audit(page)
    shots = os.environ.get("VAULT_SCREENSHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / f"reminders-{size}.png"))

    # « Remplacer »: the replace page of that very card.
    card_line.get_by_role("link", name=re.compile("^Remplacer")).click()
    page.wait_for_url(re.compile(rf"/documents/{card.id}/remplacer$"))
    findings.audit(page)
    page.go_back()
    page.wait_for_url(re.compile(r"/documents/$"))

    # « Ajouter » for the bank details: the add form, in the category "money".
    panel.locator("li", has_text="RIB").get_by_role("link", name=re.compile("^Ajouter")).click()
    page.wait_for_url(re.compile(r"/documents/ajouter\?categorie=benefits&type=bank_details$"))
    # Read as the form would send it (radio tiles or a list alike).
    chosen = page.evaluate(
        "() => new FormData(document.querySelector('[name=category]').form).get('category')"
    )
    assert chosen == "benefits", chosen
    findings.audit(page)
    assert findings.problems == [], "\n".join(findings.problems)
