"""The pages where a new secret phrase is chosen (issue 13, finding 8), on the HTML.

The typed phrase comes back after a mismatch or a refused phrase, in the new
phrase's two fields only; the current phrase and the sign-in's never do. The
show/hide toggle and "Use this idea" are buttons hidden until the page's
script runs (tests/browser/test_passphrase_form.py clicks them).
"""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.factories import make_account, open_pending, signed_in
from tests.helpers import post_form, text_of

TYPED = "tortue lente sous la pluie"
OTHER = "tortue lente sous la neige"
WEAK = "azertyuiop"


def value_of(html: str, field_id: str) -> str | None:
    """The value attribute of the input with `field_id` (None when it has none)."""
    tag = re.search(rf'<input[^>]*\bid="{field_id}"[^>]*>', html)
    assert tag, f"no field {field_id}"
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return value.group(1) if value else None


def input_tag(html: str, field_id: str) -> str:
    tag = re.search(rf'<input[^>]*\bid="{field_id}"[^>]*>', html)
    assert tag, f"no field {field_id}"
    return tag.group(0)


def assert_helpers(html: str, fields: str) -> None:
    """The toggle and the suggestion button, as the script expects them."""
    reveal = re.search(r'<button[^>]*id="reveal-passphrase"[^>]*>', html)
    assert reveal, "no show/hide toggle"
    assert 'type="button"' in reveal.group(0) and 'aria-pressed="false"' in reveal.group(0)
    assert f'aria-controls="{fields}"' in reveal.group(0) and "hidden" in reveal.group(0)
    use = re.search(r'<button[^>]*id="use-suggestion"[^>]*>', html)
    assert use and 'data-fill="passphrase confirm"' in use.group(0)
    assert "Utiliser cette idée" in html and "Afficher ce que j" in html
    assert '<script src="/static/js/passphrase.js' in html
    for field_id in ("passphrase", "confirm"):
        assert 'autocomplete="new-password"' in input_tag(html, field_id)


def activating(app: Flask) -> FlaskClient:
    new = open_pending(app)
    client = app.test_client()
    response = post_form(
        client, "/activer", {"username": new.user.username, "code": new.activation_code}
    )
    assert response.status_code == 302
    return client


def test_activation_keeps_the_typed_phrase_after_a_mismatch_or_a_refusal(app: Flask) -> None:
    client = activating(app)
    page = client.get("/activer/phrase-secrete").get_data(as_text=True)
    assert value_of(page, "passphrase") in (None, "") and value_of(page, "confirm") in (None, "")
    assert_helpers(page, "passphrase confirm")

    mismatch = post_form(client, "/activer/phrase-secrete", {"passphrase": TYPED, "confirm": OTHER})
    assert mismatch.status_code == 400
    html = mismatch.get_data(as_text=True)
    assert "Les deux phrases secrètes sont différentes." in text_of(mismatch)
    assert value_of(html, "passphrase") == TYPED
    assert value_of(html, "confirm") == OTHER
    assert_helpers(html, "passphrase confirm")

    refused = post_form(client, "/activer/phrase-secrete", {"passphrase": WEAK, "confirm": WEAK})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert value_of(html, "passphrase") == WEAK and value_of(html, "confirm") == WEAK


def test_account_change_keeps_the_new_phrase_never_the_current_one(app: Flask) -> None:
    person = make_account(app)
    client = signed_in(app, person)
    assert_helpers(
        client.get("/compte/phrase-secrete").get_data(as_text=True), "current passphrase confirm"
    )
    mismatch = post_form(
        client,
        "/compte/phrase-secrete",
        {"current": person.passphrase, "passphrase": TYPED, "confirm": OTHER},
    )
    assert mismatch.status_code == 400
    html = mismatch.get_data(as_text=True)
    assert value_of(html, "passphrase") == TYPED and value_of(html, "confirm") == OTHER
    assert value_of(html, "current") in (None, "")
    assert person.passphrase not in html
    assert 'autocomplete="current-password"' in input_tag(html, "current")
    assert_helpers(html, "current passphrase confirm")


def test_sign_in_never_sends_a_phrase_back(app: Flask) -> None:
    person = make_account(app)
    client = app.test_client()
    wrong = post_form(client, "/connexion", {"username": person.username, "passphrase": TYPED})
    assert wrong.status_code in (200, 400, 401)
    html = wrong.get_data(as_text=True)
    assert TYPED not in html
    assert value_of(html, "passphrase") in (None, "")
