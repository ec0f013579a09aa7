"""The home page as a person sees it, on a kiosk screen and on a phone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.steps import DESK, PHONE, Findings


@pytest.mark.browser
@pytest.mark.parametrize("viewport", [DESK, PHONE], ids=["kiosk", "phone"])
def test_home_page_in_a_real_browser(
    browser: Any, live_server: str, viewport: dict[str, int]
) -> None:
    width, height = viewport["width"], viewport["height"]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="fr-FR")
    page = context.new_page()
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    try:
        response = page.goto(live_server + "/")
        assert response is not None and response.status == 200
        assert page.locator("html").get_attribute("lang") == "fr"
        assert page.locator("h1").inner_text() == "Vos papiers en sécurité, où que vous soyez"
        # The stylesheet loaded under the strict CSP (no violation reported).
        background = page.locator(".site-header").evaluate(
            "el => getComputedStyle(el).backgroundColor"
        )
        assert background == "rgb(31, 78, 153)"
        # Two ways in, large enough for a finger (44 px at least), each one tap away.
        for name in ("Ouvrir mon coffre", "Première fois ? Activer mon coffre"):
            box = page.get_by_role("link", name=name).bounding_box()
            assert box is not None and box["height"] >= 44 and box["width"] >= 44, name
        page.get_by_role("link", name="Première fois ? Activer mon coffre").click()
        page.wait_for_url(live_server + "/activer")
        page.go_back()
        page.get_by_role("link", name="Ouvrir mon coffre").click()
        page.wait_for_url(live_server + "/connexion")
        page.go_back()
        # axe-core in the page as the person sees it (no serious or critical
        # problem), a focus ring that shows, nothing wider than the screen.
        findings = Findings()
        findings.audit(page)
        assert findings.problems == []
        # Nothing wider than the screen: readable on a phone without side-scrolling.
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width
        assert console_errors == []
    finally:
        context.close()
