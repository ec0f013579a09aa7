"""The language switcher in a real Chromium, on a kiosk screen and on a phone.

Before sign-in the switcher changes the page's language (no script needed:
a form in a disclosure); at sign-in the choice goes to the account; after
sign-in a new choice is stored there and follows the person to another
device. The words read are English (the source language, which its
catalogue repeats) and `<html lang dir>`: the test holds whatever the other
catalogues say.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from tests.browser.steps import (
    DESK,
    MIN_TARGET_PX,
    PHONE,
    Findings,
    fill_sign_in,
    new_page,
)
from tests.factories import make_account
from vault.core.db import db_session
from vault.models import User


def html_lang(page: Any) -> tuple[str | None, str | None]:
    html = page.locator("html")
    return html.get_attribute("lang"), html.get_attribute("dir")


def switch(
    page: Any, findings: Findings, current: str, choice: str, *, keyboard: bool = False
) -> None:
    """Open the switcher (the globe and the current language's name), check it, choose.

    With `keyboard`, by focus and Enter rather than a tap. The open list is
    audited either way (it fits the screen, axe finds nothing serious), in
    the right-to-left layout too.
    """
    summary = page.locator("header .language-switcher summary")
    assert summary.locator("span[lang]").inner_text() == current
    box = summary.bounding_box()
    assert box is not None and box["height"] >= MIN_TARGET_PX and box["width"] >= MIN_TARGET_PX
    if keyboard:
        summary.focus()
        page.keyboard.press("Enter")
    else:
        summary.click()
    button = page.locator(f'header .language-list button[name="lang"]:text-is("{choice}")')
    button.wait_for()
    for other in page.locator("header .language-list button").all():
        other_box = other.bounding_box()
        assert other_box is not None and other_box["height"] >= MIN_TARGET_PX
        assert other.get_attribute("lang") and other.get_attribute("dir")
    findings.audit(page)
    with page.expect_navigation():
        if keyboard:
            button.focus()
            page.keyboard.press("Enter")
        else:
            button.click()


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [DESK, PHONE], ids=["kiosk", "phone"])
def test_the_switcher_before_and_after_sign_in(
    browser: Any, contexts: list[Any], live_server: str, live_app: Flask, viewport: dict[str, int]
) -> None:
    account = make_account(live_app, first="Lina", last=f"Langue{viewport['width']}")
    findings = Findings()
    options = {"viewport": viewport}
    if viewport is PHONE:
        options |= {"is_mobile": True, "has_touch": True}
    page = new_page(browser, contexts, live_server, **options)
    findings.watch(page, "person")

    page.goto("/connexion")
    assert html_lang(page) == ("fr", "ltr")
    findings.audit(page)
    switch(page, findings, "Français", "العربية")
    assert re.search(r"/connexion$", page.url)
    assert html_lang(page) == ("ar", "rtl")
    findings.audit(page)
    switch(page, findings, "العربية", "English", keyboard=True)
    assert html_lang(page) == ("en", "ltr")
    assert page.get_by_role("button", name="Sign in").is_visible()

    # Signing in gives the account the device's choice.
    page.get_by_label("Username").fill(account.username)
    page.get_by_label("Secret phrase").fill(account.passphrase)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/documents/$"))
    assert html_lang(page) == ("en", "ltr")
    assert stored_locale(live_app, account.user.id) == "en"

    # Signed in: a new choice goes to the account and the same page comes back.
    switch(page, findings, "English", "Русский")
    assert re.search(r"/documents/$", page.url)
    assert html_lang(page) == ("ru", "ltr")
    findings.audit(page)
    assert stored_locale(live_app, account.user.id) == "ru"

    # Another device, in French, with no choice of its own: French until the
    # person signs in, then their language.
    other = new_page(browser, contexts, live_server, **options)
    findings.watch(other, "other device")
    other.goto("/connexion")
    assert html_lang(other) == ("fr", "ltr")
    fill_sign_in(other, account.username, account.passphrase)
    other.get_by_role("button", name="Se connecter").click()
    other.wait_for_url(re.compile(r"/documents/$"))
    assert html_lang(other) == ("ru", "ltr")
    assert findings.problems == []


@pytest.mark.browser
def test_accept_language_is_the_first_guess(
    browser: Any, contexts: list[Any], live_server: str
) -> None:
    """A browser set to Arabic gets the pages in Arabic, right to left, before any choice."""
    context = browser.new_context(base_url=live_server, locale="ar", viewport=PHONE)
    contexts.append(context)
    page = context.new_page()
    page.goto("/")
    assert html_lang(page) == ("ar", "rtl")
    assert page.locator("header .language-switcher summary span[lang]").inner_text() == "العربية"


def stored_locale(app: Flask, user_id: object) -> str | None:
    with app.app_context():
        user = db_session().get(User, user_id)
        assert user is not None
        return user.locale
