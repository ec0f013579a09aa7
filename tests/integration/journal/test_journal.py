"""The hash-chained journal: appends, and what `vault journal verify` detects."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import delete, select, update

from tests.factories import Account, make_account, make_document
from vault.core.db import db_session
from vault.core.extensions import get_keyring
from vault.journal import service as journal
from vault.journal.service import event_hash
from vault.models import JournalEvent, JournalHead


def chain(app: Flask, account: Account) -> list[JournalEvent]:
    return list(
        db_session()
        .execute(
            select(JournalEvent)
            .where(JournalEvent.vault_id == account.user.id)
            .order_by(JournalEvent.seq)
        )
        .scalars()
    )


def problems(app: Flask) -> set[str]:
    _, found = journal.verify(db_session(), ring=get_keyring())
    return {p.problem for p in found}


def busy_account(app: Flask) -> Account:
    account = make_account(app)
    for title in ("Un", "Deux", "Trois"):
        make_document(app, account, title=title)
    return account


def test_a_clean_journal_verifies(app: Flask) -> None:
    busy_account(app)
    with app.app_context():
        count, found = journal.verify(db_session(), ring=get_keyring())
        assert count >= 5 and found == []
    result = app.test_cli_runner().invoke(args=["journal", "verify"])
    assert result.exit_code == 0, result.output


def test_editing_a_row_is_detected(app: Flask) -> None:
    account = busy_account(app)
    with app.app_context():
        events = chain(app, account)
        db_session().execute(
            update(JournalEvent).where(JournalEvent.id == events[2].id).values(action="signin")
        )
        assert "hash" in problems(app)
        db_session().commit()
    result = app.test_cli_runner().invoke(args=["journal", "verify"])
    assert result.exit_code == 1


def test_deleting_a_middle_row_or_reordering_is_detected(app: Flask) -> None:
    account = busy_account(app)
    with app.app_context():
        events = chain(app, account)
        db_session().execute(delete(JournalEvent).where(JournalEvent.id == events[1].id))
        assert {"gap", "link"} <= problems(app)
    with app.app_context():
        events = chain(app, account)
        (a, a_seq), (b, b_seq) = [(e.id, e.seq) for e in events[-2:]]
        db = db_session()
        db.execute(update(JournalEvent).where(JournalEvent.id == a).values(seq=-1))
        db.execute(update(JournalEvent).where(JournalEvent.id == b).values(seq=a_seq))
        db.execute(update(JournalEvent).where(JournalEvent.id == a).values(seq=b_seq))
        assert {"link", "hash"} & problems(app)


def test_deleting_the_newest_rows_is_detected_by_the_head(app: Flask) -> None:
    account = busy_account(app)
    with app.app_context():
        last = chain(app, account)[-1]
        db_session().execute(delete(JournalEvent).where(JournalEvent.id == last.id))
        assert problems(app) == {"head"}


def test_rewriting_and_rehashing_is_detected_without_the_server_key(app: Flask) -> None:
    """A database administrator recomputes every hash and the head: the seal fails."""
    account = busy_account(app)
    with app.app_context():
        db = db_session()
        events = chain(app, account)
        events[1].action = "document.viewed"
        prev = events[0].hash
        for event in events[1:]:
            event.prev_hash = prev
            event.hash = event_hash(prev, event)
            prev = event.hash
        db.flush()
        db.execute(
            update(JournalHead).where(JournalHead.vault_id == account.user.id).values(hash=prev)
        )
        assert problems(app) == {"head"}


def test_deleting_a_whole_chain_is_detected(app: Flask) -> None:
    account = busy_account(app)
    with app.app_context():
        db = db_session()
        db.execute(delete(JournalEvent).where(JournalEvent.vault_id == account.user.id))
        db.execute(delete(JournalHead).where(JournalHead.vault_id == account.user.id))
        assert problems(app) == {"missing"}
