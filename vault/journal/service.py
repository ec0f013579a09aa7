"""Append to and verify the hash-chained journal (docs/architecture.md §4).

Events are appended in the caller's transaction, so an operation and its
journal line commit or roll back together.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.orm import Session

from crypto import CryptoError, KeyRing
from vault.core.envelope import journal_head_aad
from vault.journal.chain import GENESIS, chain_hash
from vault.models import JournalEvent, JournalHead, User
from vault.models.base import utcnow

__all__ = [
    "GENESIS",
    "ChainProblem",
    "append",
    "event_fields",
    "event_hash",
    "events_for",
    "last_own_event",
    "verify",
]


def event_fields(event: JournalEvent) -> dict[str, Any]:
    """The fields of `event` that its hash covers (vault.journal.chain.CHAIN_FIELDS)."""
    return {
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


def event_hash(prev_hash: str, event: JournalEvent) -> str:
    return chain_hash(prev_hash, event_fields(event))


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
    _seal_head(db, vault_id, seq, event.hash)
    db.flush()
    return event


def _seal_head(db: Session, vault_id: uuid.UUID, seq: int, digest: str) -> None:
    ring: KeyRing | None = db.info.get("keyring")
    if ring is None:
        raise RuntimeError("journal.append needs a session from vault.core.db.db_session()")
    seal = ring.wrap(b"", journal_head_aad(vault_id, seq, digest))
    head = db.get(JournalHead, vault_id)
    if head is None:
        db.add(JournalHead(vault_id=vault_id, seq=seq, hash=digest, seal=seal))
    else:
        head.seq, head.hash, head.seal = seq, digest, seal


@dataclass(frozen=True)
class ChainProblem:
    vault_id: uuid.UUID
    seq: int
    # "hash", "link", "gap", "head" (newest rows missing or head altered),
    # "missing" (an account whose whole chain is gone)
    problem: str


def verify(
    db: Session, vault_id: uuid.UUID | None = None, ring: KeyRing | None = None
) -> tuple[int, list[ChainProblem]]:
    """Check every chain (or one); return the number of events and the problems.

    With `ring`, each chain's end is also checked against its sealed head.
    """
    query = select(JournalEvent).order_by(JournalEvent.vault_id, JournalEvent.seq)
    if vault_id is not None:
        query = query.where(JournalEvent.vault_id == vault_id)
    problems: list[ChainProblem] = []
    ends: dict[uuid.UUID, tuple[int, str]] = {}
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
        ends[event.vault_id] = (event.seq, event.hash)
    if ring is not None:
        problems.extend(_check_heads(db, ring, ends, vault_id))
    return count, problems


def _check_heads(
    db: Session,
    ring: KeyRing,
    ends: dict[uuid.UUID, tuple[int, str]],
    vault_id: uuid.UUID | None,
) -> list[ChainProblem]:
    problems = []
    heads_query = select(JournalHead)
    users_query = select(User.id)
    if vault_id is not None:
        heads_query = heads_query.where(JournalHead.vault_id == vault_id)
        users_query = users_query.where(User.id == vault_id)
    heads = {h.vault_id: h for h in db.execute(heads_query).scalars()}
    for chain, (seq, digest) in ends.items():
        head = heads.get(chain)
        if head is None or (head.seq, head.hash) != (seq, digest):
            problems.append(ChainProblem(chain, seq, "head"))
            continue
        try:
            ring.unwrap(head.seal, journal_head_aad(chain, head.seq, head.hash))
        except CryptoError:
            problems.append(ChainProblem(chain, seq, "head"))
    # Every account's chain starts when it is opened: no chain at all means
    # it was deleted, head included.
    for user_id in db.execute(users_query).scalars():
        if user_id not in ends:
            problems.append(ChainProblem(user_id, 0, "missing"))
    for chain, head in heads.items():
        if chain not in ends:
            problems.append(ChainProblem(chain, head.seq, "head"))
    return problems


def events_for(
    db: Session, vault_id: uuid.UUID, *, limit: int = 200, before_seq: int | None = None
) -> list[JournalEvent]:
    query = select(JournalEvent).where(JournalEvent.vault_id == vault_id)
    if before_seq is not None:
        query = query.where(JournalEvent.seq < before_seq)
    return list(db.execute(query.order_by(JournalEvent.seq.desc()).limit(limit)).scalars())


def last_own_event() -> ScalarSelect[datetime]:
    """When the person of the enclosing query's `users` row last did something themselves.

    Only events the person is the actor of (sign-in, upload, share...): what
    counsellors and administrators do on the vault says nothing of whether
    the person uses it. A column for a query over users (the counsellor's
    home, D-204): each person's latest event is the last entry of the
    journal's (vault, actor, time) index, one index descent, where reading
    every event of twenty vaults cost 2.7 ms at a national size.
    """
    return (
        select(func.max(JournalEvent.time))
        .where(JournalEvent.vault_id == User.id, JournalEvent.actor_id == User.id)
        .scalar_subquery()
    )
