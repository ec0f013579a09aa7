"""Off-boarding staff: disabling (and enabling again) an administrator, counsellor
or recovery officer, from the administration page and from `vault accounts` (issue 11).

Effective at once: every session of the account ends, sign-in is refused with
a plain French message, the account's journal says who did it. A counsellor's
follow-ups end (what people shared with them goes); an officer's open escrow
requests are cancelled.
"""

from __future__ import annotations

import html
import uuid
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.factories import (
    PASSPHRASE,
    Account,
    csrf_token,
    make_account,
    make_document,
    open_pending,
    signed_in,
)
from vault.core.db import db_session
from vault.core.extensions import get_escrow_key, get_keyring
from vault.documents.service import Unlocked
from vault.models import (
    AccountStatus,
    Assignment,
    Document,
    JournalEvent,
    RecoveryRequest,
    Role,
    Share,
    User,
)
from vault.recovery import service as recovery
from vault.sharing import service as sharing

STAFF = [Role.ADMINISTRATOR, Role.COUNSELLOR, Role.RECOVERY_OFFICER]


def post(client: FlaskClient, path: str, form_path: str) -> object:
    return client.post(path, data={"csrf_token": csrf_token(client, form_path)})


def status_of(app: Flask, account: Account) -> str:
    with app.app_context():
        user = db_session().get(User, account.user.id)
        assert user is not None
        return user.status


def events(app: Flask, account: Account) -> list[tuple[str, str, uuid.UUID | None]]:
    with app.app_context():
        rows = db_session().execute(
            select(JournalEvent)
            .where(JournalEvent.vault_id == account.user.id)
            .order_by(JournalEvent.seq)
        )
        return [(e.action, e.outcome, e.actor_id) for e in rows.scalars()]


def sign_in(app: Flask, account: Account) -> object:
    client = app.test_client()
    return client.post(
        "/connexion",
        data={
            "username": account.username,
            "passphrase": account.passphrase,
            "csrf_token": csrf_token(client, "/connexion"),
        },
    )


@pytest.mark.parametrize("role", STAFF)
def test_an_administrator_disables_staff_at_once_and_enables_them_again(
    app: Flask, role: Role
) -> None:
    admin = make_account(app, Role.ADMINISTRATOR, "Alix", "Admin")
    staff = make_account(app, role, "Sam", "Staff")
    staff_client = signed_in(app, staff)
    other_device = signed_in(app, staff)
    assert staff_client.get("/compte/").status_code == 200
    admin_client = signed_in(app, admin)
    page = f"/admin/comptes/{staff.user.id}"
    assert "Désactiver ce compte" in html.unescape(admin_client.get(page).get_data(as_text=True))

    response = post(admin_client, f"{page}/desactiver", page)
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert status_of(app, staff) == AccountStatus.DISABLED
    # Every live session stops at its next request.
    for client in (staff_client, other_device):
        gone = client.get("/compte/")
        assert gone.status_code == 302 and gone.headers["Location"].endswith("/connexion")
    # Sign-in is refused with a plain message, even with the right passphrase.
    refused = sign_in(app, staff)
    assert refused.status_code == 403  # type: ignore[attr-defined]
    text = html.unescape(refused.get_data(as_text=True))  # type: ignore[attr-defined]
    assert "Ce compte est désactivé" in text and "Traceback" not in text
    assert ("account.disabled", "ok", admin.user.id) in events(app, staff)
    assert ("signin.password", "refused", None) in events(app, staff)

    response = post(admin_client, f"{page}/reactiver", page)
    assert response.status_code == 302  # type: ignore[attr-defined]
    assert status_of(app, staff) == AccountStatus.ACTIVE
    assert sign_in(app, staff).status_code == 302  # type: ignore[attr-defined]
    assert ("account.enabled", "ok", admin.user.id) in events(app, staff)


def test_a_wrong_passphrase_on_a_disabled_account_says_nothing_more(app: Flask) -> None:
    """Only the right passphrase learns that the account is disabled."""
    admin = make_account(app, Role.ADMINISTRATOR, "Alix", "Admin")
    staff = make_account(app, Role.COUNSELLOR, "Sam", "Staff")
    post(signed_in(app, admin), f"/admin/comptes/{staff.user.id}/desactiver", "/admin/")
    client = app.test_client()
    wrong = client.post(
        "/connexion",
        data={
            "username": staff.username,
            "passphrase": "pas la bonne phrase",
            "csrf_token": csrf_token(client, "/connexion"),
        },
    )
    assert wrong.status_code == 200
    assert "ne correspondent pas" in wrong.get_data(as_text=True)


def test_disabling_a_counsellor_ends_their_follow_ups_and_shares(app: Flask) -> None:
    admin = make_account(app, Role.ADMINISTRATOR, "Alix", "Admin")
    counsellor = make_account(app, Role.COUNSELLOR, "Claire", "Conseil")
    person = make_account(app)
    document = make_document(app, person)
    with app.app_context():
        db = db_session()
        user = db.get(User, person.user.id)
        assert user is not None
        sharing.assign(db, user, db.get(User, counsellor.user.id), by=db.get(User, admin.user.id))  # type: ignore[arg-type]
        doc = db.get(Document, document.id)
        assert doc is not None
        sharing.share_document(
            db, get_keyring(), Unlocked(user, person.key), doc, counsellor.user.id
        )
        db.commit()

    page = f"/admin/comptes/{counsellor.user.id}"
    assert post(signed_in(app, admin), f"{page}/desactiver", page).status_code == 302  # type: ignore[attr-defined]

    with app.app_context():
        db = db_session()
        assignments = db.execute(
            select(Assignment).where(Assignment.counsellor_id == counsellor.user.id)
        ).scalars()
        assert [a.ended_by_id for a in assignments] == [admin.user.id]
        shares = db.execute(select(Share).where(Share.counsellor_id == counsellor.user.id))
        assert all(share.revoked_at is not None for share in shares.scalars())
        # The person's journal says their follow-up ended.
        actions = db.execute(
            select(JournalEvent.action).where(JournalEvent.vault_id == person.user.id)
        ).scalars()
        assert "assignment.ended" in list(actions)


def test_disabling_an_officer_cancels_their_open_escrow_requests(app: Flask) -> None:
    admin = make_account(app, Role.ADMINISTRATOR, "Alix", "Admin")
    officer = make_account(app, Role.RECOVERY_OFFICER, "Otto", "Officier")
    person = make_account(app)
    with app.app_context():
        db = db_session()
        request = recovery.open_escrow_request(
            db,
            get_escrow_key(),
            db.get(User, officer.user.id),  # type: ignore[arg-type]
            db.get(User, person.user.id),  # type: ignore[arg-type]
            recovery.IdentityCheck("id_card", "1234", date(2026, 1, 5)),
        )
        db.commit()
        request_id = request.id

    page = f"/admin/comptes/{officer.user.id}"
    assert post(signed_in(app, admin), f"{page}/desactiver", page).status_code == 302  # type: ignore[attr-defined]
    with app.app_context():
        request = db_session().get(RecoveryRequest, request_id)
        assert request is not None and request.status == recovery.CANCELLED


def test_an_administrator_cannot_disable_themselves_nor_a_person(app: Flask) -> None:
    admin = make_account(app, Role.ADMINISTRATOR, "Alix", "Admin")
    other = make_account(app, Role.ADMINISTRATOR, "Bea", "Admin")
    person = make_account(app)
    client = signed_in(app, admin)
    own = f"/admin/comptes/{admin.user.id}"
    response = client.post(
        f"{own}/desactiver", data={"csrf_token": csrf_token(client, own)}, follow_redirects=True
    )
    assert "Vous ne pouvez pas désactiver votre propre compte" in html.unescape(
        response.get_data(as_text=True)
    )
    assert status_of(app, admin) == AccountStatus.ACTIVE
    theirs = f"/admin/comptes/{person.user.id}"
    response = client.post(
        f"{theirs}/desactiver",
        data={"csrf_token": csrf_token(client, theirs)},
        follow_redirects=True,
    )
    assert "comptes des personnes" in html.unescape(response.get_data(as_text=True))
    assert status_of(app, person) == AccountStatus.ACTIVE
    assert status_of(app, other) == AccountStatus.ACTIVE


# --- the command ------------------------------------------------------------------------


def test_the_command_disables_and_enables_staff_with_one_line(app: Flask) -> None:
    make_account(app, Role.ADMINISTRATOR, "Alix", "Admin")
    staff = make_account(app, Role.COUNSELLOR, "Sam", "Staff")
    live = signed_in(app, staff)
    runner = app.test_cli_runner()

    result = runner.invoke(args=["accounts", "disable", staff.username])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines() == [
        f"accounts disable: OK: {staff.username} is disabled (1 session ended, 0 follow-ups ended)"
    ]
    assert status_of(app, staff) == AccountStatus.DISABLED
    assert live.get("/compte/").status_code == 302
    assert ("account.disabled", "ok", None) in events(app, staff)

    result = runner.invoke(args=["accounts", "enable", staff.username])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"accounts enable: OK: {staff.username} can sign in again"
    assert sign_in(app, staff).status_code == 302  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["disable", "nobody.here"], "accounts disable: FAILED: no account is named nobody.here"),
        (["enable", "nobody.here"], "accounts enable: FAILED: no account is named nobody.here"),
        (["disable", "camille.martin"], "accounts disable: REFUSED: camille.martin is a person"),
        (["disable", "alix.admin"], "accounts disable: REFUSED: the last active administrator"),
        (["enable", "alix.admin"], "accounts enable: REFUSED: alix.admin is not disabled"),
    ],
)
def test_the_command_refuses_bad_input_with_one_line(
    app: Flask, args: list[str], message: str
) -> None:
    make_account(app, Role.ADMINISTRATOR, "Alix", "Admin")
    open_pending(app, Role.ADMINISTRATOR, "Pat", "Pending")  # pending: not an active one
    make_account(app)  # camille.martin, a person
    result = app.test_cli_runner().invoke(args=["accounts", *args])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.output
    assert "Traceback" not in result.output


def test_disabled_staff_keep_their_slots_and_their_passphrase(app: Flask) -> None:
    """Enabling again needs no new activation: the same passphrase works."""
    staff = make_account(app, Role.RECOVERY_OFFICER, "Otto", "Officier")
    make_account(app, Role.ADMINISTRATOR, "Alix", "Admin")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["accounts", "disable", staff.username]).exit_code == 0
    assert runner.invoke(args=["accounts", "enable", staff.username]).exit_code == 0
    assert staff.passphrase == PASSPHRASE
    assert sign_in(app, staff).status_code == 302  # type: ignore[attr-defined]
