"""Dates in words on the person's pages (issue 13, item 7): "30 juin 2031", never "2031-06-30".

Every page of the person's journey that shows a date is visited with data
that makes it show one (an expiry date, a share, a request, an external link,
the journal), and the text people see is searched for an ISO date. Attribute
values are left out: `<time datetime="…">` and a date input's value are ISO by
the HTML standard, and nobody reads them.
"""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask

from tests.clock import local_today
from tests.factories import make_account, make_document, signed_in
from tests.helpers import post, text_of, user
from vault.core.db import db_session
from vault.core.extensions import get_keyring
from vault.documents.service import Unlocked
from vault.models import Document, Role
from vault.sharing import service as sharing

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
IN_WORDS = re.compile(r"\b\d{{1,2}} ({}) \d{{4}}\b".format("|".join(MONTHS)))


def shown_text(html: str) -> str:
    """What a reader sees: the page without its tags (so without attribute values)."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body)


def test_person_pages_say_dates_in_words(app: Flask) -> None:
    person = make_account(app, first="Alice", last="Arnaud")
    counsellor = make_account(app, Role.COUNSELLOR, first="Claire", last="Conseil")
    admin = make_account(app, Role.ADMINISTRATOR, first="Ada", last="Admin")
    expiry = local_today() + timedelta(days=60)
    card = make_document(app, person, expiry_date=expiry)
    with app.app_context():
        db = db_session()
        sharing.assign(db, user(person), user(counsellor), by=user(admin))
        document = db.get(Document, card.id)
        assert document is not None
        sharing.share_document(
            db,
            get_keyring(),
            Unlocked(user(person), person.key),
            document,
            counsellor.user.id,
            days=30,
        )
        sharing.request_document(db, user(counsellor), user(person), "bank_details", "Pour la CAF")
        db.commit()
    client = signed_in(app, person)
    made = post(client, f"/liens/nouveau/{card.id}", {"recipient": "employer", "days": "7"})
    assert made.status_code == 302
    pages = [
        "/documents/",
        f"/documents/{card.id}",
        "/ma-sortie",
        "/partages/",
        f"/partages/document/{card.id}",
        "/demandes/",
        "/liens/",
        made.headers["Location"],
        "/journal/",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        text = shown_text(text_of(response))
        assert IN_WORDS.search(text), f"{path} shows no date: the check would prove nothing"
        assert not ISO_DATE.search(text), (path, ISO_DATE.search(text))
    # The expiry date, as the counsellor's pages already said it.
    words = f"{expiry.day} {MONTHS[expiry.month - 1]} {expiry.year}"
    for path in ("/documents/", f"/documents/{card.id}", "/ma-sortie"):
        assert words in shown_text(text_of(client.get(path))), path
