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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from flask import Flask

from tests.factories import Account, make_account, pdf_bytes
from vault.models import Role

PHONE = {"width": 360, "height": 740}
DESK = {"width": 1280, "height": 800}
PASSPHRASE = "lune verte sous la pluie"
ESTABLISHMENT = "Centre pénitentiaire de Navigateur"
# WCAG 2.5.5 asks 44 CSS px; the stylesheet aims at 48.
MIN_TARGET_PX = 44
TARGETS = "main a.button, main button, main summary, main .category-filter a, main .document-card"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

# Elements sticking out to the right, to name them when a page side-scrolls.
WIDE_ELEMENTS_JS = """limit => [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > limit + 0.5)
    .slice(0, 5)
    .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
         + (typeof el.className === 'string' && el.className.trim()
            ? '.' + el.className.trim().split(/\\s+/).join('.') : '')
         + ' (right edge ' + Math.round(el.getBoundingClientRect().right) + 'px)')"""

SMALL_TARGETS_JS = """([selector, min]) => [...document.querySelectorAll(selector)]
    .filter(el => el.getClientRects().length > 0)
    .map(el => [el.textContent.trim().replace(/\\s+/g, ' '),
                Math.round(el.getBoundingClientRect().height)])
    .filter(([, height]) => height < min)"""


@pytest.fixture
def administrator(live_app: Flask) -> Account:
    """An active administrator in the live server's database. Function-scoped:
    made while the suite's fast Argon2 parameters are in place."""
    return make_account(
        live_app, Role.ADMINISTRATOR, "Alex", "Gestion", passphrase="admin du coffre"
    )


class Findings:
    """What the person would notice, gathered along the journey."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def watch(self, page: Any, who: str) -> None:
        """Console errors (CSP violations are reported there) and uncaught exceptions."""

        def on_console(message: Any) -> None:
            if message.type == "error":
                where = message.location.get("url", "")
                self.problems.append(
                    f"{who}: console error on {path_of(page)}: {message.text} ({where})"
                )

        page.on("console", on_console)
        page.on("pageerror", lambda e: self.problems.append(f"{who}: uncaught error: {e}"))

    def fits(self, page: Any, width: int) -> None:
        """No side-scrolling: nothing wider than the screen."""
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > width:
            wide = page.evaluate(WIDE_ELEMENTS_JS, width)
            self.problems.append(
                f"{path_of(page)} is {scroll_width}px wide on a {width}px screen: {wide}"
            )

    def touch_targets(self, page: Any) -> None:
        """Every visible button, and link drawn as one, in the main content is big enough."""
        small = page.evaluate(SMALL_TARGETS_JS, [TARGETS, MIN_TARGET_PX])
        if small:
            self.problems.append(
                f"touch targets under {MIN_TARGET_PX}px on {path_of(page)}: {small}"
            )

    def phone_page(self, page: Any) -> None:
        self.fits(page, PHONE["width"])
        self.touch_targets(page)

    def notice(self, page: Any, text: str) -> None:
        """A confirmation message (flash) is shown."""
        if page.get_by_role("status").filter(has_text=text).count() != 1:
            shown = page.locator("main .notice").all_inner_texts()
            self.problems.append(
                f"no message “{text}” on {path_of(page)} (messages shown: {shown})"
            )


@pytest.fixture
def contexts(browser: Any) -> Iterator[list[Any]]:
    """Browser contexts opened by the test, closed at the end."""
    opened: list[Any] = []
    yield opened
    for context in opened:
        context.close()


def new_page(browser: Any, contexts: list[Any], base_url: str, **options: Any) -> Any:
    context = browser.new_context(
        base_url=base_url, locale="fr-FR", accept_downloads=True, **options
    )
    contexts.append(context)
    context.set_default_timeout(10_000)
    return context.new_page()


def path_of(page: Any) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url)


def pdf_text(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def activation_code_from(pdf: bytes) -> str:
    """The activation code printed on the sheet ("4821 0937 5521 8830")."""
    text = pdf_text(pdf).replace("\u00a0", " ")
    _label, found, after = text.partition("code d'activation")
    match = re.search(r"\b\d{4}(?: ?\d{4}){3}\b", after)
    assert found and match, f"no activation code on the sheet:\n{text}"
    return match.group(0)


def sign_out(page: Any, findings: Findings) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(re.compile(r"/connexion$"))
    findings.notice(page, "Vous êtes déconnecté.")


@pytest.mark.browser
def test_an_account_from_opening_to_a_filed_document(
    browser: Any, live_server: str, administrator: Account, contexts: list[Any]
) -> None:
    from playwright.sync_api import expect

    findings = Findings()

    # --- 1. The administrator, at a desk: opens the account, prints the sheet ----------
    admin = new_page(browser, contexts, live_server, viewport=DESK)
    findings.watch(admin, "administrator")
    admin.goto("/connexion")
    admin.get_by_label("Identifiant").fill(administrator.username)
    admin.get_by_label("Phrase secrète").fill(administrator.passphrase)
    admin.get_by_role("button", name="Se connecter").click()
    admin.wait_for_url(re.compile(r"/admin/$"))
    expect(admin.get_by_role("heading", level=1)).to_have_text(re.compile("Comptes"))

    admin.get_by_role("link", name="Établissements").first.click()
    admin.wait_for_url(re.compile(r"/admin/etablissements$"))
    admin.get_by_label("Nom de l'établissement").fill(ESTABLISHMENT)
    admin.get_by_role("button", name="Ajouter").click()
    expect(admin.get_by_role("rowheader", name=ESTABLISHMENT)).to_be_visible()
    findings.notice(admin, ESTABLISHMENT)

    admin.get_by_role("link", name="Ouvrir un compte").first.click()
    admin.wait_for_url(re.compile(r"/admin/comptes/nouveau$"))
    admin.get_by_label("Type de compte").select_option("person")
    admin.get_by_label("Prénom").fill("Camille")
    admin.get_by_label("Nom", exact=True).fill("Dupont")
    admin.get_by_label("Établissement", exact=True).select_option(label=ESTABLISHMENT)
    admin.get_by_label("Date de naissance").fill("1990-04-12")
    admin.get_by_label("Numéro d'écrou").fill("A123456")
    admin.get_by_role("button", name="Ouvrir le compte").click()
    admin.wait_for_url(re.compile(rf"/admin/comptes/{UUID}$"))
    expect(admin.get_by_role("heading", level=1)).to_have_text(re.compile("Camille Dupont"))
    findings.notice(admin, "Le compte de Camille Dupont est ouvert.")
    findings.fits(admin, DESK["width"])
    username = admin.locator("dt:has-text('Identifiant') + dd").inner_text().strip()
    assert username == "camille.dupont"

    with admin.expect_download() as sheet_download:
        admin.get_by_role("link", name="Imprimer la feuille d'activation").click()
    sheet = sheet_download.value
    assert sheet.suggested_filename == f"feuille-activation-{username}.pdf"
    sheet_pdf = Path(sheet.path()).read_bytes()
    assert sheet_pdf.startswith(b"%PDF-")
    assert username in pdf_text(sheet_pdf)
    code = activation_code_from(sheet_pdf)
    sign_out(admin, findings)

    # --- 2. The person, on a phone: activates the vault -------------------------------
    phone = new_page(browser, contexts, live_server, viewport=PHONE, is_mobile=True, has_touch=True)
    findings.watch(phone, "person")
    phone.goto("/activer")
    expect(phone.get_by_role("heading", level=1)).to_have_text(re.compile("Activer mon coffre"))
    findings.phone_page(phone)
    phone.get_by_label("Identifiant").fill(username)
    phone.get_by_label("Code d'activation").fill(code)
    phone.get_by_role("button", name="Continuer").click()

    phone.wait_for_url(re.compile(r"/activer/phrase-secrete$"))
    findings.phone_page(phone)
    phone.get_by_label("Votre phrase secrète").fill(PASSPHRASE)
    phone.get_by_label("Tapez-la encore une fois").fill(PASSPHRASE)
    phone.get_by_role("button", name="Enregistrer ma phrase secrète").click()

    phone.wait_for_url(re.compile(r"/activer/feuille-de-secours$"))
    expect(phone.get_by_label("Code de secours")).to_have_text(re.compile(r"\d{4}"))
    findings.phone_page(phone)
    phone.get_by_role("button", name="J'ai gardé ma feuille de secours").click()

    phone.wait_for_url(re.compile(r"/documents/$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text(re.compile("Mes documents"))
    findings.notice(phone, "Votre coffre est prêt.")
    findings.phone_page(phone)

    # --- 3. Files a document: upload.js sends it, with its progress bar ----------------
    content = pdf_bytes("Camille Dupont, carte d'identite")
    phone.get_by_role("link", name="Ajouter un document").click()
    phone.wait_for_url(re.compile(r"/documents/ajouter$"))
    findings.phone_page(phone)
    phone.get_by_label("Titre").fill("Ma carte d'identité")
    phone.get_by_role("radio", name="Identité").check()
    phone.get_by_label("Type de document").select_option("id_card")
    phone.get_by_label("Choisir un fichier").set_input_files(
        {"name": "carte.pdf", "mimeType": "application/pdf", "buffer": content}
    )
    with phone.expect_request(
        lambda r: r.method == "POST" and r.url.endswith("/documents/ajouter")
    ) as upload_request:
        phone.get_by_role("button", name="Ajouter à mon coffre").click()
    assert upload_request.value.resource_type == "xhr", "the form was posted without upload.js"

    phone.wait_for_url(re.compile(rf"/documents/{UUID}$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Ma carte d'identité")
    findings.notice(phone, "Votre document est enregistré dans votre coffre.")
    findings.phone_page(phone)

    # The preview, rendered by the server from the encrypted document, is shown.
    preview = phone.locator("figure.preview img")
    preview.scroll_into_view_if_needed()
    phone.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=preview.element_handle()
    )

    # Downloaded, it is the very same file.
    with phone.expect_download() as document_download:
        phone.get_by_role("link", name="Télécharger").click()
    download = document_download.value
    assert download.suggested_filename.endswith(".pdf")
    assert Path(download.path()).read_bytes() == content

    # And it is in the list.
    phone.get_by_role("link", name="← Mes documents").click()
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
