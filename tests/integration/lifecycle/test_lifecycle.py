"""Release and after: transfers, releases, counsellors' access, sign-in networks,
the configurable release checklist, the person's release page, closing a vault.

Real databases (SQLite and PostgreSQL) through the `app` fixture; every page
through the test client, as a browser would.
"""

from __future__ import annotations

import html as htmllib
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.clock import local_today
from tests.factories import (
    Account,
    csrf_token,
    make_account,
    make_document,
    make_establishment,
    signed_in,
)
from vault.core.db import db_session
from vault.core.extensions import get_keyring, get_settings, get_store
from vault.documents.service import Unlocked
from vault.journal import service as journal
from vault.lifecycle import checklist, settings
from vault.lifecycle import service as lifecycle
from vault.models import (
    AccountStatus,
    Assignment,
    Blob,
    Document,
    Establishment,
    JournalEvent,
    KeySlot,
    Lifecycle,
    Role,
    ServerSession,
    Share,
    ShareKey,
    Transfer,
    User,
)
from vault.models.base import utcnow
from vault.sharing import service as sharing

INSIDE = "10.20.1.5"
OUTSIDE = "203.0.113.9"


@dataclass
class World:
    admin: Account
    admin_client: FlaskClient
    person: Account
    counsellor: Account
    here: Establishment
    there: Establishment


@pytest.fixture
def world(app: Flask) -> World:
    here = make_establishment(app, "Maison d'arrêt d'Ici")
    there = make_establishment(app, "Centre de détention de Là-bas")
    admin = make_account(app, Role.ADMINISTRATOR, "Ada", "Admin")
    person = make_account(app, first="Alex", last="Martin", establishment_id=here.id)
    counsellor = make_account(app, Role.COUNSELLOR, "Claire", "Conseil")
    with app.app_context():
        db = db_session()
        sharing.assign(
            db,
            db.get(User, person.user.id),  # type: ignore[arg-type]
            db.get(User, counsellor.user.id),  # type: ignore[arg-type]
            by=db.get(User, admin.user.id),  # type: ignore[arg-type]
        )
        db.commit()
    return World(admin, signed_in(app, admin), person, counsellor, here, there)


def page(world: World, person_id: uuid.UUID | None = None) -> str:
    return f"/admin/parcours/{person_id or world.person.user.id}"


def post(client: FlaskClient, path: str, form_page: str, **data: str) -> tuple[int, str]:
    data["csrf_token"] = csrf_token(client, form_page)
    response = client.post(path, data=data)
    return response.status_code, htmllib.unescape(response.get_data(as_text=True))


def reload(app: Flask, user_id: uuid.UUID) -> User:
    with app.app_context():
        user = db_session().get(User, user_id)
        assert user is not None
        return user


def actions(app: Flask, vault_id: uuid.UUID) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db_session().execute(
            select(JournalEvent.action, JournalEvent.outcome)
            .where(JournalEvent.vault_id == vault_id)
            .order_by(JournalEvent.seq)
        )
        return [(a, o) for a, o in rows]


def count(app: Flask, model: type, *where: object) -> int:
    with app.app_context():
        return int(
            db_session().execute(select(func.count()).select_from(model).where(*where)).scalar_one()
        )


# --- transfers --------------------------------------------------------------------------


def test_transfer_moves_the_person_and_shows_the_counsellors_to_review(
    app: Flask, world: World
) -> None:
    client = world.admin_client
    assert "Maison d'arrêt d'Ici" in htmllib.unescape(
        client.get(page(world)).get_data(as_text=True)
    )
    response = client.post(
        page(world) + "/transfert",
        data={"establishment": str(world.there.id), "csrf_token": csrf_token(client, page(world))},
    )
    assert response.status_code == 302
    html = htmllib.unescape(client.get(response.location).get_data(as_text=True))
    assert "Claire Conseil" in html
    assert "Là-bas" in html
    person = reload(app, world.person.user.id)
    assert person.establishment_id == world.there.id
    assert person.profile is not None and person.profile.lifecycle == Lifecycle.TRANSFERRED
    with app.app_context():
        transfer = db_session().execute(select(Transfer)).scalar_one()
        assert (transfer.from_establishment_id, transfer.to_establishment_id) == (
            world.here.id,
            world.there.id,
        )
        assert transfer.by_id == world.admin.user.id
    assert ("lifecycle.transferred", "ok") in actions(app, world.person.user.id)

    # The administrator ends the follow-up right there.
    with app.app_context():
        assignment = db_session().execute(select(Assignment)).scalar_one()
    status, _html = post(client, page(world) + f"/suivis/{assignment.id}/fin", page(world), **{})
    assert status == 302
    assert count(app, Assignment, Assignment.ended_at.is_(None)) == 0


@pytest.mark.parametrize(
    "value",
    ["", "not-a-uuid", str(uuid.uuid4()), "same"],
    ids=["empty", "garbage", "unknown", "same"],
)
def test_bad_transfers_change_nothing(app: Flask, world: World, value: str) -> None:
    target = str(world.here.id) if value == "same" else value
    status, html = post(
        world.admin_client, page(world) + "/transfert", page(world), establishment=target
    )
    assert status == 400
    assert '<p class="error"' in html or "notice-error" in html
    person = reload(app, world.person.user.id)
    assert person.establishment_id == world.here.id
    assert person.profile is not None and person.profile.lifecycle == Lifecycle.DETAINED
    assert count(app, Transfer) == 0
    if value == "same":
        assert "déjà" in html


def test_lifecycle_pages_of_someone_who_is_not_a_person_are_404(app: Flask, world: World) -> None:
    client = world.admin_client
    assert client.get(page(world, world.counsellor.user.id)).status_code == 404
    assert client.get(page(world, uuid.uuid4())).status_code == 404
    token = csrf_token(client, page(world))
    response = client.post(
        page(world, world.counsellor.user.id) + "/transfert",
        data={"establishment": str(world.there.id), "csrf_token": token},
    )
    assert response.status_code == 404


def test_ending_another_persons_assignment_is_404(app: Flask, world: World) -> None:
    other = make_account(app, first="Sam", last="Autre")
    with app.app_context():
        assignment = db_session().execute(select(Assignment)).scalar_one()
    status, _html = post(
        world.admin_client,
        page(world, other.user.id) + f"/suivis/{assignment.id}/fin",
        page(world),
    )
    assert status == 404
    assert count(app, Assignment, Assignment.ended_at.is_(None)) == 1


# --- releases ---------------------------------------------------------------------------


def share_until_release(app: Flask, world: World) -> uuid.UUID:
    document = make_document(app, world.person)
    with app.app_context():
        db = db_session()
        person = db.get(User, world.person.user.id)
        doc = db.get(Document, document.id)
        assert person and doc
        share = sharing.share_document(
            db,
            get_keyring(),
            Unlocked(person, world.person.key),
            doc,
            world.counsellor.user.id,
            until_release=True,
        )
        db.commit()
        return share.id


def test_release_without_followup_starts_the_grace_period(app: Flask, world: World) -> None:
    share_id = share_until_release(app, world)
    released_on = local_today() - timedelta(days=1)
    status, _html = post(
        world.admin_client,
        page(world) + "/sortie",
        page(world),
        released_on=released_on.isoformat(),
        followup="no",
    )
    assert status == 302
    person = reload(app, world.person.user.id)
    profile = person.profile
    assert profile is not None
    assert profile.lifecycle == Lifecycle.RELEASED
    assert profile.released_on == released_on
    assert profile.followup_continues is False
    with app.app_context():
        grace = get_settings().counsellor_grace_days
    assert profile.counsellor_access_until == released_on + timedelta(days=grace)
    # "Until release" shares end, their keys with them.
    assert count(app, ShareKey, ShareKey.share_id == share_id) == 0
    with app.app_context():
        share = db_session().get(Share, share_id)
        assert share is not None and share.revoked_at is not None
    assert ("lifecycle.released", "ok") in actions(app, world.person.user.id)
    history = signed_in(app, world.person).get("/journal/").get_data(as_text=True)
    released = "L'administrateur <bdi>Ada Admin</bdi> a enregistré votre sortie."
    assert released in htmllib.unescape(history)
    # Within the grace period the counsellor still follows the person.
    with app.app_context():
        db = db_session()
        assert sharing.active_assignment(db, person.id, world.counsellor.user.id) is not None
        assert [p.id for p in sharing.people_of(db, world.counsellor.user.id)] == [person.id]


def test_after_the_grace_period_counsellors_lose_access(app: Flask, world: World) -> None:
    document = make_document(app, world.person)
    with app.app_context():
        db = db_session()
        person = db.get(User, world.person.user.id)
        doc = db.get(Document, document.id)
        assert person and doc
        share = sharing.share_document(
            db, get_keyring(), Unlocked(person, world.person.key), doc, world.counsellor.user.id
        )
        db.commit()
    long_ago = local_today() - timedelta(days=400)
    with app.app_context():
        db = db_session()
        person = db.get(User, world.person.user.id)
        assert person is not None and person.profile is not None
        lifecycle.record_release(
            db,
            person,
            long_ago,
            followup_continues=False,
            by=db.get(User, world.admin.user.id),  # type: ignore[arg-type]
            grace_days=30,
            today=local_today(),
        )
        db.commit()
    counsellor_client = signed_in(app, world.counsellor)
    assert counsellor_client.get(f"/suivi/{world.person.user.id}/").status_code == 404
    with app.app_context():
        db = db_session()
        person = db.get(User, world.person.user.id)
        assert person is not None
        assert sharing.active_assignment(db, person.id, world.counsellor.user.id) is None
        assert sharing.people_of(db, world.counsellor.user.id) == []
        live = db.get(Share, share.id)
        assert live is not None and not sharing.share_is_active(live, person)
        # Follow-up resumes: access is back.
        lifecycle.set_followup(
            db,
            person,
            True,
            by=db.get(User, world.admin.user.id),
            grace_days=30,  # type: ignore[arg-type]
        )
        db.commit()
        assert sharing.active_assignment(db, person.id, world.counsellor.user.id) is not None
    assert counsellor_client.get(f"/suivi/{world.person.user.id}/").status_code == 200


def test_counsellor_access_rule() -> None:
    person = User(role=Role.PERSON)
    assert lifecycle.counsellor_access_open(person, date(2026, 1, 1))  # no profile yet
    from vault.models import PersonProfile

    person.profile = PersonProfile(first_name="A", last_name="B", lifecycle=Lifecycle.RELEASED)
    assert lifecycle.counsellor_access_open(person, date(2026, 1, 1))
    person.profile.counsellor_access_until = date(2026, 1, 31)
    assert lifecycle.counsellor_access_open(person, date(2026, 1, 31))
    assert not lifecycle.counsellor_access_open(person, date(2026, 2, 1))
    person.profile.counsellor_access_until = None
    person.profile.lifecycle = Lifecycle.CLOSED
    assert not lifecycle.counsellor_access_open(person, date(2026, 1, 1))


@pytest.mark.parametrize(
    ("released_on", "followup", "expected"),
    [
        ((local_today() + timedelta(days=2)).isoformat(), "no", "futur"),
        ("1990-05-01", "no", "Vérifiez l'année"),
        ("2026-02-31", "no", ""),
        ("", "no", ""),
        (local_today().isoformat(), "", ""),
        (local_today().isoformat(), "maybe", ""),
    ],
    ids=["future", "too-old", "impossible", "missing", "no-followup", "bad-followup"],
)
def test_bad_releases_change_nothing(
    app: Flask, world: World, released_on: str, followup: str, expected: str
) -> None:
    status, html = post(
        world.admin_client,
        page(world) + "/sortie",
        page(world),
        released_on=released_on,
        followup=followup,
    )
    assert status == 400
    assert expected in html
    profile = reload(app, world.person.user.id).profile
    assert profile is not None
    assert profile.lifecycle == Lifecycle.DETAINED
    assert profile.released_on is None
    assert ("lifecycle.released", "ok") not in actions(app, world.person.user.id)


def test_no_transfer_or_second_release_after_release(app: Flask, world: World) -> None:
    today = local_today().isoformat()
    client = world.admin_client
    assert (
        post(client, page(world) + "/sortie", page(world), released_on=today, followup="yes")[0]
        == 302
    )
    status, html = post(
        client, page(world) + "/transfert", page(world), establishment=str(world.there.id)
    )
    assert status == 400 and "déjà libérée" in html
    status, html = post(
        client, page(world) + "/sortie", page(world), released_on=today, followup="no"
    )
    assert status == 400
    assert reload(app, world.person.user.id).establishment_id == world.here.id
    # The follow-up can change after release.
    status, _html = post(client, page(world) + "/suivi", page(world), followup="no")
    assert status == 302
    profile = reload(app, world.person.user.id).profile
    assert profile is not None and profile.followup_continues is False
    assert profile.counsellor_access_until is not None
    assert ("lifecycle.followup", "ok") in actions(app, world.person.user.id)


def test_followup_before_release_is_refused(app: Flask, world: World) -> None:
    status, html = post(world.admin_client, page(world) + "/suivi", page(world), followup="no")
    assert status == 400
    assert "libération" in html
    profile = reload(app, world.person.user.id).profile
    assert profile is not None and profile.counsellor_access_until is None


# --- sign-in networks -------------------------------------------------------------------


def networks_page(world: World) -> str:
    return f"/admin/etablissements/{world.here.id}/reseaux"


def sign_in_from(app: Flask, account: Account, address: str) -> tuple[int, str]:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    response = client.post(
        "/connexion",
        data={
            "username": account.username,
            "passphrase": account.passphrase,
            "csrf_token": csrf_token(client, "/connexion"),
        },
    )
    return response.status_code, htmllib.unescape(response.get_data(as_text=True))


def test_sign_in_is_limited_to_the_establishment_networks_until_release(
    app: Flask, world: World
) -> None:
    # Off by default: from anywhere.
    assert sign_in_from(app, world.person, OUTSIDE)[0] == 302
    status, _html = post(
        world.admin_client,
        networks_page(world),
        networks_page(world),
        networks="10.20.0.0/16\n192.168.1.7",
        restrict="y",
    )
    assert status == 302
    place = reload_establishment(app, world.here.id)
    assert place.networks == "10.20.0.0/16\n192.168.1.7/32"
    assert place.restrict_signin is True

    status, html = sign_in_from(app, world.person, OUTSIDE)
    assert status == 403
    assert "uniquement depuis l'établissement" in html
    assert ("signin", "refused") in actions(app, world.person.user.id)
    with app.app_context():
        refused = (
            db_session()
            .execute(
                select(JournalEvent)
                .where(
                    JournalEvent.vault_id == world.person.user.id, JournalEvent.action == "signin"
                )
                .order_by(JournalEvent.seq.desc())
            )
            .scalars()
            .first()
        )
        assert refused is not None and '"network"' in refused.details
    assert sign_in_from(app, world.person, INSIDE)[0] == 302
    assert sign_in_from(app, world.person, "192.168.1.7")[0] == 302
    # Staff are not held to a prison's networks.
    assert sign_in_from(app, world.admin, OUTSIDE)[0] == 302
    # A wrong passphrase from outside says only that.
    wrong = Account(world.person.user, world.person.key, "pas la bonne phrase", "")
    status, html = sign_in_from(app, wrong, OUTSIDE)
    assert status == 200 and "uniquement depuis" not in html

    inside = app.test_client()
    inside.environ_base["REMOTE_ADDR"] = INSIDE
    inside.post(
        "/connexion",
        data={
            "username": world.person.username,
            "passphrase": world.person.passphrase,
            "csrf_token": csrf_token(inside, "/connexion"),
        },
    )
    history = inside.get("/journal/?quoi=account")
    assert "depuis l'extérieur de l'établissement a été refusée" in htmllib.unescape(
        history.get_data(as_text=True)
    )

    # Released: from anywhere.
    today = local_today().isoformat()
    post(
        world.admin_client, page(world) + "/sortie", page(world), released_on=today, followup="yes"
    )
    assert sign_in_from(app, world.person, OUTSIDE)[0] == 302


def reload_establishment(app: Flask, place_id: uuid.UUID) -> Establishment:
    with app.app_context():
        place = db_session().get(Establishment, place_id)
        assert place is not None
        return place


@pytest.mark.parametrize(
    ("networks", "restrict", "expected"),
    [
        ("10.20.0.0/16\nla prison", "y", "« la prison » n'est pas un réseau"),
        ("10.20.0.0/33", "", "n'est pas un réseau"),
        ("", "y", "au moins un réseau"),
        (" \n ", "y", "au moins un réseau"),
        ("\n".join(f"10.{i}.0.0/16" for i in range(65)), "", "au plus 64 réseaux"),
    ],
    ids=["words", "prefix", "empty", "blank", "too-many"],
)
def test_bad_networks_change_nothing(
    app: Flask, world: World, networks: str, restrict: str, expected: str
) -> None:
    data = {"networks": networks}
    if restrict:
        data["restrict"] = restrict
    status, html = post(world.admin_client, networks_page(world), networks_page(world), **data)
    assert status == 400
    assert expected in html
    place = reload_establishment(app, world.here.id)
    assert place.networks == "" and place.restrict_signin is False


def test_networks_of_an_unknown_establishment_are_404(world: World) -> None:
    assert (
        world.admin_client.get(f"/admin/etablissements/{uuid.uuid4()}/reseaux").status_code == 404
    )


def test_network_rule_details() -> None:
    assert lifecycle.parse_networks("10.0.0.1, 10.0.0.0/8\n 10.0.0.0/8 \n\n::1") == [
        "10.0.0.1/32",
        "10.0.0.0/8",
        "::1/128",
    ]
    with pytest.raises(lifecycle.BadNetwork) as caught:
        lifecycle.parse_networks("10.0.0.0/8\nprison")
    assert caught.value.line == "prison"
    place = Establishment(name="x", networks="10.0.0.0/8", restrict_signin=True)
    from vault.models import PersonProfile

    person = User(role=Role.PERSON, establishment=place)
    person.profile = PersonProfile(first_name="A", last_name="B", lifecycle=Lifecycle.DETAINED)
    assert lifecycle.signin_allowed(person, "10.1.2.3")
    assert not lifecycle.signin_allowed(person, "11.1.2.3")
    assert not lifecycle.signin_allowed(person, None)
    assert not lifecycle.signin_allowed(person, "not an address")
    place.networks = "damaged outside the app"
    assert not lifecycle.signin_allowed(person, "10.1.2.3")
    person.profile.lifecycle = Lifecycle.RELEASED
    assert lifecycle.signin_allowed(person, "11.1.2.3")


# --- the release checklist --------------------------------------------------------------

SETTINGS_PAGE = "/admin/parametres/liste-de-sortie"


def checklist_form(rows: list[tuple[str, str, list[str]]], **extra: str) -> dict[str, object]:
    data: dict[str, object] = {"rows": str(len(rows)), **extra}
    for i, (code, label, types) in enumerate(rows):
        data[f"code-{i}"] = code
        data[f"label-{i}"] = label
        data[f"types-{i}"] = types
    return data


def test_administrator_configures_the_checklist_everyone_sees(app: Flask, world: World) -> None:
    client = world.admin_client
    html = htmllib.unescape(client.get(SETTINGS_PAGE).get_data(as_text=True))
    assert "Carte d'identité, passeport ou titre de séjour" in html
    data = checklist_form(
        [
            ("identity", "Pièce d'identité", ["id_card", "passport"]),
            ("", "Permis de conduire ou titre de séjour", ["residence_permit"]),
            ("cv", "CV", ["cv"]),
            ("", "", []),  # a blank row for a new item, left empty
        ],
        csrf_token=csrf_token(client, SETTINGS_PAGE),
    )
    data["remove-2"] = "1"  # the CV item goes
    response = client.post(SETTINGS_PAGE, data=data)
    assert response.status_code == 302
    with app.app_context():
        items = settings.get_checklist(db_session())
    assert [(i.code, str(i.label), i.doc_types) for i in items] == [
        ("identity", "Pièce d'identité", ("id_card", "passport")),
        ("item-2", "Permis de conduire ou titre de séjour", ("residence_permit",)),
    ]
    assert ("settings.checklist", "ok") in actions(app, world.admin.user.id)

    make_document(app, world.person, doc_type="passport")
    html = htmllib.unescape(signed_in(app, world.person).get("/ma-sortie").get_data(as_text=True))
    assert "Pièce d'identité" in html
    assert "Permis de conduire ou titre de séjour" in html
    assert "RIB" not in html  # the default list is gone
    assert "1 papier sur 2 est prêt." in html
    # The counsellor's pages follow the same list.
    counsellor_page = signed_in(app, world.counsellor).get(f"/suivi/{world.person.user.id}/")
    assert "Permis de conduire ou titre de séjour" in htmllib.unescape(
        counsellor_page.get_data(as_text=True)
    )
    # The home too, which reads the setting with its page (D-207).
    home = htmllib.unescape(signed_in(app, world.counsellor).get("/suivi/").get_data(as_text=True))
    assert "1 sur 2" in home and "sur 8" not in home  # not the default list of 8

    # Back to the default list.
    status, _html = post(client, SETTINGS_PAGE + "/par-defaut", SETTINGS_PAGE)
    assert status == 302
    with app.app_context():
        assert settings.get_checklist(db_session()) == checklist.RELEASE_CHECKLIST


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([("", "Pièce d'identité", [])], "au moins un type de document"),
        ([("", "", ["id_card"])], "un nom"),
        ([("", "Pièce", ["no_such_type"])], "Choisissez les types de document dans la liste"),
        ([("", "Pièce", ["id_card"]), ("", "pièce", ["cv"])], "même nom"),
        ([("a", "Pièce", ["id_card"]), ("b", "CV", ["cv"])], ""),  # then all removed
        ([("", "x" * 121, ["id_card"])], "au plus 120 caractères"),
    ],
    ids=["no-type", "no-label", "unknown-type", "duplicate", "empty", "long-label"],
)
def test_bad_checklists_change_nothing(
    app: Flask, world: World, rows: list[tuple[str, str, list[str]]], expected: str
) -> None:
    client = world.admin_client
    data = checklist_form(rows, csrf_token=csrf_token(client, SETTINGS_PAGE))
    if expected == "":
        data.update({"remove-0": "1", "remove-1": "1"})
        expected = "au moins un élément"
    response = client.post(SETTINGS_PAGE, data=data)
    assert response.status_code == 400
    assert expected in htmllib.unescape(response.get_data(as_text=True))
    with app.app_context():
        assert settings.checklist_is_default(db_session())


def test_a_damaged_checklist_setting_falls_back_to_the_default(world: World, db: Session) -> None:
    from vault.models import Setting

    db.add(Setting(key=settings.CHECKLIST_KEY, value="{not json", updated_at=utcnow()))
    db.commit()
    assert settings.get_checklist(db) == checklist.RELEASE_CHECKLIST


def test_my_release_page(app: Flask, world: World) -> None:
    make_document(app, world.person, doc_type="id_card", expiry_date=local_today() + timedelta(30))
    make_document(app, world.person, title="CV", category="work", doc_type="cv")
    client = signed_in(app, world.person)
    html = htmllib.unescape(client.get("/ma-sortie").get_data(as_text=True))
    assert "Expire bientôt" in html
    assert "Présent" in html
    assert "Manquant" in html
    assert "/documents/ajouter?categorie=benefits" in html  # bank details are missing
    assert "gardé 3 ans après votre dernière connexion" in html
    assert "/compte/fermer" in html


# --- closing a vault --------------------------------------------------------------------

CLOSE = "/compte/fermer"


def test_closing_the_vault_shreds_it_and_keeps_the_journal(app: Flask, world: World) -> None:
    first = make_document(app, world.person)
    make_document(app, world.person, title="CV", category="work", doc_type="cv")
    share_until_release(app, world)
    with app.app_context():
        blob_keys = list(db_session().execute(select(Blob.key)).scalars())
        assert blob_keys
    client = signed_in(app, world.person)
    page_html = htmllib.unescape(client.get(CLOSE).get_data(as_text=True))
    assert "/export/" in page_html  # the export is offered first
    assert "3 documents" in page_html

    # Without the box ticked, or with a wrong phrase: nothing happens.
    status, html = post(client, CLOSE, CLOSE, passphrase=world.person.passphrase)
    assert status == 400 and "Cochez la case" in html
    status, html = post(client, CLOSE, CLOSE, passphrase="pas la bonne", understood="y")
    assert status == 400 and "n'est pas bonne" in html
    assert count(app, Document, Document.vault_id == world.person.user.id) == 3
    assert ("vault.closed", "refused") in actions(app, world.person.user.id)

    response = client.post(
        CLOSE,
        data={
            "passphrase": world.person.passphrase,
            "understood": "y",
            "csrf_token": csrf_token(client, CLOSE),
        },
    )
    assert response.status_code == 302 and response.location.endswith("/connexion")
    assert "est fermé" in htmllib.unescape(client.get("/connexion").get_data(as_text=True))
    person_id = world.person.user.id
    assert count(app, Document, Document.vault_id == person_id) == 0
    assert count(app, KeySlot, KeySlot.user_id == person_id) == 0
    assert count(app, ServerSession, ServerSession.user_id == person_id) == 0
    assert count(app, Share, Share.vault_id == person_id) == 0
    assert count(app, Assignment, Assignment.ended_at.is_(None)) == 0
    assert count(app, Blob) == 0
    with app.app_context():
        store = get_store()
        assert [k for k in blob_keys if store.exists(k)] == []
    person = reload(app, person_id)
    assert person.status == AccountStatus.DISABLED
    assert person.profile is not None
    assert person.profile.lifecycle == Lifecycle.CLOSED and person.profile.closed_at
    events = actions(app, person_id)
    assert events[-1] == ("vault.closed", "ok")
    assert ("document.deleted", "ok") in events
    with app.app_context():
        assert journal.verify(db_session(), person_id, ring=get_keyring())[1] == []
    # No way back in, and nothing for the counsellor.
    assert sign_in_from(app, world.person, "127.0.0.1")[0] == 200
    assert signed_in(app, world.counsellor).get(f"/suivi/{person_id}/").status_code == 404
    assert world.admin_client.get(f"/admin/parcours/{person_id}").status_code == 200
    status, html = post(
        world.admin_client,
        page(world) + "/transfert",
        page(world),
        establishment=str(world.there.id),
    )
    assert status == 400 and "fermé" in html
    assert first.id  # (the document object outlives its row)


def test_closing_is_for_people_only(app: Flask, world: World) -> None:
    response = world.admin_client.get(CLOSE)
    assert response.status_code == 403
