"""« Écouter » in a real Chromium (issue 14, docs/rtl.md).

Chromium without a desktop has no speech voices, so each test gives the page
a voices list and records what `speechSynthesis.speak` receives: that stub,
added before the page's own scripts, is the only thing replaced. The button,
static/js/listen.js, the text it gathers and the language it asks for are the
real ones.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.browser.steps import DESK, PHONE, Findings, new_page
from tests.factories import make_account, make_document

# Voices as Chromium lists them (plain objects, so `utterance.voice` is made to
# take them); `speak` records the utterance instead of sounding it and never
# ends, as during a long reading; `cancel` is counted.
SPEECH_STUB = """
(() => {
  const voices = %s;
  const synth = window.speechSynthesis;
  window.__spoken = [];
  window.__cancelled = 0;
  window.__voices = voices;
  synth.getVoices = () => window.__voices.map(v => Object.assign(
    {default: false, localService: true, voiceURI: v.name}, v));
  synth.speak = utterance => window.__spoken.push(
    {text: utterance.text, lang: utterance.lang, voice: utterance.voice && utterance.voice.name});
  // Counted in sessionStorage too: the count survives leaving the page.
  synth.cancel = () => {
    window.__cancelled += 1;
    sessionStorage.setItem("cancelled", String(Number(sessionStorage.getItem("cancelled")) + 1));
  };
  // Chromium accepts only its own voice objects for `utterance.voice`.
  Object.defineProperty(SpeechSynthesisUtterance.prototype, "voice", {
    configurable: true,
    get() { return this.__voice || null; },
    set(voice) { this.__voice = voice; },
  });
})();
"""


def speech_page(
    browser: Any, contexts: list[Any], base_url: str, voices: list[dict], **options: Any
) -> Any:
    page = new_page(browser, contexts, base_url, **options)
    page.add_init_script(SPEECH_STUB % json.dumps(voices))
    return page


def main_text_without_button(page: Any) -> str:
    """<main>'s visible text less the button's own words, spaces squeezed."""
    visible = page.locator("main").inner_text()
    button = page.locator("#listen").inner_text().strip()
    assert visible.lstrip().startswith(button)
    return " ".join(visible.lstrip()[len(button) :].split())


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [DESK, PHONE], ids=["kiosk", "phone"])
def test_listen_reads_the_main_text_in_the_page_language(
    browser: Any, live_server: str, live_app: Any, contexts: list[Any], viewport: dict[str, int]
) -> None:
    from playwright.sync_api import expect

    person = make_account(live_app, first="Inès", last=f"Écoute{viewport['width']}")
    make_document(live_app, person, title="Carte Vitale")
    voices = [{"name": "Anglais", "lang": "en-US"}, {"name": "Amélie", "lang": "fr-FR"}]
    page = speech_page(browser, contexts, live_server, voices, viewport=viewport)
    findings = Findings()
    findings.watch(page, "person")

    page.goto("/connexion")
    page.get_by_label("Identifiant").fill(person.username)
    page.get_by_label("Phrase secrète").fill(person.passphrase)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/documents/$"))

    listen = page.get_by_role("button", name="Écouter")
    expect(listen).to_be_visible()
    expected = main_text_without_button(page)
    assert "Carte Vitale" in expected
    listen.click()

    spoken = page.evaluate("window.__spoken")
    assert len(spoken) == 1
    assert spoken[0]["lang"] == page.locator("html").get_attribute("lang") == "fr"
    assert spoken[0]["voice"] == "Amélie"
    assert " ".join(spoken[0]["text"].split()) == expected
    assert "Écouter" not in spoken[0]["text"]

    # While it reads, the button stops it; then it can read again.
    stop = page.get_by_role("button", name="Arrêter")
    expect(stop).to_be_visible()
    expect(listen).to_be_hidden()
    cancelled = page.evaluate("window.__cancelled")
    stop.click()
    assert page.evaluate("window.__cancelled") == cancelled + 1
    expect(listen).to_be_visible()
    listen.click()
    assert len(page.evaluate("window.__spoken")) == 2

    # Leaving the page while it reads stops the reading (a kiosk's next person hears nothing).
    before = int(page.evaluate("sessionStorage.getItem('cancelled')"))
    page.goto("/journal/")
    assert int(page.evaluate("sessionStorage.getItem('cancelled')")) > before

    findings.audit(page)
    assert findings.problems == []


@pytest.mark.browser
def test_listen_is_offered_before_sign_in(
    browser: Any, live_server: str, contexts: list[Any]
) -> None:
    """The sign-in and activation pages are for the person too."""
    from playwright.sync_api import expect

    page = speech_page(browser, contexts, live_server, [{"name": "Amélie", "lang": "fr-FR"}])
    for path in ("/", "/connexion", "/activer"):
        page.goto(path)
        expect(page.get_by_role("button", name="Écouter")).to_be_visible()


@pytest.mark.browser
def test_listen_stays_hidden_without_a_local_voice_for_the_language(
    browser: Any, live_server: str, contexts: list[Any]
) -> None:
    """No French voice, or only one that speaks over the network: no button.
    Voices that arrive later (`voiceschanged`) bring it."""
    from playwright.sync_api import expect

    voices = [
        {"name": "Anglais", "lang": "en-GB"},
        {"name": "Français en ligne", "lang": "fr-FR", "localService": False},
    ]
    page = speech_page(browser, contexts, live_server, voices)
    page.goto("/connexion")
    listen = page.locator("#listen")
    expect(listen).to_be_attached()
    expect(listen).to_be_hidden()
    assert listen.get_attribute("hidden") is not None

    page.evaluate(
        "() => { window.__voices.push({name: 'Thomas', lang: 'fr_FR'});"
        " speechSynthesis.dispatchEvent(new Event('voiceschanged')); }"
    )
    expect(page.get_by_role("button", name="Écouter")).to_be_visible()


@pytest.mark.browser
def test_listen_is_not_on_staff_pages(
    browser: Any, live_server: str, live_app: Any, contexts: list[Any]
) -> None:
    from playwright.sync_api import expect

    from vault.models import Role

    counsellor = make_account(live_app, Role.COUNSELLOR, first="Paul", last="Sansvoix")
    page = speech_page(browser, contexts, live_server, [{"name": "Amélie", "lang": "fr-FR"}])
    page.goto("/connexion")
    page.get_by_label("Identifiant").fill(counsellor.username)
    page.get_by_label("Phrase secrète").fill(counsellor.passphrase)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/suivi/"))
    expect(page.locator("#listen")).to_have_count(0)
