"""Steps of the browser journeys, shared by the tests on the embedded server
(test_journey, test_sharing_journey, test_release_day) and on the app as in
production (test_production): one way to open an account, activate it, file,
share, download and export, whatever server serves the pages.

Each step is a hard assertion on what the page does (the next step cannot run
otherwise). What a person would notice without being stopped (console errors
and CSP violations, side-scrolling on the phone, small touch targets, missing
confirmation messages) goes to a `Findings`, asserted at the end of a test so
that one run reports every such problem at once.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.helpers import pdf_text

# WCAG 2.4.13 (and 1.4.11): a focus indicator contrasts 3:1 with what surrounds it.
MIN_FOCUS_CONTRAST = 3.0

# The two screens of issue 13: a kiosk in detention and a phone outside.
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 1024}
KIOSK = DESK
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

# Focuses the first visible control of each kind and reads its focus ring and the
# colour behind it (the first ancestor with an opaque background, else white).
FOCUS_RING_JS = """() => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const behind = el => {
    for (let e = el.parentElement; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const seen = [];
  for (const selector of ['main a[href]', 'main button', 'main input:not([type=hidden])',
                          'main select', 'header a[href]', 'header button']) {
    // The first that takes focus: a control in a closed <details> has boxes
    // (content-visibility) but cannot be focused, so shows no ring to check.
    const el = [...document.querySelectorAll(selector)].find(e => {
      if (!e.getClientRects().length) return false;
      e.focus();
      return document.activeElement === e;
    });
    if (!el) continue;
    const style = getComputedStyle(el);
    seen.push([selector, style.outlineStyle, parseFloat(style.outlineWidth),
               rgb(style.outlineColor).slice(0, 3), behind(el)]);
    el.blur();
  }
  return seen;
}"""


class Findings:
    """What the person would notice, gathered along the journey."""

    def __init__(self, targets: str = TARGETS) -> None:
        self.problems: list[str] = []
        self.targets = targets

    def watch(self, page: Any, who: str) -> None:
        """Console errors (CSP violations are reported there) and uncaught exceptions."""

        def on_console(message: Any) -> None:
            if message.type == "error" and not self.expected(message):
                where = message.location.get("url", "")
                self.problems.append(
                    f"{who}: console error on {path_of(page)}: {message.text} ({where})"
                )

        page.on("console", on_console)
        page.on("pageerror", lambda e: self.problems.append(f"{who}: uncaught error: {e}"))

    def expected(self, message: Any) -> bool:
        """A console error the test means to cause (a refused page, for instance)."""
        return False

    def fits(self, page: Any, width: int) -> None:
        """No side-scrolling: nothing wider than the screen."""
        page.wait_for_load_state("load")  # measured with the stylesheet (touch_targets)
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > width:
            wide = page.evaluate(WIDE_ELEMENTS_JS, width)
            self.problems.append(
                f"{path_of(page)} is {scroll_width}px wide on a {width}px screen: {wide}"
            )

    def touch_targets(self, page: Any) -> None:
        """Every visible button, and link drawn as one, in the main content is big enough."""
        # Once the stylesheet is in: a heading is visible as soon as the HTML
        # is parsed, and measured before the CSS a button has the browser's
        # default size (seen with the suite in parallel processes, D-205).
        page.wait_for_load_state("load")
        small = page.evaluate(SMALL_TARGETS_JS, [self.targets, MIN_TARGET_PX])
        if small:
            self.problems.append(
                f"touch targets under {MIN_TARGET_PX}px on {path_of(page)}: {small}"
            )

    def accessible(self, page: Any) -> None:
        """axe-core finds no serious or critical problem, and every kind of control
        shows a focus ring that contrasts 3:1 with the colour behind it."""
        from axe_playwright_python.sync_playwright import Axe

        violations = Axe().run(page).response["violations"]
        for violation in violations:
            if violation["impact"] in ("serious", "critical"):
                nodes = [node["target"] for node in violation["nodes"][:3]]
                self.problems.append(f"axe {violation['id']} on {path_of(page)}: {nodes}")
        for selector, style, width, ring, behind in page.evaluate(FOCUS_RING_JS):
            ratio = contrast(ring, behind)
            if style == "none" or width < 2 or ratio < MIN_FOCUS_CONTRAST:
                self.problems.append(
                    f"focus ring of {selector} on {path_of(page)}: {style} {width}px, "
                    f"contrast {ratio:.2f}:1"
                )

    def audit(self, page: Any) -> None:
        """Everything a page owes every person, at the size it is seen."""
        width = page.viewport_size["width"]
        self.fits(page, width)
        self.touch_targets(page)
        self.accessible(page)

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


def contrast(first: list[float], second: list[float]) -> float:
    """WCAG contrast ratio of two sRGB colours given as 0-255 triples."""

    def luminance(rgb: list[float]) -> float:
        def channel(value: float) -> float:
            c = value / 255
            return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = (channel(v) for v in rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def new_page(browser: Any, contexts: list[Any], base_url: str, **options: Any) -> Any:
    context = browser.new_context(
        base_url=base_url, locale="fr-FR", accept_downloads=True, **options
    )
    contexts.append(context)
    # Generous: two shared cores, and Argon2id at its production cost on the
    # production server. Waiting is on events, never on sleeps.
    context.set_default_timeout(30_000)
    return context.new_page()


def phone_page(browser: Any, contexts: list[Any], base_url: str) -> Any:
    return new_page(browser, contexts, base_url, viewport=PHONE, is_mobile=True, has_touch=True)


def desk_page(browser: Any, contexts: list[Any], base_url: str) -> Any:
    return new_page(browser, contexts, base_url, viewport=DESK)


def path_of(page: Any) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url)


def activation_code_from(pdf: bytes) -> str:
    """The activation code printed on the sheet ("4821 0937 5521 8830")."""
    text = pdf_text(pdf).replace("\u00a0", " ")
    _label, found, after = text.partition("code d'activation")
    match = re.search(r"\b\d{4}(?: ?\d{4}){3}\b", after)
    assert found and match, f"no activation code on the sheet:\n{text}"
    return match.group(0)


# --- signing in and out ------------------------------------------------------------------


def fill_sign_in(page: Any, username: str, passphrase: str) -> None:
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Phrase secrète").fill(passphrase)


def sign_in(page: Any, username: str, passphrase: str, home: str) -> None:
    """On the sign-in page: signs in and lands on the role's home (a URL pattern)."""
    fill_sign_in(page, username, passphrase)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(home))


def sign_out(page: Any, findings: Findings | None = None) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(re.compile(r"/connexion$"))
    if findings is not None:
        findings.notice(page, "Déconnexion réussie.")


# --- an administrator at a desk --------------------------------------------------------


def add_establishment(admin: Any, findings: Findings, name: str) -> None:
    from playwright.sync_api import expect

    admin.get_by_role("link", name="Établissements").first.click()
    admin.wait_for_url(re.compile(r"/admin/etablissements$"))
    admin.get_by_label("Nom de l'établissement").fill(name)
    admin.get_by_role("button", name="Ajouter").click()
    expect(admin.get_by_role("rowheader", name=name)).to_be_visible()
    findings.notice(admin, name)


def open_account(
    admin: Any,
    findings: Findings,
    *,
    kind: str,
    first: str,
    last: str,
    establishment: str | None = None,
    birth_date: str | None = None,
    prison_number: str | None = None,
) -> str:
    """Opens an account (`kind`: person, counsellor...) and stays on its page; its username."""
    from playwright.sync_api import expect

    admin.get_by_role("link", name="Ouvrir un compte").first.click()
    admin.wait_for_url(re.compile(r"/admin/comptes/nouveau$"))
    admin.get_by_label("Type de compte").select_option(kind)
    admin.get_by_label("Prénom").fill(first)
    admin.get_by_label("Nom", exact=True).fill(last)
    if establishment is not None:
        admin.get_by_label("Établissement", exact=True).select_option(label=establishment)
    if birth_date is not None:
        admin.get_by_label("Date de naissance").fill(birth_date)
    if prison_number is not None:
        admin.get_by_label("Numéro d'écrou").fill(prison_number)
    admin.get_by_role("button", name="Ouvrir le compte").click()
    admin.wait_for_url(re.compile(rf"/admin/comptes/{UUID}$"))
    expect(admin.get_by_role("heading", level=1)).to_have_text(re.compile(f"{first} {last}"))
    findings.notice(admin, f"Le compte de {first} {last} est ouvert.")
    findings.fits(admin, DESK["width"])
    return str(admin.locator("dt:has-text('Identifiant') + dd").inner_text().strip())


def print_activation_sheet(admin: Any, username: str) -> str:
    """On an account's page: downloads the activation sheet; the code printed on it."""
    with admin.expect_download() as sheet_download:
        admin.get_by_role("link", name="Imprimer la feuille d'activation").click()
    sheet = sheet_download.value
    assert sheet.suggested_filename == f"feuille-activation-{username}.pdf"
    sheet_pdf = Path(sheet.path()).read_bytes()
    assert sheet_pdf.startswith(b"%PDF-")
    assert username in pdf_text(sheet_pdf)
    return activation_code_from(sheet_pdf)


def assign_counsellor(admin: Any, findings: Findings, counsellor: str, person: str) -> None:
    """On a person's account page: assigns the counsellor named `counsellor`."""
    admin.get_by_role("checkbox", name=counsellor).check()
    admin.get_by_role("button", name="Attribuer").click()
    admin.wait_for_url(re.compile(rf"/admin/comptes/{UUID}$"))
    findings.notice(admin, f"1 conseiller suit maintenant {person}.")


# --- anyone activating an account -------------------------------------------------------


def activate(
    page: Any, findings: Findings, username: str, code: str, passphrase: str, home: str
) -> None:
    """From /activer to the role's home (a URL pattern), on the page's screen."""
    from playwright.sync_api import expect

    on_phone = page.viewport_size["width"] <= PHONE["width"]
    check = findings.phone_page if on_phone else (lambda p: findings.fits(p, DESK["width"]))
    page.goto("/activer")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Activer mon coffre"))
    check(page)
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Code d'activation").fill(code)
    page.get_by_role("button", name="Continuer").click()

    page.wait_for_url(re.compile(r"/activer/phrase-secrete$"))
    check(page)
    page.get_by_label("Votre phrase secrète").fill(passphrase)
    page.get_by_label("Tapez-la encore une fois").fill(passphrase)
    page.get_by_role("button", name="Enregistrer ma phrase secrète").click()

    page.wait_for_url(re.compile(r"/activer/feuille-de-secours$"))
    expect(page.get_by_label("Code de secours")).to_have_text(re.compile(r"\d{4}"))
    check(page)
    page.get_by_role("button", name="J'ai gardé ma feuille de secours").click()

    page.wait_for_url(re.compile(home))
    findings.notice(page, "Votre coffre est prêt.")
    check(page)


# --- a person on a phone ---------------------------------------------------------------


def upload_document(
    phone: Any,
    findings: Findings,
    *,
    title: str,
    category: str,
    doc_type: str,
    content: bytes,
    filename: str = "document.pdf",
) -> str:
    """From the list, files a PDF with upload.js; lands on the document's page (its path)."""
    from playwright.sync_api import expect

    phone.get_by_role("link", name="Ajouter un document").click()
    phone.wait_for_url(re.compile(r"/documents/ajouter$"))
    findings.phone_page(phone)
    phone.get_by_label("Titre").fill(title)
    phone.get_by_role("radio", name=category).check()
    phone.get_by_label("Type de document").select_option(doc_type)
    phone.get_by_label("Choisir un fichier").set_input_files(
        {"name": filename, "mimeType": "application/pdf", "buffer": content}
    )
    with phone.expect_request(
        lambda r: r.method == "POST" and r.url.endswith("/documents/ajouter")
    ) as upload_request:
        phone.get_by_role("button", name="Ajouter à mon coffre").click()
    assert upload_request.value.resource_type == "xhr", "the form was posted without upload.js"

    phone.wait_for_url(re.compile(rf"/documents/{UUID}$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text(title)
    findings.notice(phone, "Votre document est enregistré dans votre coffre.")
    findings.phone_page(phone)
    return path_of(phone)


def download_from(page: Any, link_name: str = "Télécharger") -> tuple[str, bytes]:
    """Clicks the download link; the suggested file name and the bytes received."""
    with page.expect_download() as started:
        page.get_by_role("link", name=link_name).click()
    download = started.value
    assert download.failure() is None, download.failure()
    return download.suggested_filename, Path(download.path()).read_bytes()


def share_category(phone: Any, findings: Findings, category: str, counsellor: str) -> None:
    """From any page: shares `category` with the person's only counsellor, for 3 months."""
    from playwright.sync_api import expect

    phone.get_by_role("link", name="Partages").click()
    phone.wait_for_url(re.compile(r"/partages/$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text(re.compile("Ce que je partage"))
    findings.phone_page(phone)

    phone.get_by_role("link", name="Partager toute une catégorie").click()
    phone.wait_for_url(re.compile(r"/partages/categorie$"))
    findings.phone_page(phone)
    phone.get_by_role("radio", name=category).check()
    # Their only counsellor is chosen already; three months is the default.
    expect(phone.get_by_role("radio", name=counsellor)).to_be_checked()
    expect(phone.get_by_role("radio", name="3 mois (90 jours)")).to_be_checked()
    phone.get_by_role("button", name="Partager cette catégorie").click()

    phone.wait_for_url(re.compile(r"/partages/$"))
    findings.notice(phone, "La catégorie est partagée, avec les documents que vous y ajouterez")
    share = phone.locator("#shares li").filter(has_text=f"Catégorie : {category}")
    expect(share).to_have_count(1)
    expect(share).to_contain_text(f"Avec {counsellor}")
    expect(share).to_contain_text("jusqu'au")
    findings.phone_page(phone)


def export_pack(phone: Any, findings: Findings, passphrase: str, directory: Path) -> Path:
    """From /export/: confirms the secret phrase and saves the exit pack into `directory`."""
    from playwright.sync_api import expect

    expect(phone.get_by_role("heading", level=1)).to_have_text(
        re.compile("Emporter tous mes papiers")
    )
    findings.phone_page(phone)
    phone.get_by_label("Votre phrase secrète").fill(passphrase)
    with phone.expect_download(timeout=60_000) as pack_download:
        phone.get_by_role("button", name="Télécharger mon coffre").click()
    download = pack_download.value
    assert download.failure() is None, download.failure()
    assert re.fullmatch(r"coffre-\d{4}-\d{2}-\d{2}\.zip", download.suggested_filename), (
        download.suggested_filename
    )
    pack = directory / download.suggested_filename
    download.save_as(pack)
    findings.phone_page(phone)
    return pack
