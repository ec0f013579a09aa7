"""Weak or personal passphrases are refused wherever one is chosen (issue 11).

Strength is estimated by zxcvbn with the person's own names, username, date of
birth and prison number as context. Refusals come back as plain French next
to the suggestion, and nothing is changed.
"""

from __future__ import annotations

import html
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import PASSPHRASE, csrf_token, make_account, open_pending, signed_in
from tests.integration.recovery.test_recovery import CHOOSE, ask, assign
from vault.models import Role

# Made of the person's own names, birth date and prison number: no 8-character
# or blocklist rule catches them, but anyone who knows the person could.
PERSONAL = ["martin camille 1985", "A123456 12031985"]
WEAK = ["bonjour bonjour", "soleil soleil soleil"]
STRONG = "girafe tambour citron"

PERSONAL_TEXT = "votre nom"
WEAK_TEXT = "trop facile à deviner"

PROFILE = {"birth_date": date(1985, 3, 12), "prison_number": "A123456"}


def choose(client: FlaskClient, path: str, passphrase: str, **extra: str) -> tuple[int, str]:
    response = client.post(
        path,
        data={
            **extra,
            "passphrase": passphrase,
            "confirm": passphrase,
            "csrf_token": csrf_token(client, path),
        },
    )
    return response.status_code, html.unescape(response.get_data(as_text=True))


def refused_next_to_the_suggestion(status: int, page: str, text: str) -> bool:
    suggestion = page.find('id="suggestion"')
    return status == 400 and text in page and 0 <= suggestion < page.find(text)


def check_every_choice(client: FlaskClient, path: str, **extra: str) -> None:
    for passphrase in PERSONAL:
        status, page = choose(client, path, passphrase, **extra)
        assert refused_next_to_the_suggestion(status, page, PERSONAL_TEXT), passphrase
    for passphrase in WEAK:
        status, page = choose(client, path, passphrase, **extra)
        assert refused_next_to_the_suggestion(status, page, WEAK_TEXT), passphrase
    status, _page = choose(client, path, STRONG, **extra)
    assert status == 302


@pytest.mark.parametrize("role", [Role.PERSON, Role.COUNSELLOR])
def test_activation_refuses_weak_and_personal_passphrases(app: Flask, role: Role) -> None:
    profile = PROFILE if role == Role.PERSON else {}
    new = open_pending(app, role, "Camille", "Martin", **profile)
    client = app.test_client()
    code = {"username": new.user.username, "code": new.activation_code}
    assert client.post("/activer", data={**code, "csrf_token": csrf_token(client, "/activer")})
    if role == Role.PERSON:
        check_every_choice(client, "/activer/phrase-secrete")
    else:
        status, page = choose(client, "/activer/phrase-secrete", "martin camille 2026")
        assert refused_next_to_the_suggestion(status, page, PERSONAL_TEXT)
        assert choose(client, "/activer/phrase-secrete", STRONG)[0] == 302


def test_a_change_refuses_weak_and_personal_passphrases(app: Flask) -> None:
    person = make_account(app, first="Camille", last="Martin", **PROFILE)
    client = signed_in(app, person)
    check_every_choice(client, "/compte/phrase-secrete", current=PASSPHRASE)


def test_recovery_refuses_weak_and_personal_passphrases(app: Flask) -> None:
    person = make_account(app, first="Camille", last="Martin", **PROFILE)
    counsellor = make_account(app, Role.COUNSELLOR, "Claire", "Conseil")
    assign(app, person, counsellor)
    anonymous = app.test_client()
    ask(anonymous, person)
    staff = signed_in(app, counsellor)
    from tests.integration.recovery.test_recovery import requests_of

    [request] = requests_of(app, person)
    approvals = "/recuperation/approbations"
    staff.post(
        f"{approvals}/{request.id}/approuver", data={"csrf_token": csrf_token(staff, approvals)}
    )
    assert ask(anonymous, person).status_code == 302
    check_every_choice(anonymous, CHOOSE)
