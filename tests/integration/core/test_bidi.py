"""Text people typed is isolated from the page's direction (docs/rtl.md).

An Arabic title on a French page, a Latin one on an Arabic page: each is in a
`<bdi>` (or, typed into a field, `dir="auto"`), so the Unicode bidirectional
algorithm keeps it from scrambling the sentence around it.
"""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import update

from tests.factories import make_account, make_document, signed_in
from vault.core.bidi import FSI, PDI, isolate, isolated
from vault.core.db import db_session
from vault.models import User

ARABIC_TITLE = "بطاقة الهوية 2024"
ARABIC_FIRST, ARABIC_LAST = "ليلى", "بن علي"


def test_an_arabic_title_and_name_on_a_french_page_are_isolated(app: Flask) -> None:
    person = make_account(app, first=ARABIC_FIRST, last=ARABIC_LAST)
    document = make_document(app, person, title=ARABIC_TITLE)
    client = signed_in(app, person)

    listing = client.get("/documents/").get_data(as_text=True)
    assert re.search(r'<html lang="fr"', listing)
    assert f'<span class="document-title"><bdi>{ARABIC_TITLE}</bdi></span>' in listing
    # The person's name in the menu.
    assert f"<bdi>{ARABIC_FIRST} {ARABIC_LAST}</bdi>" in listing

    page = client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert re.search(rf"<h1>.*<bdi>{ARABIC_TITLE}</bdi></h1>", page)
    # The rename field shows the title as typed, in its own direction.
    assert re.search(rf'<input [^>]*value="{ARABIC_TITLE}" dir="auto"', page)

    account = client.get("/compte/").get_data(as_text=True)
    assert f"<dd><bdi>{ARABIC_FIRST} {ARABIC_LAST}</bdi></dd>" in account


def test_every_typed_field_takes_the_direction_of_its_text(app: Flask) -> None:
    """The form macro gives text fields and text areas `dir="auto"`; the
    hand-written title fields have it too."""
    client = signed_in(app, make_account(app))
    identity = client.get("/cv/etape/identite").get_data(as_text=True)
    fields = re.findall(r'<input [^>]*type="text"[^>]*>', identity)
    assert fields, "no text field on the CV's identity step"
    assert all('dir="auto"' in field for field in fields), fields

    add = client.get("/documents/ajouter").get_data(as_text=True)
    assert re.search(r'<input type="text" id="title" name="title" [^>]*dir="auto"', add)


def test_a_latin_title_on_an_arabic_page_is_isolated(app: Flask) -> None:
    """The page must be Arabic (the person's language) for the check to mean anything."""
    person = make_account(app, first="Camille", last="Martin")
    make_document(app, person, title="Carte Vitale")
    with app.app_context():
        db = db_session()
        db.execute(update(User).where(User.id == person.user.id).values(locale="ar"))
        db.commit()
    client = signed_in(app, person)

    listing = client.get("/documents/", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    html = re.search(r"<html[^>]*>", listing)
    assert html and 'lang="ar"' in html.group(0) and 'dir="rtl"' in html.group(0), html
    assert '<span class="document-title"><bdi>Carte Vitale</bdi></span>' in listing
    assert "<bdi>Camille Martin</bdi>" in listing


def test_journal_sentences_isolate_titles_and_names(app: Flask) -> None:
    """A journal line is a sentence built in Python: its title in Unicode isolates,
    which the page turns into `<bdi>` (and the export keeps as they are)."""
    person = make_account(app, first=ARABIC_FIRST, last=ARABIC_LAST)
    make_document(app, person, title=ARABIC_TITLE)
    history = signed_in(app, person).get("/journal/").get_data(as_text=True)
    assert f"Vous avez ajouté « <bdi>{ARABIC_TITLE}</bdi> »" in history
    assert FSI not in history and PDI not in history


def test_isolates_become_bdi_and_nothing_else_becomes_markup() -> None:
    assert isolate("Carte Vitale") == f"{FSI}Carte Vitale{PDI}"
    # Isolates typed inside a title are dropped: the pairs never nest nor cross.
    assert isolate(f"a{PDI}b{FSI}") == f"{FSI}ab{PDI}"
    line = f"Vous avez ajouté « {isolate('<script>x</script>')} »."
    assert str(isolated(line)) == (
        "Vous avez ajouté « <bdi>&lt;script&gt;x&lt;/script&gt;</bdi> »."
    )
    # An unpaired isolate stays a character, escaped text around it.
    assert str(isolated(f"a {FSI}b & c")) == f"a {FSI}b &amp; c"
