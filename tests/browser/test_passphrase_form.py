"""Choosing a secret phrase in Chromium at kiosk and phone size (issue 13, finding 8).

On the activation page: after a mismatch the typed phrases are still in their
fields; "Afficher ce que j'écris" is a toggle button (aria-pressed) that
switches the fields between hidden and shown text; "Utiliser cette idée" puts
the suggestion in both fields, and the phrase is then saved.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from tests.browser.steps import DESK, PHONE, Findings, new_page
from tests.factories import open_pending

TYPED = "tortue lente sous la pluie"
OTHER = "tortue lente sous la neige"


class PhraseFindings(Findings):
    """The mismatch the test makes on purpose answers 400: not a console error."""

    def expected(self, message: Any) -> bool:
        where = message.location.get("url", "")
        return where.endswith("/activer/phrase-secrete") and "status of 400" in message.text


@pytest.mark.browser
@pytest.mark.parametrize(
    ("viewport", "size"), [(DESK, "kiosk"), (PHONE, "phone")], ids=["kiosk", "phone"]
)
def test_show_hide_use_the_idea_and_kept_phrases(
    browser: Any,
    live_app: Flask,
    live_server: str,
    contexts: list[Any],
    viewport: dict[str, int],
    size: str,
) -> None:
    from playwright.sync_api import expect

    new = open_pending(live_app, first="Paula", last=f"Phrase {size}")
    options: dict[str, Any] = {"viewport": viewport}
    if viewport == PHONE:
        options |= {"is_mobile": True, "has_touch": True}
    page = new_page(browser, contexts, live_server, **options)
    findings = PhraseFindings()
    findings.watch(page, "person")

    page.goto("/activer")
    page.get_by_label("Identifiant").fill(new.user.username)
    page.get_by_label("Code d'activation").fill(new.activation_code)
    page.get_by_role("button", name="Continuer").click()
    page.wait_for_url(re.compile(r"/activer/phrase-secrete$"))
    findings.audit(page)

    phrase = page.get_by_label("Votre phrase secrète")
    again = page.get_by_label("Tapez-la encore une fois")
    toggle = page.get_by_role("button", name="Afficher ce que j'écris")
    for field in (phrase, again):
        expect(field).to_have_attribute("type", "password")
        expect(field).to_have_attribute("autocomplete", "new-password")

    # A mismatch: the page comes back with both phrases as typed.
    phrase.fill(TYPED)
    again.fill(OTHER)
    page.get_by_role("button", name="Enregistrer ma phrase secrète").click()
    expect(page.get_by_text("Les deux phrases secrètes sont différentes.")).to_be_visible()
    expect(phrase).to_have_value(TYPED)
    expect(again).to_have_value(OTHER)
    findings.audit(page)

    # Show, then hide: the toggle says its state, the fields follow.
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    for field in (phrase, again):
        expect(field).to_have_attribute("type", "text")
    findings.audit(page)
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    for field in (phrase, again):
        expect(field).to_have_attribute("type", "password")

    # "Utiliser cette idée": the suggestion in both fields, then saved.
    idea = page.locator("#suggestion").inner_text().strip()
    assert len(idea.split()) >= 3, idea
    page.get_by_role("button", name="Utiliser cette idée").click()
    expect(phrase).to_have_value(idea)
    expect(again).to_have_value(idea)
    # Shown while typing, but sent from password fields: the browser keeps no
    # phrase among its suggestions for text fields (D-092).
    toggle.click()
    expect(phrase).to_have_attribute("type", "text")
    types_when_sent = page.evaluate(
        """() => {
            const form = document.getElementById("passphrase").form;
            let types = null;
            form.addEventListener("submit", (event) => {
                event.preventDefault();
                types = [...form.querySelectorAll("#passphrase, #confirm")].map((f) => f.type);
            }, { once: true });
            form.requestSubmit();
            return types;
        }"""
    )
    assert types_when_sent == ["password", "password"], types_when_sent
    page.get_by_role("button", name="Enregistrer ma phrase secrète").click()
    page.wait_for_url(re.compile(r"/activer/feuille-de-secours$"))
    findings.audit(page)
    assert findings.problems == [], "\n".join(findings.problems)
