"""The main journeys against the app as in production, in a real Chromium over HTTPS.

Each test runs twice: against gunicorn terminating TLS itself, and behind
nginx terminating TLS with `VAULT_PROXY_HOPS=1` (tests/browser/production.py).
The first administrator comes from the image's start-up (`vault accounts
first-admin` prints its code); every other account is opened by that
administrator through the pages and activated with the code printed on its
sheet. Nothing is written into the database behind the server's back.

The pages are the ones the embedded journeys check in depth
(tests/browser/steps.py); here they must work the same way in production:
forms posted over HTTPS (the CSRF check reads the Referer there), `__Host-`
Secure cookies, the S3 store, PostgreSQL, gunicorn's streaming.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser.production import AttackerSite, Certificate, ProductionSite
from tests.browser.steps import (
    TARGETS,
    UUID,
    Findings,
    activate,
    add_establishment,
    assign_counsellor,
    desk_page,
    download_from,
    export_pack,
    open_account,
    phone_page,
    print_activation_sheet,
    share_category,
    sign_in,
    sign_out,
    upload_document,
)
from tests.factories import pdf_bytes

pytestmark = [pytest.mark.browser, pytest.mark.production]

ADMIN_PASSPHRASE = "le greffe ouvre les comptes"
ESTABLISHMENT = "Centre pénitentiaire de Production"
# What the person types in the search box: it must reach no log.
SEARCHED = "Vitale"
# The share form's and the assignment form's choices are touch targets too.
PRODUCTION_TARGETS = TARGETS + ", main label.category-choice"


@dataclass(frozen=True)
class Person:
    username: str
    passphrase: str


def assert_production_cookies(page: Any, site: ProductionSite) -> None:
    """The session cookie is the production one, and every cookie of the vault is
    `__Host-`: Secure, path /, no Domain (host-only), out of scripts' reach."""
    cookies = page.context.cookies(site.url)
    assert "__Host-vault" in [c["name"] for c in cookies], cookies
    for cookie in cookies:
        assert cookie["name"].startswith("__Host-vault"), cookie
        assert cookie["secure"] is True, cookie
        assert cookie["httpOnly"] is True, cookie
        assert cookie["path"] == "/", cookie
        assert cookie["domain"] == "127.0.0.1", cookie  # host-only: no Domain attribute
        assert cookie["sameSite"] == "Lax", cookie


@pytest.fixture(scope="session")
def production_admin(production_site: ProductionSite, https_browser: Any) -> Person:
    """The first administrator, activated through the pages with the code the
    server printed at its first start (once per server)."""
    site = production_site
    findings = Findings()
    opened: list[Any] = []
    try:
        page = desk_page(https_browser, opened, site.url)
        findings.watch(page, "first administrator")
        activate(
            page, findings, site.admin_username, site.admin_code, ADMIN_PASSPHRASE, r"/admin/$"
        )
    except Exception as e:
        raise AssertionError(f"{e}\n{site.logs()}") from e
    finally:
        for context in opened:
            context.close()
    assert findings.problems == [], "\n".join(findings.problems)
    return Person(site.admin_username, ADMIN_PASSPHRASE)


def new_person(site: ProductionSite, browser: Any, admin: Person, first: str, last: str) -> Person:
    """A person opened by the administrator and activated on a phone, through the pages."""
    findings = Findings()
    opened: list[Any] = []
    try:
        desk = desk_page(browser, opened, site.url)
        desk.goto("/connexion")
        sign_in(desk, admin.username, admin.passphrase, r"/admin/$")
        # A person is opened at an establishment once the vault has any.
        establishment = f"Maison d'arrêt de {last}"
        add_establishment(desk, findings, establishment)
        username = open_account(
            desk, findings, kind="person", first=first, last=last, establishment=establishment
        )
        code = print_activation_sheet(desk, username)
        sign_out(desk)
        phone = phone_page(browser, opened, site.url)
        passphrase = f"{first} range ses papiers".lower()
        activate(phone, findings, username, code, passphrase, r"/documents/$")
    finally:
        for context in opened:
            context.close()
    assert findings.problems == [], "\n".join(findings.problems)
    return Person(username, passphrase)


def test_a_browser_signs_in_over_https_with_host_only_secure_cookies(
    production_site: ProductionSite,
    production_admin: Person,
    https_browser: Any,
    contexts: list[Any],
) -> None:
    """Issue 11, item 1: with no Referer, every POST on HTTPS was « Page expirée »."""
    from playwright.sync_api import expect

    site = production_site
    page = desk_page(https_browser, contexts, site.url)
    page.goto("/connexion")
    assert page.url.startswith("https://")
    sign_in(page, production_admin.username, production_admin.passphrase, r"/admin/$")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Comptes"))
    assert_production_cookies(page, site)
    sign_out(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Ouvrir mon coffre"))


def test_the_language_switcher_over_https_keeps_a_host_only_secure_cookie(
    production_site: ProductionSite, https_browser: Any, contexts: list[Any]
) -> None:
    """Issue 14 in production: the switcher's POST passes the HTTPS Referer check,
    and the device's choice is `__Host-vault-lang` (Secure, host-only, no script)."""
    site = production_site
    page = desk_page(https_browser, contexts, site.url)
    page.goto("/connexion")
    for current, choice, lang, direction in (
        ("Français", "العربية", "ar", "rtl"),
        ("العربية", "Français", "fr", "ltr"),
    ):
        summary = page.locator("header .language-switcher summary")
        assert summary.locator("span[lang]").inner_text() == current
        summary.click()
        with page.expect_navigation():
            page.locator(f'header .language-list button[name="lang"]:text-is("{choice}")').click()
        assert re.search(r"/connexion$", page.url), page.url
        html = page.locator("html")
        assert (html.get_attribute("lang"), html.get_attribute("dir")) == (lang, direction)
        [cookie] = [c for c in page.context.cookies(site.url) if c["name"].endswith("-lang")]
        assert cookie["name"] == "__Host-vault-lang" and cookie["value"] == lang, cookie
        assert cookie["secure"] is True and cookie["httpOnly"] is True, cookie
        assert cookie["path"] == "/" and cookie["domain"] == "127.0.0.1", cookie


# --- a POST from another origin -----------------------------------------------------------

# The other site's own referrer policy decides what its form sends: by default
# its origin as Referer; with no-referrer, no Referer at all (and Origin: null).
ATTACKER_POLICIES = {
    "default": ("", "The referrer does not match the host."),
    "no-referrer": (
        '<meta name="referrer" content="no-referrer">',
        "The referrer header is missing.",
    ),
}


@pytest.fixture(scope="session")
def attacker(tls_certificate: Certificate) -> Iterator[AttackerSite]:
    site = AttackerSite(tls_certificate)
    yield site
    site.close()


@pytest.fixture(scope="session")
def production_person(
    production_site: ProductionSite, production_admin: Person, https_browser: Any
) -> Person:
    """A person of the production server, opened and activated through the pages."""
    return new_person(production_site, https_browser, production_admin, "Noa", "Lenoir")


def csrf_token_on(page: Any) -> str:
    """The token of the page's form: what a script of another site could have stolen."""
    return str(page.locator("input[name=csrf_token]").first.input_value())


def refusal_count(site: ProductionSite, reason: str) -> int:
    return site.logs(limit=None).count(f"CSRF check failed: {reason}")


def posted_from_attacker(page: Any, site: ProductionSite, path: str, attacker_url: str) -> Any:
    """Opens the other site's page, which posts to `path` on its own; the vault's response."""
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url == site.url + path, timeout=30_000
    ) as posted:
        page.goto(attacker_url)
    response = posted.value
    headers = response.request.all_headers()
    # The browser sent the session cookie (same site, another port), so what
    # refuses the request is the origin rule, not a missing session or token.
    assert "__Host-vault=" in headers.get("cookie", ""), headers
    assert not headers.get("referer", "").startswith(site.url), headers
    return response


@pytest.mark.parametrize("policy", ATTACKER_POLICIES)
def test_a_form_posted_from_another_origin_is_refused_even_with_a_stolen_token(
    production_site: ProductionSite,
    production_admin: Person,
    https_browser: Any,
    attacker: AttackerSite,
    contexts: list[Any],
    policy: str,
) -> None:
    from playwright.sync_api import expect

    site = production_site
    meta, reason = ATTACKER_POLICIES[policy]
    name = f"Établissement piégé ({policy})"
    page = desk_page(https_browser, contexts, site.url)
    page.goto("/connexion")
    sign_in(page, production_admin.username, production_admin.passphrase, r"/admin/$")
    page.goto("/admin/etablissements")
    token = csrf_token_on(page)
    form = f"""<!doctype html><meta charset="utf-8">{meta}
<form id="f" method="post" action="{site.url}/admin/etablissements">
  <input type="hidden" name="csrf_token" value="{token}">
  <input type="hidden" name="name" value="{name}">
</form>
<script>document.getElementById("f").submit()</script>"""
    refused_before = refusal_count(site, reason)

    response = posted_from_attacker(
        page, site, "/admin/etablissements", attacker.serve(f"/form-{policy}", form)
    )
    assert response.status == 400, response.status
    expect(page.get_by_role("heading", level=1)).to_have_text("Page expirée")
    assert refusal_count(site, reason) == refused_before + 1, site.logs()

    page.goto("/admin/etablissements")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Établissements"))
    expect(page.get_by_role("rowheader", name=name)).to_have_count(0)


@pytest.mark.parametrize("policy", ATTACKER_POLICIES)
def test_a_streamed_upload_from_another_origin_is_refused_even_with_a_stolen_token(
    production_site: ProductionSite,
    production_person: Person,
    https_browser: Any,
    attacker: AttackerSite,
    contexts: list[Any],
    policy: str,
) -> None:
    from playwright.sync_api import expect

    site = production_site
    meta, _reason = ATTACKER_POLICIES[policy]
    title = f"Document déposé par un autre site ({policy})"
    page = phone_page(https_browser, contexts, site.url)
    page.goto("/connexion")
    sign_in(page, production_person.username, production_person.passphrase, r"/documents/$")
    page.goto("/documents/ajouter")
    token = csrf_token_on(page)
    # The token first, as the vault's own form sends it, then a real PDF file.
    form = f"""<!doctype html><meta charset="utf-8">{meta}
<form id="f" method="post" enctype="multipart/form-data" action="{site.url}/documents/ajouter">
  <input type="hidden" name="csrf_token" value="{token}">
  <input type="hidden" name="title" value="{title}">
  <input type="hidden" name="category" value="identity">
  <input type="hidden" name="doc_type" value="id_card">
  <input type="file" name="file">
</form>
<script>
  const pdf = {json.dumps(pdf_bytes("piege").decode("latin-1"))};
  const bytes = Uint8Array.from(pdf, c => c.charCodeAt(0));
  const files = new DataTransfer();
  files.items.add(new File([bytes], "piege.pdf", {{type: "application/pdf"}}));
  const form = document.getElementById("f");
  form.elements.file.files = files.files;
  form.submit();
</script>"""

    response = posted_from_attacker(
        page, site, "/documents/ajouter", attacker.serve(f"/upload-{policy}", form)
    )
    assert "multipart/form-data" in response.request.all_headers()["content-type"]
    assert response.status == 400, response.status
    expect(page.get_by_role("alert")).to_contain_text(
        "Cette page a expiré. Rechargez-la et réessayez."
    )

    page.goto("/documents/")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Mes documents"))
    expect(page.get_by_text(title)).to_have_count(0)


# --- the main journeys ---------------------------------------------------------------------------


def test_accounts_upload_share_counsellor_download_and_exit_pack(
    production_site: ProductionSite,
    production_admin: Person,
    https_browser: Any,
    contexts: list[Any],
    tmp_path: Path,
) -> None:
    """An administrator opens a person's and a counsellor's accounts and assigns
    the counsellor; both activate; the person files a document on a phone and
    shares its category; the counsellor downloads it at a desk; the person
    takes the exit pack. Every form is posted over HTTPS by the browser."""
    from playwright.sync_api import expect

    site = production_site
    browser = https_browser
    findings = Findings(PRODUCTION_TARGETS)

    # --- The administrator opens both accounts and assigns the counsellor -------------
    admin = desk_page(browser, contexts, site.url)
    findings.watch(admin, "administrator")
    admin.goto("/connexion")
    sign_in(admin, production_admin.username, production_admin.passphrase, r"/admin/$")
    assert_production_cookies(admin, site)
    add_establishment(admin, findings, ESTABLISHMENT)
    counsellor_name = open_account(admin, findings, kind="counsellor", first="Sam", last="Lefèvre")
    counsellor_code = print_activation_sheet(admin, counsellor_name)
    person_name = open_account(
        admin,
        findings,
        kind="person",
        first="Inès",
        last="Moreau",
        establishment=ESTABLISHMENT,
        birth_date="1988-03-02",
        prison_number="B654321",
    )
    person_code = print_activation_sheet(admin, person_name)
    assign_counsellor(admin, findings, "Sam Lefèvre", "Inès Moreau")
    sign_out(admin, findings)

    # --- Both activate ------------------------------------------------------------------
    desk = desk_page(browser, contexts, site.url)
    findings.watch(desk, "counsellor")
    activate(
        desk, findings, counsellor_name, counsellor_code, "le bureau du SPIP au calme", r"/suivi/$"
    )
    phone = phone_page(browser, contexts, site.url)
    findings.watch(phone, "person")
    activate(phone, findings, person_name, person_code, "le jardin sous la neige", r"/documents/$")
    assert_production_cookies(phone, site)

    # --- The person files a document (streamed upload), sees its preview, gets it back --
    content = pdf_bytes("Ines Moreau, carte Vitale")
    document_path = upload_document(
        phone,
        findings,
        title="Carte Vitale",
        category="Santé",
        doc_type="social_security_card",
        content=content,
        filename="vitale.pdf",
    )
    # Page 1 of the document, drawn by the server (D-100): "Page 1 sur 1".
    preview = phone.get_by_role("img", name="Page 1 sur 1")
    preview.scroll_into_view_if_needed()
    phone.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=preview.element_handle()
    )
    assert download_from(phone) == ("Carte Vitale.pdf", content)

    # --- Shares the category with the counsellor ----------------------------------------
    share_category(phone, findings, "Santé", "Sam Lefèvre")

    # --- The counsellor opens and downloads it -------------------------------------------
    desk.reload()
    desk.get_by_role("link", name="Inès Moreau").click()
    desk.wait_for_url(re.compile(rf"/suivi/{UUID}/$"))
    desk.get_by_role("link", name=re.compile("Carte Vitale")).click()
    desk.wait_for_url(re.compile(rf"/suivi/{UUID}/documents/{UUID}$"))
    expect(desk.get_by_text("Inès Moreau partage ce document avec vous.")).to_be_visible()
    assert download_from(desk) == ("Carte Vitale.pdf", content)

    # --- The person searches, and sends the document to an employer with a code ---------
    phone.goto("/documents/")
    phone.locator("#q").fill(SEARCHED)
    phone.get_by_role("button", name="Chercher").click()
    expect(phone.get_by_role("link", name=re.compile("Carte Vitale"))).to_be_visible()
    phone.goto(document_path)
    phone.get_by_role("link", name="Envoyer à un employeur, un avocat...").click()
    phone.get_by_label("Code pour ouvrir le lien (facultatif)").fill("482916")
    phone.get_by_role("button", name="Faire le lien").click()
    link_url = phone.locator("#link-url").input_value()
    token = link_url.rsplit("/", 1)[1]
    assert link_url == f"{site.url}/lien/{token}", link_url
    phone.get_by_role("button", name="J'ai noté l'adresse").click()
    # Detained: the counsellor approves the link (the establishment's default rule).
    desk.goto("/suivi/liens")
    desk.get_by_role("button", name="Approuver").click()
    desk.wait_for_url(re.compile(r"/suivi/liens$"))
    # The employer opens it in a browser of their own, with the code given apart.
    employer = desk_page(browser, contexts, site.url)
    employer.goto(link_url)
    employer.get_by_label("Code").fill("482916")
    with employer.expect_download() as started:
        employer.get_by_role("button", name="Télécharger").click()
    assert Path(started.value.path()).read_bytes() == content

    # --- The person takes the exit pack ---------------------------------------------------
    phone.goto("/export/")
    expect(phone.get_by_text("Votre coffre contient 1 document.")).to_be_visible()
    pack = export_pack(phone, findings, "le jardin sous la neige", tmp_path)
    with zipfile.ZipFile(pack) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["person"]["username"] == person_name, manifest["person"]
        [entry] = manifest["files"]
        assert document_path.endswith(entry["document_id"]), (document_path, entry)
        assert archive.read(entry["path"]) == content

    assert findings.problems == [], "\n".join(findings.problems)

    # No server's log, nginx's included, holds the link's token or the search text;
    # gunicorn's access log did record the link's requests, with the token hidden.
    logs = site.logs(limit=None)
    assert "/lien/<hidden>" in logs
    assert token not in logs
    assert SEARCHED not in logs
