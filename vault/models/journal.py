"""The journal: one hash chain of events per vault (docs/architecture.md §4).

Each user's events form their own chain (`vault_id` is the user whose vault or
account the event concerns), so appends in different vaults never contend.
`hash = SHA-256(prev_hash || canonical JSON of the row)`; editing, deleting or
reordering a row breaks the chain, which `vault journal verify` reports.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vault.models.base import Base, UTCDateTime, uuid_pk


class JournalEvent(Base):
    __tablename__ = "journal_events"
    __table_args__ = (
        UniqueConstraint("vault_id", "seq"),
        # "Last activity" on a counsellor's home: each person's latest event
        # of their own, from this index alone (docs/benchmarks.md).
        Index("ix_journal_events_vault_id_actor_id_time", "vault_id", "actor_id", "time"),
    )

    id: Mapped[uuid_pk]
    # Not a foreign key: the journal outlives deleted documents and accounts.
    vault_id: Mapped[uuid.UUID] = mapped_column(index=True)
    seq: Mapped[int] = mapped_column(Integer)
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(48))
    document_id: Mapped[uuid.UUID | None]
    outcome: Mapped[str] = mapped_column(String(16))
    # Small canonical JSON of non-sensitive details (a version number, a
    # category); never a title, a file name or a secret.
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class JournalHead(Base):
    """The last event of each chain, sealed with the server key ring.

    A chain alone cannot show that its newest rows were deleted, or that a
    database administrator rewrote it and recomputed every hash. The head
    names the last (seq, hash) under an AEAD tag made with a key kept outside
    the database, so `vault journal verify` detects both.
    """

    __tablename__ = "journal_heads"

    vault_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    seal: Mapped[bytes] = mapped_column(LargeBinary)
