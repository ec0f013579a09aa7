"""The add form of issue 13 in a real browser, at kiosk (1280×1024) and phone
(390×844) size: a counsellor's request answered with a photo, first time; three
photos becoming one three-page PDF without their EXIF; errors next to their
field with the focus moved there.

Accounts, the assignment and the counsellor's request are made beforehand
through the real services, in the live server's database; every step after
that goes through the pages. `Findings.audit` runs on every page reached
(axe-core, focus ring, fit, touch targets), asserted at the end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from tests.browser.steps import (
    DESK,
    PHONE,
    TARGETS,
    UUID,
    Findings,
    download_from,
    new_page,
    sign_in,
)
from tests.factories import (
    EXIF_MARKER,
    Account,
    make_account,
    make_establishment,
    photo_bytes,
)
from tests.helpers import pdf_page_sizes
from vault.core.db import db_session
from vault.models import Role, User
from vault.sharing import service as sharing
from vault.sharing.requests import request_document

SIZES = pytest.mark.parametrize("viewport", [DESK, PHONE], ids=["kiosk", "phone"])
# The pages' previews carry buttons too: retake and remove are touch targets.
ADD_FORM_TARGETS = TARGETS + ", main label.button-photo, main label.category-choice"


class AddFormFindings(Findings):
    """A form refused on purpose (nothing chosen) answers 400: not a console error."""

    def __init__(self) -> None:
        super().__init__(ADD_FORM_TARGETS)

    def expected(self, message: Any) -> bool:
        url = message.location.get("url", "")
        return "status of 400" in message.text and url.endswith(
            ("/documents/ajouter", "/connexion")
        )


@dataclass
class People:
    person: Account
    passphrase: str
    counsellor_name: str


def people(live_app: Flask, tag: str, *, request_type: str | None = None) -> People:
    """A person followed by a counsellor (names unique to the test: the live
    database is shared), and, if asked, the counsellor's request for a type."""
    establishment = make_establishment(live_app, f"Centre de détention {tag}")
    passphrase = "la photo du papier est nette"
    person = make_account(
        live_app,
        Role.PERSON,
        "Noa",
        f"Photo{tag}",
        passphrase=passphrase,
        establishment_id=establishment.id,
    )
    counsellor = make_account(live_app, Role.COUNSELLOR, "Lou", f"Conseil{tag}")
    administrator = make_account(live_app, Role.ADMINISTRATOR, "Max", f"Admin{tag}")
    with live_app.app_context():
        db = db_session()
        person_user = db.get(User, person.user.id)
        counsellor_user = db.get(User, counsellor.user.id)
        assert person_user is not None and counsellor_user is not None
        sharing.assign(db, person_user, counsellor_user, by=db.get(User, administrator.user.id))  # type: ignore[arg-type]
        if request_type is not None:
            request_document(
                db, counsellor_user, person_user, request_type, "Pour votre dossier CAF."
            )
        db.commit()
    return People(person, passphrase, f"Lou Conseil{tag}")


def open_page(browser: Any, contexts: list[Any], live_server: str, viewport: dict[str, int]) -> Any:
    if viewport == PHONE:
        return new_page(
            browser, contexts, live_server, viewport=PHONE, is_mobile=True, has_touch=True
        )
    return new_page(browser, contexts, live_server, viewport=DESK)


def photo_file(name: str, **options: Any) -> dict[str, Any]:
    return {"name": name, "mimeType": "image/jpeg", "buffer": photo_bytes(**options)}


def check_photo_button_first(page: Any, viewport: dict[str, int]) -> None:
    """The big « Prendre une photo » button comes before the category tiles, on the first screen."""
    button = page.locator("label.button-photo").bounding_box()
    tiles = page.locator(".category-grid").bounding_box()
    assert button is not None and tiles is not None
    assert button["y"] + button["height"] <= tiles["y"], (button, tiles)
    assert button["y"] + button["height"] <= viewport["height"], button
    assert button["height"] >= 48, button


@pytest.mark.browser
@SIZES
def test_answer_a_request_with_a_photo(
    browser: Any,
    live_server: str,
    live_app: Flask,
    contexts: list[Any],
    viewport: dict[str, int],
) -> None:
    from playwright.sync_api import expect

    tag = "Kiosque" if viewport == DESK else "Telephone"
    who = people(live_app, f"Demande{tag}", request_type="tax_notice")
    findings = AddFormFindings()
    page = open_page(browser, contexts, live_server, viewport)
    findings.watch(page, "person")

    page.goto("/connexion")
    findings.audit(page)
    sign_in(page, who.person.user.username, who.passphrase, r"/documents/")
    findings.audit(page)

    # The request, in a category that is not identity: « Avis d'impôt ».
    page.get_by_role("link", name=re.compile("Demandes")).first.click()
    page.wait_for_url(re.compile(r"/demandes/$"))
    request_card = page.locator("#open-requests li").filter(has_text="Avis d'impôt")
    expect(request_card).to_have_count(1)
    findings.audit(page)
    request_card.get_by_role("link", name="Ajouter d'abord ce document").click()

    # The form opens with the category and the type of the request chosen.
    page.wait_for_url(re.compile(r"/documents/ajouter\?type=tax_notice$"))
    expect(page.get_by_role("radio", name="Aides et argent")).to_be_checked()
    expect(page.get_by_label("Type de document")).to_have_value("tax_notice")
    # Only this category's types are offered (static/js/doctype.js).
    options = page.get_by_label("Type de document").locator("option").all_inner_texts()
    assert "Avis d'impôt" in options and "Carte d'identité" not in options, options
    check_photo_button_first(page, viewport)
    findings.audit(page)

    # A photo, taken with the camera (the file input behind the big button).
    page.locator("#photos").set_input_files([photo_file("IMG_0001.jpg")])
    expect(page.locator("#photo-pages img")).to_have_count(1)
    expect(page.locator("#photo-count")).to_have_text("1 page, enregistrée en un document PDF.")
    findings.audit(page)
    page.get_by_role("button", name="Ajouter à mon coffre").click()

    # Saved the first time, filed under the request's type.
    page.wait_for_url(re.compile(rf"/documents/{UUID}$"))
    findings.notice(page, "Votre document est enregistré dans votre coffre.")
    expect(page.locator("main")).to_contain_text("Avis d'impôt")
    findings.audit(page)

    # The document's page offers to answer the request with it.
    page.get_by_role("button", name="Envoyer ce document pour répondre").click()
    page.wait_for_url(re.compile(r"/demandes/$"))
    findings.notice(page, "Votre conseiller peut maintenant ouvrir ce document.")
    expect(page.locator("#open-requests")).to_have_count(0)
    expect(page.locator("#answered-requests")).to_contain_text("Avis d'impôt")
    findings.audit(page)

    assert findings.problems == [], "\n".join(findings.problems)


@pytest.mark.browser
@SIZES
def test_three_photos_become_one_three_page_pdf(
    browser: Any,
    live_server: str,
    live_app: Flask,
    contexts: list[Any],
    viewport: dict[str, int],
) -> None:
    from playwright.sync_api import expect

    tag = "Kiosque" if viewport == DESK else "Telephone"
    who = people(live_app, f"Pages{tag}")
    findings = AddFormFindings()
    page = open_page(browser, contexts, live_server, viewport)
    findings.watch(page, "person")
    page.goto("/connexion")
    sign_in(page, who.person.user.username, who.passphrase, r"/documents/")

    page.get_by_role("link", name="Ajouter un document").first.click()
    page.wait_for_url(re.compile(r"/documents/ajouter"))
    check_photo_button_first(page, viewport)
    findings.audit(page)

    # Nothing chosen: the error sits under the photo button, which gets the focus.
    page.get_by_role("button", name="Ajouter à mon coffre").click()
    error = page.locator("#photos-error")
    expect(error).to_have_text(re.compile("Prenez une photo ou choisissez un fichier"))
    expect(page.locator("#photos")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#photos")).to_be_focused()
    findings.audit(page)

    # Recto, verso, then a page taken by mistake: three, then one more.
    page.locator("#photos").set_input_files(
        [
            photo_file("recto.jpg", size=(400, 200), orientation=6),
            photo_file("verso.jpg", size=(300, 420)),
            photo_file("erreur.jpg", size=(320, 400)),
        ]
    )
    page.locator("#photos").set_input_files([photo_file("page3.jpg", size=(330, 440))])
    expect(page.locator("#photo-pages img")).to_have_count(4)
    findings.audit(page)
    # Remove the page taken by mistake, take the second again.
    page.get_by_role("button", name="Enlever cette page (Page 3)").click()
    expect(page.locator("#photo-pages img")).to_have_count(3)
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Reprendre cette page (Page 2)").click()
    chooser.value.set_files([photo_file("verso2.jpg", size=(310, 430))])
    expect(page.locator("#photo-count")).to_have_text(
        "3 pages, enregistrées en un seul document PDF."
    )
    # Each page is shown before saving, from the browser's memory (blob: URLs).
    sources = page.locator("#photo-pages img").evaluate_all("els => els.map(e => e.src)")
    assert all(src.startswith("blob:") for src in sources), sources
    findings.audit(page)

    page.get_by_label("Titre").fill("Carte de séjour")
    page.get_by_role("radio", name="Identité").check()
    page.get_by_label("Type de document").select_option("residence_permit")
    page.get_by_role("button", name="Ajouter à mon coffre").click()
    page.wait_for_url(re.compile(rf"/documents/{UUID}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Carte de séjour")
    findings.notice(page, "Votre document est enregistré dans votre coffre.")
    findings.audit(page)

    # Downloaded back: one PDF, three upright pages, no EXIF (GPS, maker) left.
    name, pdf = download_from(page)
    assert name == "Carte de séjour.pdf"
    sizes = pdf_page_sizes(pdf)
    assert len(sizes) == 3, sizes
    assert all(height > width for width, height in sizes), sizes
    assert EXIF_MARKER.encode() not in pdf and b"Exif" not in pdf

    assert findings.problems == [], "\n".join(findings.problems)


@pytest.mark.browser
@SIZES
def test_a_refused_sign_in_puts_the_focus_on_the_field(
    browser: Any, live_server: str, contexts: list[Any], viewport: dict[str, int]
) -> None:
    from playwright.sync_api import expect

    findings = AddFormFindings()
    page = open_page(browser, contexts, live_server, viewport)
    findings.watch(page, "visitor")
    page.goto("/connexion")
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()
    username = page.get_by_label("Identifiant")
    expect(username).to_have_attribute("aria-invalid", "true")
    expect(username).to_be_focused()
    expect(page.locator("#username-error")).to_be_visible()
    findings.audit(page)
    assert findings.problems == [], "\n".join(findings.problems)


@pytest.mark.browser
def test_without_javascript_several_photos_still_make_one_pdf(
    browser: Any, live_server: str, live_app: Flask, contexts: list[Any]
) -> None:
    """The browser's own form post (no upload.js, no photos.js): the photos,
    chosen together, are sent between the token and the details, and the
    server makes them one PDF; a refusal still shows under its field. No
    audit here: axe-core and the other checks run as scripts in the page, and
    the same pages are audited with scripts on by the tests above."""
    from playwright.sync_api import expect

    who = people(live_app, "SansScript")
    findings = AddFormFindings()
    page = new_page(
        browser, contexts, live_server, viewport=PHONE, is_mobile=True, java_script_enabled=False
    )
    findings.watch(page, "person")
    page.goto("/connexion")
    sign_in(page, who.person.user.username, who.passphrase, r"/documents/")
    page.goto("/documents/ajouter")
    # Without the script the type list shows every category's types, in groups.
    expect(page.locator("#doc_type optgroup")).to_have_count(9)

    page.locator("#photos").set_input_files(
        [photo_file("recto.jpg"), photo_file("verso.jpg", size=(300, 420))]
    )
    page.get_by_label("Date d'expiration (s'il y en a une)").fill("1899-12-31")
    page.get_by_role("button", name="Ajouter à mon coffre").click()
    expect(page.locator("#expiry_date-error")).to_have_text(re.compile("Cette date"))
    expect(page.locator("#expiry_date")).to_have_attribute("aria-invalid", "true")

    # Photos are not kept by a page the server drew again: chosen once more.
    page.locator("#photos").set_input_files(
        [photo_file("recto.jpg"), photo_file("verso.jpg", size=(300, 420))]
    )
    page.get_by_label("Date d'expiration (s'il y en a une)").fill("")
    page.get_by_role("radio", name="Famille").check()  # the type stays « Autre document »
    page.get_by_role("button", name="Ajouter à mon coffre").click()
    page.wait_for_url(re.compile(rf"/documents/{UUID}$"))
    expect(page.locator("main")).to_contain_text("Autre document de famille")
    _name, pdf = download_from(page)
    assert len(pdf_page_sizes(pdf)) == 2
    assert EXIF_MARKER.encode() not in pdf
    assert findings.problems == [], "\n".join(findings.problems)
