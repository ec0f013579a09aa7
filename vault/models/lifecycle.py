"""Release and after: transfers, recovery requests, retention notices, configuration.

Built for docs/architecture.md §3 (lifecycle) and the digital-vault rules (CPCE art. L103;
décrets 2018-418 and 2018-853): a complete export on request, notice before
closure, recovery kept possible.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from vault.models.base import Base, StrEnumColumn, UTCDateTime, created_at, uuid_pk


class RecoveryKind(StrEnum):
    # The recovery kit plus a counsellor's approval in the app.
    KIT = "kit"
    # Two recovery officers, an identity check, the escrow key.
    ESCROW = "escrow"


class RecoveryStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    COMPLETED = "completed"
    REFUSED = "refused"
    CANCELLED = "cancelled"


class NoticeStatus(StrEnum):
    """A retention notice: pending until the deadline."""

    PENDING = "pending"
    # The person signed in again (or the notice was otherwise void).
    CANCELLED = "cancelled"
    # The vault was deleted (or closed) as announced.
    DONE = "done"


class Transfer(Base):
    """A person moved from one establishment to another (same vault)."""

    __tablename__ = "transfers"

    id: Mapped[uuid_pk]
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    from_establishment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("establishments.id"))
    to_establishment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("establishments.id"))
    by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[created_at]


class RecoveryRequest(Base):
    """A person who cannot sign in any more, on the way back into their vault.

    kind "kit": the recovery kit plus a counsellor's approval in the app.
    kind "escrow": two recovery officers, an identity check, the escrow key.
    """

    __tablename__ = "recovery_requests"
    __table_args__ = (
        # The recoveries waiting for a counsellor or an officer, counted on
        # every visit of a counsellor's home (D-204): a few among every
        # recovery ever asked.
        Index(
            "ix_recovery_requests_pending",
            "user_id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[RecoveryKind] = mapped_column(StrEnumColumn(RecoveryKind, 16))
    status: Mapped[RecoveryStatus] = mapped_column(
        StrEnumColumn(RecoveryStatus, 16), default=RecoveryStatus.PENDING
    )
    created_at: Mapped[created_at]
    approved_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    second_officer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    # What the officers checked (kind of identity document, date, by whom); no copy of it.
    identity_check: Mapped[str] = mapped_column(Text, default="")
    # The last 4 characters of the document's number, sealed (HPKE) to the
    # escrow public key: only the escrow secret's holder reads them, at
    # `vault escrow recover` (recovery/service.py).
    identity_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RetentionNotice(Base):
    """A notice that a released person's vault will be deleted on `deletion_on`."""

    __tablename__ = "retention_notices"
    __table_args__ = (
        # The sweep reads the pending notices that are due, not every pending one (D-201).
        Index(
            "ix_retention_notices_pending_deletion_on",
            "deletion_on",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    deletion_on: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[created_at]
    status: Mapped[NoticeStatus] = mapped_column(
        StrEnumColumn(NoticeStatus, 16), default=NoticeStatus.PENDING
    )


class Setting(Base):
    """Configuration administrators change in the app (e.g. the release checklist), JSON."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
