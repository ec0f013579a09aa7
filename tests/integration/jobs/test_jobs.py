"""`vault jobs run`: each job does what is due once, journaled in `job_runs`, one run at a time.

Real databases through the `app` fixture (SQLite and PostgreSQL); the command
through `app.test_cli_runner()`, as the compose file's scheduler runs it. The
parallel test runs two whole runs at once on PostgreSQL, each with its own
connections, as two machines would.
"""

from __future__ import annotations

import fcntl
import io
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, select, text

import storage
from tests.conftest import fresh_postgresql_schema
from tests.factories import Account, make_account, make_document, open_pending, signed_in
from vault.core import migrate
from vault.core.db import db_session, make_engine
from vault.core.extensions import get_keyring, get_settings, get_store
from vault.documents.service import Unlocked
from vault.jobs import lock, runner
from vault.lifecycle import service as lifecycle
from vault.models import (
    Document,
    ExternalLink,
    JobOutcome,
    JobRun,
    KeySlot,
    Lifecycle,
    PersonProfile,
    RetentionNotice,
    Role,
    ServerSession,
    ShareKey,
    SlotKind,
    User,
)
from vault.models.base import utcnow
from vault.sharing import links
from vault.sharing import service as sharing


@dataclass
class Due:
    person: Account
    share_id: object
    link_id: object
    pending_id: object
    orphan_key: str


def make_due_work(app: Flask) -> Due:
    """One item due for each job, and as many that are not due yet."""
    person = make_account(app, first="Alice", last="Jobs")
    cpip = make_account(app, Role.COUNSELLOR, first="Claire", last="Cpip")
    admin = make_account(app, Role.ADMINISTRATOR, first="Ada", last="Admin")
    released = make_account(app, first="Remy", last="Released")
    doc = make_document(app, person)
    other_doc = make_document(
        app, person, title="Diplôme", category="education", doc_type="diploma"
    )
    signed_in(app, person)  # a server session, to be expired below
    pending = open_pending(app, first="Paul", last="Pending")
    open_pending(app, first="Nina", last="Notyet")  # its code is still good
    with app.app_context():
        db = db_session()
        owner = Unlocked(db.get(User, person.user.id), person.key)  # type: ignore[arg-type]
        sharing.assign(
            db,
            db.get(User, person.user.id),
            db.get(User, cpip.user.id),
            by=db.get(User, admin.user.id),
        )  # type: ignore[arg-type]
        document = db.get(Document, doc.id)
        expired_share = sharing.share_document(
            db, get_keyring(), owner, document, cpip.user.id, days=1
        )  # type: ignore[arg-type]
        sharing.share_document(
            db, get_keyring(), owner, db.get(Document, other_doc.id), cpip.user.id, days=30
        )  # type: ignore[arg-type]
        expired_link, _ = links.create_link(
            db, get_keyring(), owner, doc.id, recipient="employer", days=7
        )
        links.create_link(db, get_keyring(), owner, doc.id, recipient="employer", days=7)
        db.commit()
        past = utcnow() - timedelta(minutes=1)
        expired_share.expires_at = past
        expired_link.expires_at = past
        db.get(User, pending.user.id).activation_expires_at = past  # type: ignore[union-attr]
        for row in db.execute(
            select(ServerSession).where(ServerSession.user_id == person.user.id)
        ).scalars():
            row.expires_at = past
        # Released four years ago, never signed in since: a retention notice is due.
        profile = db.get(PersonProfile, released.user.id)
        assert profile is not None
        profile.lifecycle = Lifecycle.RELEASED
        profile.released_on = date.today() - timedelta(days=4 * 366)
        user = db.get(User, released.user.id)
        assert user is not None
        user.last_signin_at = None
        # The sweep's copy of the reference day follows, as the release keeps it (D-201).
        lifecycle.track_retention(user)
        db.commit()
        orphan = storage.new_key("documents")
        store = get_store()
        store.put(orphan, io.BytesIO(b"x" * 100), 100)
        # Older than the grace period: a local blob's age is its file's.
        day_old = (utcnow() - timedelta(hours=25)).timestamp()
        assert isinstance(store, storage.LocalBlobStore)
        os.utime(store.root / orphan, (day_old, day_old))
        store.put(storage.new_key("documents"), io.BytesIO(b"young"), 5)  # in flight: kept
        return Due(person, expired_share.id, expired_link.id, pending.user.id, orphan)


EXPECTED = {
    "retention": 1,
    "shares": 1,
    "links": 1,
    "activations": 1,
    "sessions": 1,
    "storage": 1,
}


def check_done(app: Flask, due: Due) -> None:
    with app.app_context():
        db = db_session()
        assert db.execute(select(ShareKey).where(ShareKey.share_id == due.share_id)).first() is None
        # The share that has not ended keeps its key.
        assert db.execute(select(ShareKey)).first() is not None
        wrapped = dict(db.execute(select(ExternalLink.id, ExternalLink.wrapped)).all())
        assert wrapped[due.link_id] is None
        assert sum(w is not None for w in wrapped.values()) == 1
        slots = db.execute(
            select(KeySlot.user_id).where(KeySlot.kind == SlotKind.ACTIVATION)
        ).scalars()
        assert due.pending_id not in set(slots)
        assert len(list(db.execute(select(RetentionNotice)).scalars())) == 1
        assert not get_store().exists(due.orphan_key)


def run_cli(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["jobs", *args])
    return result.exit_code, result.output


def test_run_does_each_job_once_and_journals_it(app: Flask) -> None:
    due = make_due_work(app)
    code, output = run_cli(app, "run")
    assert code == 0, output
    for job in EXPECTED:
        assert f"{job}: ok" in output
    assert "jobs run: OK (6 job(s))" in output
    check_done(app, due)
    with app.app_context():
        rows = list(db_session().execute(select(JobRun)).scalars())
        assert {r.job: r.items for r in rows} == EXPECTED
        assert {r.outcome for r in rows} == {JobOutcome.OK}
        # Counts only: nothing of the people involved.
        for row in rows:
            for word in ("Alice", "Remy", "Paul", str(due.person.user.id), due.orphan_key):
                assert word not in row.summary
    assert "Alice" not in output and due.person.username not in output

    # Nothing is due any more: a second run handles nothing.
    code, output = run_cli(app, "run")
    assert code == 0, output
    with app.app_context():
        last = runner.last_runs(db_session())
        assert {name: run.items for name, run in last.items()} == dict.fromkeys(EXPECTED, 0)
    code, output = run_cli(app, "status")
    assert code == 0
    assert "retention: ok at " in output and "0 item(s)" in output


def test_only_runs_the_named_job(app: Flask) -> None:
    due = make_due_work(app)
    code, output = run_cli(app, "run", "--only", "links")
    assert code == 0, output
    assert "links: ok (1 finished link(s)" in output and "shares:" not in output
    with app.app_context():
        db = db_session()
        assert db.execute(select(ShareKey).where(ShareKey.share_id == due.share_id)).first()
    code, output = run_cli(app, "status")
    assert "shares: never run" in output


@pytest.fixture
def jobs_lock_taken(app: Flask, engine: Engine) -> Iterator[None]:
    """The jobs lock held by someone else (another machine's run), as the lock module takes it."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as other:
            other.execute(text("SELECT pg_advisory_lock(:id)"), {"id": lock.JOBS_LOCK_ID})
            yield
            other.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": lock.JOBS_LOCK_ID})
    else:
        path = Path(get_settings(app).instance_path) / lock.LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
        os.close(fd)


def test_a_run_that_finds_the_lock_taken_does_nothing(app: Flask, jobs_lock_taken: None) -> None:
    due = make_due_work(app)
    code, output = run_cli(app, "run")
    assert code == 0, output
    assert "skipped: another run holds the lock" in output
    with app.app_context():
        db = db_session()
        assert db.execute(select(ShareKey).where(ShareKey.share_id == due.share_id)).first()
        rows = list(db.execute(select(JobRun)).scalars())
        assert [(r.job, r.outcome) for r in rows] == [(runner.ALL, JobOutcome.SKIPPED)]


def test_a_failing_job_is_recorded_and_the_others_run(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    due = make_due_work(app)
    store = get_store(app)

    def unreachable(*_args: object, **_kwargs: object) -> Iterator[storage.BlobInfo]:
        raise storage.StorageUnavailable("down")

    monkeypatch.setattr(store, "list", unreachable)
    code, output = run_cli(app, "run")
    assert code == 1
    assert "storage: failed (failed: StorageUnavailable)" in output
    assert "jobs run: FAILED: storage" in output
    with app.app_context():
        db = db_session()
        assert db.execute(select(ShareKey).where(ShareKey.share_id == due.share_id)).first() is None
        assert runner.last_runs(db)["storage"].outcome == JobOutcome.FAILED


def test_two_runs_at_once_on_postgresql_do_the_work_once(make_app: object, tmp_path: Path) -> None:
    """Two machines' timers fire together: the work is done once, whoever does it."""
    with fresh_postgresql_schema() as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        app = make_app(database_url=url)  # type: ignore[operator]
        due = make_due_work(app)
        start = threading.Barrier(2)
        reports: list[runner.Report] = []
        errors: list[BaseException] = []

        def one_machine() -> None:
            try:
                with app.app_context():
                    start.wait()
                    reports.append(
                        runner.run_due(
                            db_session(),
                            get_store(),
                            instance_path=tmp_path / "machine",
                            retention_years=get_settings().retention_years,
                        )
                    )
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=one_machine) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        assert len(reports) == 2
        handled: dict[str, int] = {}
        for report in reports:
            for result in report.results:
                assert result.outcome == JobOutcome.OK
                handled[result.job] = handled.get(result.job, 0) + result.items
        assert handled == EXPECTED
        check_done(app, due)


def test_a_job_that_breaks_is_recorded_and_logged_and_the_others_run(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    due = make_due_work(app)

    def broken(*_args: object) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr(links, "forget_finished", broken)
    code, output = run_cli(app, "run")
    assert code == 1
    assert "links: failed (failed: RuntimeError)" in output
    assert "job links failed" in caplog.text
    check_shares = "shares: ok (1 expired share(s)"
    assert check_shares in output and "storage: ok" in output
    with app.app_context():
        db = db_session()
        assert db.get(ExternalLink, due.link_id).wrapped is not None  # type: ignore[union-attr]
        assert runner.last_runs(db)["links"].outcome == JobOutcome.FAILED
