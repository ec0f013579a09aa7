"""Every code and date a person types takes Arabic-Indic and Eastern Arabic-Indic digits.

One normaliser (vault.core.digits), applied at each intake: the activation
code, the recovery code, the code of an external link (made and opened), the
dates typed in forms and in the streamed upload form, and the intake CSV.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from crypto.recovery import format_recovery_code
from tests.factories import csrf_token, make_account, make_document, open_pending
from vault.core.db import db_session
from vault.core.digits import ascii_digits
from vault.core.extensions import get_keyring
from vault.core.forms import ActivationForm, DocumentDetailsForm, NewAccountForm
from vault.documents.intake import details_data
from vault.documents.service import Unlocked
from vault.intake.csvfile import _date
from vault.lifecycle.forms import ReleaseForm
from vault.models import User
from vault.recovery.forms import IdentityCheckForm, RecoveryForm
from vault.sharing import links
from vault.sharing.forms import LinkForm, OpenLinkForm

ARABIC_INDIC = "٠١٢٣٤٥٦٧٨٩"  # U+0660-0669
EASTERN = "۰۱۲۳۴۵۶۷۸۹"  # U+06F0-06F9


def arabic(text: str, digits: str = ARABIC_INDIC) -> str:
    return text.translate({ord(str(d)): digits[d] for d in range(10)})


def test_the_normaliser_maps_both_digit_sets_and_nothing_else() -> None:
    assert ascii_digits(ARABIC_INDIC) == "0123456789"
    assert ascii_digits(EASTERN) == "0123456789"
    assert ascii_digits("١٢ ۳۴-56 abc é") == "12 34-56 abc é"
    assert ascii_digits("²½") == "²½"  # not decimal digits: left for the field to refuse
    assert ascii_digits(None) is None and ascii_digits(12) == 12


def form(app: Flask, form_class: type, data: dict[str, str], *, validate: bool = False):  # type: ignore[no-untyped-def]
    """`form_class` given `data` as a browser posts it (validated when asked)."""
    with app.test_request_context(method="POST", data=data):
        made = form_class(MultiDict(data), meta={"csrf": False})
        if validate:
            made.validate()
        return made


@pytest.mark.parametrize("digits", [ARABIC_INDIC, EASTERN])
def test_activation_code_in_arabic_digits_activates(app: Flask, digits: str) -> None:
    new = open_pending(app)
    client = app.test_client()
    response = client.post(
        "/activer",
        data={
            "username": new.user.username,
            "code": arabic(new.activation_code, digits),
            "csrf_token": csrf_token(client, "/activer"),
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/activer/phrase-secrete")
    assert form(app, ActivationForm, {"username": "a", "code": arabic("1234")}).code.data == "1234"


@pytest.mark.parametrize("digits", [ARABIC_INDIC, EASTERN])
def test_recovery_code_field_takes_arabic_digits(app: Flask, digits: str) -> None:
    account = make_account(app)
    typed = arabic(format_recovery_code(account.recovery_code), digits)
    made = form(app, RecoveryForm, {"username": account.username, "code": typed})
    assert made.code.data == format_recovery_code(account.recovery_code)


def test_link_code_made_and_opened_with_arabic_digits(app: Flask) -> None:
    made = form(
        app, LinkForm, {"days": "7", "pin": arabic("4821"), "understood": "y"}, validate=True
    )
    assert made.pin.data == "4821" and "pin" not in made.errors
    opened = form(app, OpenLinkForm, {"pin": arabic("4821", EASTERN)})
    assert opened.pin.data == "4821"


def test_a_link_opens_with_its_code_typed_in_eastern_digits(app: Flask) -> None:
    owner = make_account(app)
    document = make_document(app, owner)
    with app.app_context():
        db = db_session()
        person = db.get(User, owner.user.id)
        assert person is not None
        _link, token = links.create_link(
            db,
            get_keyring(),
            Unlocked(person, owner.key),
            document.id,
            recipient="employer",
            days=7,
            pin="4821",
        )
        db.commit()
    client = app.test_client()
    page = f"/lien/{token}"
    response = client.post(
        page, data={"pin": arabic("4821", EASTERN), "csrf_token": csrf_token(client, page)}
    )
    # The document itself, not the page saying the code is wrong (403).
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"


@pytest.mark.parametrize("digits", [ARABIC_INDIC, EASTERN])
def test_typed_dates_take_arabic_digits(app: Flask, digits: str) -> None:
    expiry = form(app, DocumentDetailsForm, {"expiry_date": arabic("2031-05-14", digits)})
    assert expiry.expiry_date.data == date(2031, 5, 14)
    born = form(app, NewAccountForm, {"birth_date": arabic("1990-02-03", digits)})
    assert born.birth_date.data == date(1990, 2, 3)
    released = form(app, ReleaseForm, {"released_on": arabic("2026-03-14", digits)})
    assert released.released_on.data == date(2026, 3, 14)
    yesterday = date.today() - timedelta(days=1)
    typed = {"document": "passport", "seen_on": arabic(yesterday.isoformat(), digits)}
    seen = form(app, IdentityCheckForm, typed, validate=True)
    assert seen.seen_on.data == yesterday and "seen_on" not in seen.errors
    # The upload form is read as a stream, not by WTForms.
    assert details_data({"expiry_date": arabic("2031-05-14", digits)})["expiry_date"] == date(
        2031, 5, 14
    )
    # An intake CSV from a spreadsheet set to Arabic.
    assert _date(arabic("14/03/1990", digits)) == date(1990, 3, 14)
