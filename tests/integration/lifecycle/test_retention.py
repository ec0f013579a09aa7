"""Retention after release: the rule, notices, deletion for inactivity, `vault retention run`.

Real databases through the `app` fixture; the command through
`app.test_cli_runner()`, as an operator's cron would run it.
"""

from __future__ import annotations

import html as htmllib
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from tests.clock import utc_today
from tests.factories import (
    PASSPHRASE,
    Account,
    csrf_token,
    make_account,
    make_document,
    make_establishment,
    open_pending,
    signed_in,
)
from tests.helpers import post_form
from vault.core.db import db_session
from vault.core.extensions import get_keyring, get_store
from vault.documents.service import Unlocked
from vault.journal import service as journal
from vault.lifecycle import retention
from vault.lifecycle import service as lifecycle
from vault.lifecycle.retention import add_months, add_years
from vault.models import (
    Assignment,
    Blob,
    Document,
    JournalEvent,
    Lifecycle,
    RetentionNotice,
    Role,
    Share,
    ShareKey,
    User,
)
from vault.models.base import utcnow
from vault.sharing import service as sharing


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def released_person(
    app: Flask, *, released_on: date, last_signin: date | None, followup: bool = True
) -> Account:
    place = make_establishment(app)
    admin = make_account(app, Role.ADMINISTRATOR, "Ada", "Admin")
    person = make_account(app, first="Alex", last="Martin", establishment_id=place.id)
    with app.app_context():
        db = db_session()
        user = db.get(User, person.user.id)
        assert user is not None
        lifecycle.record_release(
            db,
            user,
            released_on,
            followup_continues=followup,
            by=db.get(User, admin.user.id),  # type: ignore[arg-type]
            grace_days=30,
            today=utc_today(),
        )
        # Signed in last on that day: the sweep's copy of the reference day
        # follows, as sign-in keeps it (D-201).
        user.last_signin_at = midnight(last_signin) if last_signin else None
        lifecycle.track_retention(user)
        db.commit()
    return person


def run(app: Flask, *args: str) -> tuple[int, list[str]]:
    result = app.test_cli_runner().invoke(args=["retention", "run", *args])
    return result.exit_code, result.output.splitlines()


def notices(app: Flask, user_id: uuid.UUID) -> list[tuple[str, date]]:
    with app.app_context():
        rows = db_session().execute(
            select(RetentionNotice.status, RetentionNotice.deletion_on)
            .where(RetentionNotice.user_id == user_id)
            .order_by(RetentionNotice.sent_at)
        )
        return [(s, d) for s, d in rows]


def events(app: Flask, vault_id: uuid.UUID) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db_session().execute(
            select(JournalEvent.action, JournalEvent.actor_role)
            .where(JournalEvent.vault_id == vault_id)
            .order_by(JournalEvent.seq)
        )
        return [(a, r) for a, r in rows]


# --- the rule ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 5, 15), -3, date(2026, 2, 15)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 3, 1), 36, date(2029, 3, 1)),
    ],
)
def test_calendar_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


def test_the_period_starts_at_the_latest_of_release_and_last_sign_in() -> None:
    from vault.models import PersonProfile

    person = User(role=Role.PERSON)
    person.profile = PersonProfile(first_name="A", last_name="B", lifecycle=Lifecycle.DETAINED)
    person.last_signin_at = midnight(date(2020, 1, 1))
    assert retention.kept_until(person, 3) is None  # never while detained
    person.profile.lifecycle = Lifecycle.RELEASED
    person.profile.released_on = date(2025, 6, 1)
    # Last signed in long before release, in detention: counted from the release.
    assert retention.kept_until(person, 3) == date(2028, 6, 1)
    person.last_signin_at = midnight(date(2026, 2, 3))
    assert retention.kept_until(person, 3) == date(2029, 2, 3)
    person.last_signin_at = None
    assert retention.kept_until(person, 2) == date(2027, 6, 1)


def test_rule_text(app: Flask) -> None:
    with app.test_request_context():
        three = retention.rule_text(3)
        one = retention.rule_text(1)
    assert "gardé 3 ans après votre dernière connexion" in three
    assert "pendant toute la détention" in three
    assert "au moins 3 mois avant" in three
    assert "gardé 1 an après" in one


# --- notices and deletion ---------------------------------------------------------------


def test_notice_then_deletion(app: Flask) -> None:
    today = utc_today()
    released_on = add_months(today, -34)  # 3 years end in 2 months: notice due
    person = released_person(app, released_on=released_on, last_signin=released_on)
    document = make_document(app, person)
    make_document(app, person, title="CV", category="work", doc_type="cv")
    with app.app_context():
        blob_keys = list(db_session().execute(select(Blob.key)).scalars())
    user_id = person.user.id

    code, lines = run(app, "--dry-run")
    assert code == 0
    expected_deletion = add_months(today, 3)  # at least 3 months after the notice
    assert f"would notify {user_id}: deletion on {expected_deletion.isoformat()}" in lines
    assert lines[-1].startswith("retention run: dry run, nothing changed (1 notice(s)")
    assert notices(app, user_id) == []

    code, lines = run(app)
    assert code == 0, lines
    assert lines[0] == f"notified {user_id}: deletion on {expected_deletion.isoformat()}"
    assert lines[-1].startswith("retention run: OK (1 notice(s), 0 cancelled, 0 vault(s) deleted")
    assert notices(app, user_id) == [("pending", expected_deletion)]
    assert ("retention.notice", "system") in events(app, user_id)
    # Nothing more to do until the deadline.
    assert run(app)[1] == [
        "retention run: OK (0 notice(s), 0 cancelled, 0 vault(s) deleted, 0 counsellor access "
        "ended; kept 3 year(s) after the last sign-in)"
    ]

    # The person sees it in the app (before signing in again: the notice is
    # shown on their page from any session still open).
    with app.app_context():
        db = db_session()
        notice = db.execute(select(RetentionNotice)).scalar_one()
        notice.deletion_on = today - timedelta(days=1)
        notice.sent_at = utcnow() - timedelta(days=95)
        db.commit()
    code, lines = run(app, "--dry-run")
    assert f"would delete {user_id}: notice ran out on {(today - timedelta(days=1))}" in lines
    assert count(app, Document) == 2

    code, lines = run(app)
    assert code == 0, lines
    assert lines[0] == (
        f"deleted {user_id}: notice ran out on {today - timedelta(days=1)}, 2 document(s)"
    )
    assert count(app, Document) == 0
    assert count(app, Blob) == 0
    with app.app_context():
        store = get_store()
        assert [key for key in blob_keys if store.exists(key)] == []
        user = db_session().get(User, user_id)
        assert user is not None and user.profile is not None
        assert user.profile.lifecycle == Lifecycle.CLOSED
        assert user.status == "disabled"
        assert journal.verify(db_session(), user_id, ring=get_keyring())[1] == []
    assert notices(app, user_id) == [("done", today - timedelta(days=1))]
    assert events(app, user_id)[-1] == ("vault.deleted", "system")
    # Deletion for inactivity does not speak for the person.
    assert ("document.deleted", "person") not in events(app, user_id)
    assert document.id  # gone from the database, only this object remains
    # Closed: never noticed again.
    assert run(app)[1][0].startswith("retention run: OK (0 notice(s)")


def count(app: Flask, model: type) -> int:
    with app.app_context():
        return int(db_session().execute(select(func.count()).select_from(model)).scalar_one())


def test_never_while_detained(app: Flask) -> None:
    person = make_account(app, establishment_id=make_establishment(app).id)
    with app.app_context():
        db = db_session()
        user = db.get(User, person.user.id)
        assert user is not None
        user.last_signin_at = midnight(utc_today() - timedelta(days=3650))
        db.commit()
    code, lines = run(app)
    assert code == 0
    assert lines[0].startswith("retention run: OK (0 notice(s)")
    assert notices(app, person.user.id) == []


def test_signing_in_keeps_the_vault(app: Flask) -> None:
    today = utc_today()
    released_on = add_months(today, -35)
    person = released_person(app, released_on=released_on, last_signin=released_on)
    assert run(app)[0] == 0
    [(status, deletion_on)] = notices(app, person.user.id)
    assert status == "pending"

    # The person's page shows the notice.
    with app.app_context():
        db = db_session()
        user = db.get(User, person.user.id)
        assert user is not None
        kept = user.last_signin_at
    client = app.test_client()
    response = client.post(
        "/connexion",
        data={
            "username": person.username,
            "passphrase": person.passphrase,
            "csrf_token": csrf_token(client, "/connexion"),
        },
        follow_redirects=True,
    )
    html = htmllib.unescape(response.get_data(as_text=True))
    assert "allait être supprimé le" in html
    assert "Cette connexion le garde" in html
    assert notices(app, person.user.id) == [("cancelled", deletion_on)]
    assert ("retention.kept", "person") in events(app, person.user.id)
    with app.app_context():
        user = db_session().get(User, person.user.id)
        assert user is not None and user.last_signin_at and user.last_signin_at != kept
        assert retention.kept_until(user, 3) == add_years(today, 3)
    page = htmllib.unescape(client.get("/ma-sortie").get_data(as_text=True))
    assert f"après le {add_years(today, 3).day}" in page
    assert run(app)[1][0].startswith("retention run: OK (0 notice(s)")


def test_a_notice_shows_on_my_release_page(app: Flask) -> None:
    released_on = add_months(utc_today(), -35)
    person = released_person(app, released_on=released_on, last_signin=released_on)
    client = signed_in(app, person)  # signs in: the clock starts again...
    with app.app_context():
        db = db_session()
        user = db.get(User, person.user.id)
        assert user is not None
        user.last_signin_at = midnight(released_on)  # ...unless we turn it back
        lifecycle.track_retention(user)
        db.commit()
    assert run(app)[0] == 0
    html = htmllib.unescape(client.get("/ma-sortie").get_data(as_text=True))
    assert "Votre coffre sera supprimé le" in html


@pytest.mark.parametrize("why", ["signed_in", "detained_again"])
def test_notices_that_no_longer_hold_are_cancelled(app: Flask, why: str) -> None:
    released_on = add_months(utc_today(), -35)
    person = released_person(app, released_on=released_on, last_signin=released_on)
    assert run(app)[0] == 0
    with app.app_context():
        db = db_session()
        user = db.get(User, person.user.id)
        assert user is not None and user.profile is not None
        notice = db.execute(select(RetentionNotice)).scalar_one()
        notice.deletion_on = utc_today() - timedelta(days=1)
        notice.sent_at = utcnow() - timedelta(days=100)
        if why == "signed_in":
            user.last_signin_at = utcnow() - timedelta(days=2)
        else:
            user.profile.lifecycle = Lifecycle.DETAINED
        db.commit()
    code, lines = run(app)
    assert code == 0
    assert lines[0] == f"cancelled notice {person.user.id}: signed in or detained again"
    assert notices(app, person.user.id)[0][0] == "cancelled"
    # The copy of the reference day comes back with the cancelled notice (D-201).
    signed = utc_today() - timedelta(days=2) if why == "signed_in" else None
    assert retention_from(app, person.user.id) == signed
    with app.app_context():
        assert db_session().execute(select(func.count(Document.id))).scalar_one() == 0
        user = db_session().get(User, person.user.id)
        assert user is not None and user.status == "active"


def retention_from(app: Flask, user_id: uuid.UUID) -> date | None:
    """The sweep's copy of the reference day on the person's profile (D-201)."""
    with app.app_context():
        user = db_session().get(User, user_id)
        assert user is not None and user.profile is not None
        return user.profile.retention_from


def turn_last_signin_back(app: Flask, user_id: uuid.UUID, day: date) -> None:
    """As if the person had last signed in on `day` (sign-in keeps the copy, so does this)."""
    with app.app_context():
        db = db_session()
        user = db.get(User, user_id)
        assert user is not None
        user.last_signin_at = midnight(day)
        lifecycle.track_retention(user)
        db.commit()


def test_the_sweeps_copy_of_the_reference_day_follows_every_writer(app: Flask) -> None:
    """What the sweep selects by is kept by the release, activation, notices, sign-in, deletion.

    Otherwise a notice would never be sent (a copy too late or None: the vault
    kept for ever) or the person read every day for nothing (too early).
    """
    today = utc_today()
    released_on = add_months(today, -35)
    # Opened at the probation service after release: released before activation.
    new = open_pending(app, establishment_id=make_establishment(app).id)
    user_id = new.user.id
    assert retention_from(app, user_id) is None  # not released
    with app.app_context():
        db = db_session()
        user = db.get(User, user_id)
        assert user is not None
        lifecycle.record_release(
            db, user, released_on, followup_continues=True, by=None, grace_days=30, today=today
        )
        db.commit()
    assert retention_from(app, user_id) == released_on  # never signed in

    # Activation through its pages: the first sign-in starts the period today.
    client = app.test_client()
    code = new.activation_code
    assert (
        post_form(client, "/activer", {"username": new.user.username, "code": code}).status_code
        == 302
    )
    chosen = {"passphrase": PASSPHRASE, "confirm": PASSPHRASE}
    assert post_form(client, "/activer/phrase-secrete", chosen).status_code == 302
    assert retention_from(app, user_id) == today

    # Three years less three months later, as far as the rule can tell.
    turn_last_signin_back(app, user_id, released_on)
    assert retention_from(app, user_id) == released_on
    assert run(app)[1][0].startswith("notified")
    assert retention_from(app, user_id) is None  # a notice is pending: nothing more to send

    # Signing in through the form cancels the notice and starts the period again.
    person = Account(new.user, b"", PASSPHRASE, "")  # only its name and phrase are used
    signed_in(app, person)
    assert notices(app, user_id)[0][0] == "cancelled"
    assert retention_from(app, user_id) == today
    assert run(app)[1][0].startswith("retention run: OK (0 notice(s)")

    # Noticed again, then deleted when the notice runs out: closed, no copy.
    turn_last_signin_back(app, user_id, released_on)
    assert run(app)[1][0].startswith("notified")
    with app.app_context():
        db = db_session()
        notice = db.execute(select(RetentionNotice).where(RetentionNotice.status == "pending"))
        pending = notice.scalar_one()
        pending.deletion_on = today - timedelta(days=1)
        db.commit()
    assert run(app)[1][0].startswith(f"deleted {user_id}")
    assert retention_from(app, user_id) is None


def test_a_copy_too_early_never_brings_a_notice_forward(app: Flask) -> None:
    """The copy only chooses what to read; the rule decides (docs/lifecycle.md)."""
    today = utc_today()
    person = released_person(app, released_on=today - timedelta(days=40), last_signin=today)
    with app.app_context():
        db = db_session()
        user = db.get(User, person.user.id)
        assert user is not None and user.profile is not None
        user.profile.retention_from = date(2000, 1, 1)  # written by hand, wrongly
        db.commit()
    assert run(app)[1][0].startswith("retention run: OK (0 notice(s)")
    assert notices(app, person.user.id) == []


def test_counsellor_access_ends_after_the_grace_period(app: Flask) -> None:
    person = make_account(app, establishment_id=make_establishment(app).id)
    counsellor = make_account(app, Role.COUNSELLOR, "Claire", "Conseil")
    admin = make_account(app, Role.ADMINISTRATOR, "Ada", "Admin")
    document = make_document(app, person)
    with app.app_context():
        db = db_session()
        user = db.get(User, person.user.id)
        by = db.get(User, admin.user.id)
        assert user and by
        sharing.assign(db, user, db.get(User, counsellor.user.id), by=by)  # type: ignore[arg-type]
        doc = db.get(Document, document.id)
        assert doc is not None
        sharing.share_document(
            db, get_keyring(), Unlocked(user, person.key), doc, counsellor.user.id
        )
        released_on = utc_today() - timedelta(days=40)
        lifecycle.record_release(
            db,
            user,
            released_on,
            followup_continues=False,
            by=by,
            grace_days=30,
            today=utc_today(),
        )
        db.commit()
    code, lines = run(app)
    assert code == 0
    until = released_on + timedelta(days=30)
    assert lines[0] == f"ended counsellor access {person.user.id}: grace period over on {until}"
    with app.app_context():
        db = db_session()
        assert db.execute(select(func.count(ShareKey.id))).scalar_one() == 0
        assert (
            db.execute(
                select(func.count(Assignment.id)).where(Assignment.ended_at.is_(None))
            ).scalar_one()
            == 0
        )
        share = db.execute(select(Share)).scalar_one()
        assert share.revoked_at is not None
    assert ("assignment.ended", "system") in events(app, person.user.id)
    assert run(app)[1][0].endswith(
        "0 counsellor access ended; kept 3 year(s) after the last sign-in)"
    )


def test_failure_is_one_line_and_a_status(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(retention, "plan", broken)
    result = app.test_cli_runner().invoke(args=["retention", "run"])
    assert result.exit_code == 1
    assert result.output.strip() == "retention run: FAILED: database: OperationalError"


def active_access_until(app: Flask, person_id: uuid.UUID) -> list[date | None]:
    """The copy of the access day on the person's active assignments (D-200)."""
    with app.app_context():
        return list(
            db_session()
            .execute(
                select(Assignment.access_until).where(
                    Assignment.person_id == person_id, Assignment.ended_at.is_(None)
                )
            )
            .scalars()
        )


def test_access_ends_for_assignments_made_after_release_and_after_a_new_release(
    app: Flask,
) -> None:
    """Every writer of the access day keeps the assignments' copy, which the sweep reads.

    Released with follow-up (no day), a counsellor assigned then, follow-up
    stopped: ended. Detained again (as test_notices_that_no_longer_hold_are_cancelled
    does), assigned again and released again: ended again.
    """
    person = released_person(app, released_on=utc_today() - timedelta(days=40), last_signin=None)
    first = make_account(app, Role.COUNSELLOR, "Claire", "Conseil")
    second = make_account(app, Role.COUNSELLOR, "Camille", "Suivi")
    with app.app_context():
        db = db_session()
        user, by = (
            db.get(User, person.user.id),
            db.execute(select(User).where(User.role == Role.ADMINISTRATOR)).scalar_one(),
        )
        assert user is not None
        sharing.assign(db, user, db.get(User, first.user.id), by=by)  # type: ignore[arg-type]
        db.commit()
    assert active_access_until(app, person.user.id) == [None]
    assert run(app)[1][-1].endswith(
        "0 counsellor access ended; kept 3 year(s) after the last sign-in)"
    )

    with app.app_context():
        db = db_session()
        user = db.get(User, person.user.id)
        assert user is not None
        lifecycle.set_followup(db, user, False, by=by, grace_days=30)  # type: ignore[arg-type]
        db.commit()
    until = utc_today() - timedelta(days=10)
    assert active_access_until(app, person.user.id) == [until]
    code, lines = run(app)
    assert code == 0
    assert lines[0] == f"ended counsellor access {person.user.id}: grace period over on {until}"
    assert active_access_until(app, person.user.id) == []

    with app.app_context():
        db = db_session()
        user = db.get(User, person.user.id)
        assert user is not None and user.profile is not None
        user.profile.lifecycle = Lifecycle.DETAINED
        db.flush()
        sharing.assign(db, user, db.get(User, second.user.id), by=by)  # type: ignore[arg-type]
        db.commit()
    # Detained: no copy, so nothing for the sweep.
    assert active_access_until(app, person.user.id) == [None]
    with app.app_context():
        db = db_session()
        user = db.get(User, person.user.id)
        assert user is not None
        again = utc_today() - timedelta(days=31)
        lifecycle.record_release(
            db, user, again, followup_continues=False, by=by, grace_days=30, today=utc_today()
        )
        db.commit()
    until = again + timedelta(days=30)
    assert active_access_until(app, person.user.id) == [until]
    code, lines = run(app)
    assert lines[0] == f"ended counsellor access {person.user.id}: grace period over on {until}"
    assert active_access_until(app, person.user.id) == []


def test_an_assignment_during_the_grace_period_carries_its_end(app: Flask) -> None:
    """Assigned after a release without follow-up: the copy is made at once, access ends on time."""
    released_on = utc_today() - timedelta(days=5)
    person = released_person(app, released_on=released_on, last_signin=None, followup=False)
    counsellor = make_account(app, Role.COUNSELLOR, "Claire", "Conseil")
    with app.app_context():
        db = db_session()
        user = db.get(User, person.user.id)
        assert user is not None
        sharing.assign(db, user, db.get(User, counsellor.user.id), by=None)  # type: ignore[arg-type]
        db.commit()
    until = released_on + timedelta(days=30)
    assert active_access_until(app, person.user.id) == [until]
    # Within the grace period: nothing to end.
    assert run(app)[1][-1].endswith(
        "0 counsellor access ended; kept 3 year(s) after the last sign-in)"
    )
    with app.app_context():
        db = db_session()
        actions = retention.plan(db, today=until + timedelta(days=1), years=3)
    assert [(a.kind, a.user_id, a.day) for a in actions] == [("end_access", person.user.id, until)]
