"""The reminders panel on the person's first screen (issue 13, item 7), on the HTML.

The clock is frozen at FROZEN (the page's day in Paris is 1 March 2030) so
that the sentences, their French dates and the day counts are exact.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask

from tests.factories import Account, make_account, make_document, signed_in
from tests.helpers import text_of
from vault.documents.views import library

FROZEN = datetime(2030, 3, 1, 10, 0, tzinfo=UTC)
TODAY = date(2030, 3, 1)
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


@pytest.fixture(autouse=True)
def frozen_day(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the page's clock: the panel's day comes from it.
    monkeypatch.setattr(library, "utcnow", lambda: FROZEN)


@pytest.fixture
def person(app: Flask) -> Account:
    return make_account(app)


def panel(html: str) -> str:
    """The reminders section of the documents page ('' when there is none)."""
    match = re.search(r'<section class="reminders".*?</section>', html, re.S)
    return match.group(0) if match else ""


def sentences(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", p).strip() for p in re.findall(r"<p>(.*?)</p>", panel(html), re.S)]


def test_an_id_card_expiring_in_60_days_shows_on_the_first_screen(
    app: Flask, person: Account
) -> None:
    card = make_document(app, person, expiry_date=TODAY + timedelta(days=60))
    client = signed_in(app, person)
    html = text_of(client.get("/documents/"))
    assert "Carte d'identité : valable jusqu'au 30 avril 2030, dans 60 jours." in sentences(html)
    # One tap to replace that very paper.
    assert f'href="/documents/{card.id}/remplacer"' in panel(html)
    assert "Remplacer" in panel(html)
    # The list says the date in words too, never 2030-04-30.
    assert "expire le 30 avril 2030" in html
    assert not ISO_DATE.search(html)


def test_expired_and_expiring_papers_first_papers_far_from_expiry_not_at_all(
    app: Flask, person: Account
) -> None:
    make_document(
        app,
        person,
        title="Passeport",
        doc_type="passport",
        expiry_date=TODAY - timedelta(days=3),
    )
    make_document(
        app,
        person,
        title="RIB",
        category="benefits",
        doc_type="bank_details",
        expiry_date=TODAY,
    )
    make_document(
        app,
        person,
        title="Titre de séjour",
        doc_type="residence_permit",
        expiry_date=TODAY + timedelta(days=91),
    )
    html = text_of(signed_in(app, person).get("/documents/"))
    said = sentences(html)
    assert said[0] == "Passeport : plus valable depuis le 26 février 2030."
    assert said[1] == "RIB (relevé d'identité bancaire) : valable jusqu'à aujourd'hui, 1 mars 2030."
    # 91 days away is beyond the 90 days of the checklist's rule.
    assert not any("Titre de séjour" in s for s in said)
    assert not ISO_DATE.search(html)


def test_a_newer_paper_of_the_same_type_silences_the_expired_one(
    app: Flask, person: Account
) -> None:
    make_document(app, person, expiry_date=TODAY - timedelta(days=400))
    client = signed_in(app, person)
    assert "Carte d'identité : plus valable" in " ".join(
        sentences(text_of(client.get("/documents/")))
    )
    make_document(app, person, expiry_date=TODAY + timedelta(days=3000))
    assert "Carte d'identité" not in " ".join(sentences(text_of(client.get("/documents/"))))


def test_papers_missing_for_release_each_with_an_add_button(app: Flask, person: Account) -> None:
    make_document(app, person, title="Mon CV", category="work", doc_type="cv")
    html = text_of(signed_in(app, person).get("/documents/"))
    said = sentences(html)
    assert (
        "Utile à la sortie, pas encore dans votre coffre : "
        "Carte d'identité, passeport ou titre de séjour." in said
    )
    assert not any(s.endswith(": CV.") for s in said)  # the CV is there
    section = panel(html)
    # The add form opens in the category of the item's first type, and names
    # the type too (the add form's `type` argument, once it reads one).
    assert 'href="/documents/ajouter?categorie=identity&type=id_card"' in section
    assert 'href="/documents/ajouter?categorie=health&type=social_security_card"' in section
    assert 'href="/documents/ajouter?categorie=benefits&type=bank_details"' in section
    # Three on the first screen; the four others (8 items, the CV present) one link away.
    assert section.count(" Ajouter<span") == 3
    more = re.search(r'<a href="/ma-sortie">([^<]*)</a>', section)
    assert more and more.group(1) == "4 autres papiers utiles à la sortie : voir la liste"


def test_dated_reminders_all_show_before_the_missing_ones(app: Flask, person: Account) -> None:
    kinds = [("passport", -1), ("id_card", 10), ("residence_permit", 20), ("cv", 30)]
    for doc_type, days in kinds:
        category = "work" if doc_type == "cv" else "identity"
        make_document(
            app,
            person,
            title=doc_type,
            category=category,
            doc_type=doc_type,
            expiry_date=TODAY + timedelta(days=days),
        )
    said = sentences(text_of(signed_in(app, person).get("/documents/")))
    assert [s.split(" :")[0] for s in said[:4]] == [
        "Passeport",
        "Carte d'identité",
        "Titre de séjour",
        "CV",
    ]
    assert len(said) == 4 + 3  # then three of the six missing papers


def test_the_panel_is_on_the_first_screen_only(app: Flask, person: Account) -> None:
    make_document(app, person, expiry_date=TODAY + timedelta(days=10))
    client = signed_in(app, person)
    assert panel(text_of(client.get("/documents/")))
    assert not panel(text_of(client.get("/documents/?q=carte")))
    assert not panel(text_of(client.get("/documents/?categorie=identity")))
    for i in range(20):  # a second page
        make_document(app, person, title=f"Papier {i}", category="other", doc_type="other")
    assert panel(text_of(client.get("/documents/")))
    assert not panel(text_of(client.get("/documents/?page=2")))


def test_the_day_is_the_interfaces(
    app: Flask, person: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 23:30 UTC on 28 February is already 1 March in Paris: a card valid until
    # 28 February is out of date on the page.
    monkeypatch.setattr(library, "utcnow", lambda: datetime(2030, 2, 28, 23, 30, tzinfo=UTC))
    make_document(app, person, expiry_date=date(2030, 2, 28))
    said = sentences(text_of(signed_in(app, person).get("/documents/")))
    assert said[0] == "Carte d'identité : plus valable depuis le 28 février 2030."


def test_another_persons_papers_make_no_reminder(app: Flask, person: Account) -> None:
    other = make_account(app, first="Alex", last="Autre")
    make_document(app, other, expiry_date=TODAY + timedelta(days=5))
    said = sentences(text_of(signed_in(app, person).get("/documents/")))
    assert not any("valable jusqu'au" in s for s in said)
