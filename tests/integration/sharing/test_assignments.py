"""Administrators assign counsellors to people, end follow-ups, keep the history,
and set each establishment's rule for external links. Real databases.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask, template_rendered
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.factories import (
    Account,
    csrf_token,
    make_account,
    make_document,
    make_establishment,
    signed_in,
)
from vault.core.db import db_session
from vault.core.errors import PolicyError
from vault.core.extensions import get_keyring
from vault.documents.service import Unlocked
from vault.models import Assignment, Document, Establishment, JournalEvent, Role, Share, User
from vault.sharing import links
from vault.sharing import service as sharing


@dataclass
class Staff:
    person: Account
    other_person: Account
    claire: Account
    marc: Account
    admin: Account
    client: FlaskClient


@pytest.fixture
def staff(app: Flask) -> Staff:
    admin = make_account(app, Role.ADMINISTRATOR, first="Ada", last="Admin")
    return Staff(
        person=make_account(app, first="Alice", last="Arnaud"),
        other_person=make_account(app, first="Bruno", last="Barre"),
        claire=make_account(app, Role.COUNSELLOR, first="Claire", last="Cpip"),
        marc=make_account(app, Role.COUNSELLOR, first="Marc", last="Spip"),
        admin=admin,
        client=signed_in(app, admin),
    )


@contextmanager
def rendered(app: Flask) -> Iterator[list[dict[str, Any]]]:
    contexts: list[dict[str, Any]] = []

    def record(sender: Flask, template: Any, context: dict[str, Any], **extra: Any) -> None:
        contexts.append(context)

    template_rendered.connect(record, app)
    try:
        yield contexts
    finally:
        template_rendered.disconnect(record, app)


def assignments(app: Flask) -> list[tuple[uuid.UUID, uuid.UUID, bool]]:
    """Every assignment as (person, counsellor, active), in a stable order."""
    with app.app_context():
        rows = db_session().execute(select(Assignment)).scalars()
        return sorted(((a.person_id, a.counsellor_id, a.ended_at is None) for a in rows), key=str)


def post_assign(client: FlaskClient, person_id: uuid.UUID, *values: str) -> Any:
    path = f"/admin/comptes/{person_id}"
    return client.post(
        f"{path}/suivis",
        data={"counsellors": list(values), "csrf_token": csrf_token(client, path)},
    )


def test_assign_two_counsellors_at_once(app: Flask, staff: Staff) -> None:
    person = staff.person.user.id
    page = staff.client.get(f"/admin/comptes/{person}").get_data(as_text=True)
    assert "Claire Cpip" in page and "Marc Spip" in page
    response = post_assign(staff.client, person, str(staff.claire.user.id), str(staff.marc.user.id))
    assert response.status_code == 302
    assert assignments(app) == sorted(
        [(person, staff.claire.user.id, True), (person, staff.marc.user.id, True)], key=str
    )
    with app.app_context():
        started = list(
            db_session()
            .execute(
                select(JournalEvent).where(
                    JournalEvent.vault_id == person, JournalEvent.action == "assignment.started"
                )
            )
            .scalars()
        )
    assert {e.actor_id for e in started} == {staff.admin.user.id}
    assert len(started) == 2
    # Both counsellors now find the person on their home page.
    for counsellor in (staff.claire, staff.marc):
        home = signed_in(app, counsellor).get("/suivi/").get_data(as_text=True)
        assert "Alice Arnaud" in home
    # Already assigned: no longer offered.
    with rendered(app) as contexts:
        staff.client.get(f"/admin/comptes/{person}")
    assert contexts[0]["assign_form"].counsellors.choices == []


@pytest.mark.parametrize(
    "values",
    [
        [],
        ["not-a-uuid"],
        [str(uuid.UUID(int=7))],
        ["{person}"],  # a person is not a counsellor
        ["{admin}"],
        ["{claire}", "{other}"],  # one good id does not let a bad one through
    ],
)
def test_wrong_ids_assign_nobody(app: Flask, staff: Staff, values: list[str]) -> None:
    ids = {
        "person": str(staff.person.user.id),
        "admin": str(staff.admin.user.id),
        "claire": str(staff.claire.user.id),
        "other": str(staff.other_person.user.id),
    }
    response = post_assign(staff.client, staff.person.user.id, *(v.format(**ids) for v in values))
    assert response.status_code == 400
    assert 'class="error"' in response.get_data(as_text=True)
    assert assignments(app) == []


def test_assigning_an_already_assigned_counsellor_changes_nothing(app: Flask, staff: Staff) -> None:
    person = staff.person.user.id
    assert post_assign(staff.client, person, str(staff.claire.user.id)).status_code == 302
    before = assignments(app)
    # A stale page: Claire was assigned meanwhile.
    assert post_assign(staff.client, person, str(staff.claire.user.id)).status_code == 400
    assert assignments(app) == before


def test_only_people_get_counsellors(app: Flask, staff: Staff) -> None:
    for target in (staff.marc.user.id, staff.admin.user.id, uuid.uuid4()):
        response = post_assign(staff.client, target, str(staff.claire.user.id))
        assert response.status_code == 404
    assert assignments(app) == []


def _assign(app: Flask, person: Account, counsellor: Account, admin: Account) -> uuid.UUID:
    with app.app_context():
        db = db_session()
        assignment = sharing.assign(
            db,
            db.get(User, person.user.id),  # type: ignore[arg-type]
            db.get(User, counsellor.user.id),  # type: ignore[arg-type]
            by=db.get(User, admin.user.id),  # type: ignore[arg-type]
        )
        db.commit()
        return assignment.id


def end(client: FlaskClient, person_id: uuid.UUID, assignment_id: uuid.UUID) -> Any:
    path = f"/admin/comptes/{person_id}"
    return client.post(
        f"{path}/suivis/{assignment_id}/fin", data={"csrf_token": csrf_token(client, path)}
    )


def test_end_an_assignment_keeps_the_history(app: Flask, staff: Staff) -> None:
    person = staff.person.user.id
    assignment_id = _assign(app, staff.person, staff.claire, staff.admin)
    document = make_document(app, staff.person, title="Carte Vitale")
    with app.app_context():
        db = db_session()
        owner = Unlocked(db.get(User, person), staff.person.key)  # type: ignore[arg-type]
        sharing.share_document(
            db, get_keyring(), owner, db.get(Document, document.id), staff.claire.user.id
        )  # type: ignore[arg-type]
        db.commit()
    claire = signed_in(app, staff.claire)
    assert claire.get(f"/suivi/{person}/").status_code == 200

    assert end(staff.client, person, assignment_id).status_code == 302
    with app.app_context():
        db = db_session()
        row = db.get(Assignment, assignment_id)
        assert row is not None and row.ended_at is not None
        assert row.ended_by_id == staff.admin.user.id
        assert all(s.revoked_at for s in db.execute(select(Share)).scalars())
    assert claire.get(f"/suivi/{person}/").status_code == 404
    assert claire.get(f"/suivi/{person}/documents/{document.id}").status_code == 404

    # A second follow-up later: the history shows both, newest first.
    _assign(app, staff.person, staff.claire, staff.admin)
    with rendered(app) as contexts:
        page = staff.client.get(f"/admin/comptes/{person}")
    assert page.status_code == 200
    context = contexts[0]
    history = context["history"]
    assert [a.ended_at is None for a in history] == [True, False]
    assert context["names"][history[1].ended_by_id] == "Ada Admin"
    assert context["names"][history[1].counsellor_id] == "Claire Cpip"
    text = page.get_data(as_text=True)
    assert "Historique" in text and "Ada Admin" in text

    # Ending it again is harmless: one journal line only.
    assert end(staff.client, person, assignment_id).status_code == 302
    with app.app_context():
        ended = db_session().execute(
            select(JournalEvent).where(
                JournalEvent.vault_id == person, JournalEvent.action == "assignment.ended"
            )
        )
        assert len(list(ended.scalars())) == 1


def test_end_with_wrong_ids_changes_nothing(app: Flask, staff: Staff) -> None:
    assignment_id = _assign(app, staff.person, staff.claire, staff.admin)
    before = assignments(app)
    # Another person's page with this assignment, unknown ids, a counsellor's page.
    assert end(staff.client, staff.other_person.user.id, assignment_id).status_code == 404
    assert end(staff.client, staff.person.user.id, uuid.uuid4()).status_code == 404
    assert end(staff.client, staff.claire.user.id, assignment_id).status_code == 404
    assert end(staff.client, uuid.uuid4(), assignment_id).status_code == 404
    response = staff.client.post(
        f"/admin/comptes/{staff.person.user.id}/suivis/{assignment_id}/fin"
    )
    assert response.status_code == 400  # no CSRF token
    assert assignments(app) == before


def test_counsellor_account_page_lists_the_people_followed(app: Flask, staff: Staff) -> None:
    _assign(app, staff.person, staff.claire, staff.admin)
    page = staff.client.get(f"/admin/comptes/{staff.claire.user.id}").get_data(as_text=True)
    assert "Alice Arnaud" in page
    assert "Bruno Barre" not in page


# --- establishments: the rule for external links ------------------------------------------------


def test_establishment_link_policy(app: Flask, staff: Staff) -> None:
    place = make_establishment(app, "Centre de détention de Test")
    path = f"/admin/etablissements/{place.id}"
    page = staff.client.get(path)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for value in ("off", "approval", "on"):
        assert f'value="{value}"' in text
    assert "conseiller" in text
    listing = staff.client.get("/admin/etablissements").get_data(as_text=True)
    assert path in listing

    person = make_account(app, first="Dora", last="Detenue", establishment_id=place.id)
    document = make_document(app, person)

    def make_link() -> str:
        with app.app_context():
            db = db_session()
            owner = Unlocked(db.get(User, person.user.id), person.key)  # type: ignore[arg-type]
            link, _token = links.create_link(
                db, get_keyring(), owner, document.id, recipient="employer", days=3
            )
            db.commit()
            return link.status

    assert make_link() == "pending"  # the default: a counsellor approves
    for value, outcome in (("on", "active"), ("off", None), ("approval", "pending")):
        response = staff.client.post(
            path, data={"external_links": value, "csrf_token": csrf_token(staff.client, path)}
        )
        assert response.status_code == 302
        with app.app_context():
            stored = db_session().get(Establishment, place.id)
            assert stored is not None and stored.external_links == value
        if outcome is None:
            with pytest.raises(PolicyError):
                make_link()
        else:
            assert make_link() == outcome


@pytest.mark.parametrize("value", ["", "always", "ON"])
def test_bad_link_policy_changes_nothing(app: Flask, staff: Staff, value: str) -> None:
    place = make_establishment(app, "Centre de détention de Test")
    path = f"/admin/etablissements/{place.id}"
    response = staff.client.post(
        path, data={"external_links": value, "csrf_token": csrf_token(staff.client, path)}
    )
    assert response.status_code == 400
    assert 'class="error"' in response.get_data(as_text=True)
    with app.app_context():
        stored = db_session().get(Establishment, place.id)
        assert stored is not None and stored.external_links == "approval"


def test_unknown_establishment_is_404(staff: Staff) -> None:
    assert staff.client.get(f"/admin/etablissements/{uuid.uuid4()}").status_code == 404
