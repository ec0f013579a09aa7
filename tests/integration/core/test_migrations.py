"""Migrations: `upgrade head` gives exactly the models, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime

import pytest
from sqlalchemy import Connection, Engine, TableClause, text

from vault.core import migrate


def users_before_0015() -> TableClause:
    """The `users` columns a row needs in the migrations these tests go back to."""
    import sqlalchemy as sa

    from vault.models.base import UTCDateTime

    return sa.table(
        "users",
        sa.column("id", sa.Uuid()),
        *(sa.column(n, sa.String()) for n in ("username", "role", "status", "display_name")),
        sa.column("public_key", sa.LargeBinary()),
        sa.column("created_at", UTCDateTime()),
        sa.column("pending_deposits", sa.Integer()),
        sa.column("last_signin_at", UTCDateTime()),
    )


def insert_user(
    connection: Connection,
    user_id: uuid.UUID,
    name: str,
    *,
    role: str = "person",
    display_name: str | None = None,
    public_key: bytes = b"k",
    last_signin_at: datetime | None = None,
) -> None:
    """An active account row as the migrations these tests go back to knew it."""
    from vault.models.base import utcnow

    connection.execute(
        users_before_0015()
        .insert()
        .values(
            id=user_id,
            username=f"{name}-{user_id.hex[:8]}",
            role=role,
            status="active",
            display_name=display_name or name,
            public_key=public_key,
            created_at=utcnow(),
            pending_deposits=0,
            last_signin_at=last_signin_at,
        )
    )


def test_upgrade_head_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        assert migrate.current_revision(connection) == migrate.head_revision()
        assert migrate.pending_model_changes(connection) == []


def test_downgrade_and_upgrade_round_trip(engine: Engine) -> None:
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            migrate.downgrade(connection, "base")
            assert migrate.current_revision(connection) is None
            migrate.upgrade(connection)
            assert migrate.pending_model_changes(connection) == []
        finally:
            transaction.rollback()


def test_concurrent_upgrades_serialise_on_postgresql(engine: Engine) -> None:
    """Two replicas migrating at once: the second waits, then finds nothing to do."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has one writer at a time by construction")

    with engine.connect() as holder:
        holder.begin()
        holder.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": migrate.MIGRATION_LOCK_ID})
        finished = threading.Event()

        def second_replica() -> None:
            migrate.upgrade(engine)
            finished.set()

        thread = threading.Thread(target=second_replica)
        thread.start()
        assert not finished.wait(1.0), "the second upgrade did not wait for the lock"
        holder.rollback()
    thread.join(timeout=30)
    assert finished.is_set()


SEALED_TEXTS = "0010_sealed_request_texts"


def test_sealed_request_texts_seals_messages_and_drops_the_last_four(engine: Engine) -> None:
    """0010 on rows written before it: each message opens with its reader's key only,
    and no identity check keeps the last 4 characters of an ID in clear."""
    import json
    import uuid

    import sqlalchemy as sa
    from alembic.script import ScriptDirectory

    from crypto import derive_keypair, generate_data_key, open_sealed
    from vault.models.base import UTCDateTime, utcnow
    from vault.sharing.service import message_context

    requests = sa.table(
        "document_requests",
        *(sa.column(n, sa.Uuid()) for n in ("id", "vault_id", "counsellor_id")),
        *(sa.column(n, sa.String()) for n in ("doc_type", "message", "status")),
        sa.column("created_at", UTCDateTime()),
    )
    recoveries = sa.table(
        "recovery_requests",
        *(sa.column(n, sa.Uuid()) for n in ("id", "user_id")),
        *(sa.column(n, sa.String()) for n in ("kind", "status", "identity_check")),
        sa.column("created_at", UTCDateTime()),
    )
    parent = ScriptDirectory.from_config(migrate.alembic_config()).get_revision(SEALED_TEXTS)
    assert parent is not None
    secrets_ = {"person": generate_data_key(), "counsellor": generate_data_key()}
    ids = {name: uuid.uuid4() for name in secrets_}
    request_id, recovery_id = uuid.uuid4(), uuid.uuid4()
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            migrate.downgrade(connection, str(parent.down_revision))
            for name, secret in secrets_.items():
                insert_user(
                    connection,
                    ids[name],
                    name,
                    role=name,
                    public_key=derive_keypair(secret).public_bytes(),
                )
            connection.execute(
                requests.insert().values(
                    id=request_id,
                    vault_id=ids["person"],
                    counsellor_id=ids["counsellor"],
                    doc_type="cv",
                    message=" Pour le rendez-vous du 12 ",
                    status="open",
                    created_at=utcnow(),
                )
            )
            check = {"document": "passport", "last4": "QX7Z", "seen_on": "2026-12-01"}
            connection.execute(
                recoveries.insert().values(
                    id=recovery_id,
                    user_id=ids["person"],
                    kind="escrow",
                    status="pending",
                    identity_check=json.dumps(check),
                    created_at=utcnow(),
                )
            )

            migrate.upgrade(connection)

            sealed = sa.table(
                "document_requests",
                sa.column("id", sa.Uuid()),
                sa.column("message_for_person", sa.LargeBinary()),
                sa.column("message_for_counsellor", sa.LargeBinary()),
            )
            row = connection.execute(
                sa.select(sealed.c.message_for_person, sealed.c.message_for_counsellor).where(
                    sealed.c.id == request_id
                )
            ).one()
            for name, message in zip(("person", "counsellor"), row, strict=True):
                context = message_context(request_id, ids[name])
                keypair = derive_keypair(secrets_[name])
                assert open_sealed(keypair, message, context) == b"Pour le rendez-vous du 12"
            identity = connection.execute(
                sa.select(recoveries.c.identity_check).where(recoveries.c.id == recovery_id)
            ).scalar_one()
            assert json.loads(identity) == {"document": "passport", "seen_on": "2026-12-01"}
        finally:
            transaction.rollback()


ACCESS_UNTIL = "0015_assignment_access_until"


def test_access_until_is_copied_onto_active_assignments_of_released_people(
    engine: Engine,
) -> None:
    """0015 on rows written before it: the retention sweep's copy (D-200) is backfilled.

    Only active assignments of released people with an access day get it;
    an ended one, a detained person's, a follow-up without end keep None.
    """
    import uuid
    from datetime import date

    import sqlalchemy as sa
    from alembic.script import ScriptDirectory

    from vault.models.base import UTCDateTime, utcnow

    profiles = sa.table(
        "person_profiles",
        sa.column("user_id", sa.Uuid()),
        *(sa.column(n, sa.String()) for n in ("first_name", "last_name", "lifecycle")),
        sa.column("followup_continues", sa.Boolean()),
        sa.column("counsellor_access_until", sa.Date()),
    )
    assignments = sa.table(
        "assignments",
        *(sa.column(n, sa.Uuid()) for n in ("id", "person_id", "counsellor_id")),
        sa.column("started_at", UTCDateTime()),
        sa.column("ended_at", UTCDateTime()),
    )
    parent = ScriptDirectory.from_config(migrate.alembic_config()).get_revision(ACCESS_UNTIL)
    assert parent is not None
    day = date(2026, 11, 30)
    # name: (lifecycle, access day, assignment ended, expected copy)
    people = {
        "due": ("released", day, False, day),
        "ended": ("released", day, True, None),
        "followup": ("released", None, False, None),
        "detained": ("detained", None, False, None),
    }
    ids = {name: uuid.uuid4() for name in [*people, "counsellor"]}
    assignment_ids = {name: uuid.uuid4() for name in people}
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            migrate.downgrade(connection, str(parent.down_revision))
            for name, user_id in ids.items():
                insert_user(
                    connection,
                    user_id,
                    name,
                    role="counsellor" if name == "counsellor" else "person",
                )
            for name, (state, until, ended, _) in people.items():
                connection.execute(
                    profiles.insert().values(
                        user_id=ids[name],
                        first_name=name,
                        last_name="X",
                        lifecycle=state,
                        followup_continues=until is None,
                        counsellor_access_until=until,
                    )
                )
                connection.execute(
                    assignments.insert().values(
                        id=assignment_ids[name],
                        person_id=ids[name],
                        counsellor_id=ids["counsellor"],
                        started_at=utcnow(),
                        ended_at=utcnow() if ended else None,
                    )
                )

            migrate.upgrade(connection)

            copied = sa.table(
                "assignments", sa.column("id", sa.Uuid()), sa.column("access_until", sa.Date())
            )
            for name, (*_, expected) in people.items():
                value = connection.execute(
                    sa.select(copied.c.access_until).where(copied.c.id == assignment_ids[name])
                ).scalar_one()
                assert value == expected, name
        finally:
            transaction.rollback()


RETENTION_FROM = "0016_retention_from"


def test_retention_from_is_backfilled_for_the_released_without_a_pending_notice(
    engine: Engine,
) -> None:
    """0016 on rows written before it: the sweep's copy of the reference day (D-201).

    The later of the release and the last sign-in (its day in UTC), for the
    released only, and None while a notice is pending (a cancelled one does
    not count): what track_retention keeps from then on.
    """
    import uuid
    from datetime import UTC, date, datetime

    import sqlalchemy as sa
    from alembic.script import ScriptDirectory

    from vault.models.base import UTCDateTime, utcnow

    profiles = sa.table(
        "person_profiles",
        sa.column("user_id", sa.Uuid()),
        *(sa.column(n, sa.String()) for n in ("first_name", "last_name", "lifecycle")),
        sa.column("followup_continues", sa.Boolean()),
        sa.column("released_on", sa.Date()),
    )
    notices = sa.table(
        "retention_notices",
        *(sa.column(n, sa.Uuid()) for n in ("id", "user_id")),
        sa.column("deletion_on", sa.Date()),
        sa.column("sent_at", UTCDateTime()),
        sa.column("status", sa.String()),
    )
    parent = ScriptDirectory.from_config(migrate.alembic_config()).get_revision(RETENTION_FROM)
    assert parent is not None
    out = date(2025, 6, 1)
    late = datetime(2026, 2, 3, 23, 30, tzinfo=UTC)
    # name: (lifecycle, released on, last sign-in, notice status, expected copy)
    people = {
        "signed_after": ("released", out, late, None, date(2026, 2, 3)),
        "signed_before": ("released", out, datetime(2020, 1, 1, tzinfo=UTC), None, out),
        "never_signed": ("released", out, None, None, out),
        "noticed": ("released", out, None, "pending", None),
        "kept": ("released", out, late, "cancelled", date(2026, 2, 3)),
        "detained": ("detained", None, late, None, None),
        "closed": ("closed", out, late, "done", None),
    }
    ids = {name: uuid.uuid4() for name in people}
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            migrate.downgrade(connection, str(parent.down_revision))
            for name, (state, released_on, signin, notice, _) in people.items():
                insert_user(connection, ids[name], name, last_signin_at=signin)
                connection.execute(
                    profiles.insert().values(
                        user_id=ids[name],
                        first_name=name,
                        last_name="X",
                        lifecycle=state,
                        followup_continues=True,
                        released_on=released_on,
                    )
                )
                if notice:
                    connection.execute(
                        notices.insert().values(
                            id=uuid.uuid4(),
                            user_id=ids[name],
                            deletion_on=date(2027, 3, 1),
                            sent_at=utcnow(),
                            status=notice,
                        )
                    )

            migrate.upgrade(connection)

            copied = sa.table(
                "person_profiles",
                sa.column("user_id", sa.Uuid()),
                sa.column("retention_from", sa.Date()),
            )
            found = {
                name: connection.execute(
                    sa.select(copied.c.retention_from).where(copied.c.user_id == ids[name])
                ).scalar_one()
                for name in people
            }
            assert found == {name: row[-1] for name, row in people.items()}
        finally:
            transaction.rollback()


CASELOAD = "0018_caseload"


def test_person_name_is_copied_onto_every_assignment(engine: Engine) -> None:
    """0018 on rows written before it: the caseload's order (D-203), ended assignments too."""
    import uuid

    import sqlalchemy as sa
    from alembic.script import ScriptDirectory

    from vault.models.base import UTCDateTime, utcnow

    assignments = sa.table(
        "assignments",
        *(sa.column(n, sa.Uuid()) for n in ("id", "person_id", "counsellor_id")),
        sa.column("started_at", UTCDateTime()),
        sa.column("ended_at", UTCDateTime()),
    )
    parent = ScriptDirectory.from_config(migrate.alembic_config()).get_revision(CASELOAD)
    assert parent is not None
    names = {"person": "Élodie N'Diaye", "counsellor": "Claire Conseil"}
    ids = {name: uuid.uuid4() for name in names}
    assignment_ids = [uuid.uuid4(), uuid.uuid4()]
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            migrate.downgrade(connection, str(parent.down_revision))
            for name, display in names.items():
                insert_user(connection, ids[name], name, role=name, display_name=display)
            for assignment_id, ended in zip(assignment_ids, (None, utcnow()), strict=True):
                connection.execute(
                    assignments.insert().values(
                        id=assignment_id,
                        person_id=ids["person"],
                        counsellor_id=ids["counsellor"],
                        started_at=utcnow(),
                        ended_at=ended,
                    )
                )

            migrate.upgrade(connection)

            copied = sa.table(
                "assignments", sa.column("id", sa.Uuid()), sa.column("person_name", sa.String())
            )
            found = connection.execute(
                sa.select(copied.c.person_name).where(copied.c.id.in_(assignment_ids))
            ).scalars()
            assert list(found) == [names["person"]] * 2
        finally:
            transaction.rollback()
