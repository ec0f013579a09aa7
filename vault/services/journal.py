"""Append to and verify the hash-chained journal (DESIGN.md §4).

Events are appended in the caller's transaction, so an operation and its
journal line commit or roll back together.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.models import JournalEvent, User
from vault.models.base import utcnow

GENESIS = "0" * 64


def _canonical(event: JournalEvent) -> bytes:
    body = {
        "seq": event.seq,
        "time": event.time.isoformat(),
        "vault": str(event.vault_id),
        "actor": str(event.actor_id) if event.actor_id else None,
        "role": event.actor_role,
        "action": event.action,
        "document": str(event.document_id) if event.document_id else None,
        "outcome": event.outcome,
        "details": json.loads(event.details),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(prev_hash: str, event: JournalEvent) -> str:
    return hashlib.sha256(prev_hash.encode() + _canonical(event)).hexdigest()


def append(
    db: Session,
    *,
    vault_id: uuid.UUID,
    action: str,
    actor: User | None,
    document_id: uuid.UUID | None = None,
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> JournalEvent:
    """Append one event to `vault_id`'s chain and flush it."""
    # Serialise appends to one chain: lock the owner's row (a no-op on SQLite,
    # where writers are serialised anyway). Locking the last event instead
    # would let two writers fork the chain when it is empty.
    # FOR NO KEY UPDATE: inserting documents takes FOR KEY SHARE locks on the
    # same row (foreign keys), which a plain FOR UPDATE would deadlock with.
    db.execute(select(User.id).where(User.id == vault_id).with_for_update(key_share=True))
    last = db.execute(
        select(JournalEvent.seq, JournalEvent.hash)
        .where(JournalEvent.vault_id == vault_id)
        .order_by(JournalEvent.seq.desc())
        .limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    event = JournalEvent(
        vault_id=vault_id,
        seq=seq,
        time=(now or utcnow()).replace(microsecond=0),
        actor_id=actor.id if actor else None,
        actor_role=actor.role if actor else "system",
        action=action,
        document_id=document_id,
        outcome=outcome,
        details=json.dumps(details or {}, sort_keys=True, separators=(",", ":")),
        prev_hash=prev,
    )
    event.hash = event_hash(prev, event)
    db.add(event)
    db.flush()
    return event


@dataclass(frozen=True)
class ChainProblem:
    vault_id: uuid.UUID
    seq: int
    problem: str  # "hash", "link" or "gap"


def verify(db: Session, vault_id: uuid.UUID | None = None) -> tuple[int, list[ChainProblem]]:
    """Check every chain (or one); return the number of events and the problems."""
    query = select(JournalEvent).order_by(JournalEvent.vault_id, JournalEvent.seq)
    if vault_id is not None:
        query = query.where(JournalEvent.vault_id == vault_id)
    problems: list[ChainProblem] = []
    count = 0
    current: uuid.UUID | None = None
    prev, expected_seq = GENESIS, 1
    for event in db.execute(query).scalars():
        count += 1
        if event.vault_id != current:
            current, prev, expected_seq = event.vault_id, GENESIS, 1
        if event.seq != expected_seq:
            problems.append(ChainProblem(event.vault_id, event.seq, "gap"))
        if event.prev_hash != prev:
            problems.append(ChainProblem(event.vault_id, event.seq, "link"))
        if event_hash(event.prev_hash, event) != event.hash:
            problems.append(ChainProblem(event.vault_id, event.seq, "hash"))
        prev, expected_seq = event.hash, event.seq + 1
    return count, problems


def events_for(
    db: Session, vault_id: uuid.UUID, *, limit: int = 200, before_seq: int | None = None
) -> list[JournalEvent]:
    query = select(JournalEvent).where(JournalEvent.vault_id == vault_id)
    if before_seq is not None:
        query = query.where(JournalEvent.seq < before_seq)
    return list(db.execute(query.order_by(JournalEvent.seq.desc()).limit(limit)).scalars())
