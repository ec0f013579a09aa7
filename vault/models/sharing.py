"""Counsellors and the person's documents: assignments, shares, requests, external links.

A share is two things (docs/architecture.md §2.2): a permission row (`Share`) and, for
each shared document, its key sealed to the counsellor's public key
(`ShareKey`). Revoking deletes the keys; an expired share fails the permission
check, and its keys were sealed with the expiry in the HPKE context, so editing
the date in the database does not reopen them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from vault.models.base import Base, StrEnumColumn, UTCDateTime, created_at, uuid_pk


class RequestStatus(StrEnum):
    """A counsellor's request for a document."""

    OPEN = "open"
    # The person answered it with a document.
    ANSWERED = "answered"
    # The assignment ended while it was open.
    CANCELLED = "cancelled"


class LinkStatus(StrEnum):
    """An external link's approval; stopping it is `revoked_at` (and `LinkStopReason`)."""

    ACTIVE = "active"
    # Waits for a counsellor's approval (the establishment's LinkPolicy.APPROVAL).
    PENDING = "pending"
    REFUSED = "refused"


class LinkStopReason(StrEnum):
    """Why a link stopped other than by the person (who leaves the reason None)."""

    WRONG_PINS = "wrong_pins"
    # The upgrade that retired the first key format (migration 0009).
    KEY_FORMAT = "key_format"


class Assignment(Base):
    """A counsellor follows a person from `started_at` until `ended_at` (history kept)."""

    __tablename__ = "assignments"
    __table_args__ = (
        # The retention sweep's `end_access`: only active assignments of people
        # released without follow-up are in it, a few days' worth (D-200).
        Index(
            "ix_assignments_access_until",
            "access_until",
            postgresql_where=text("ended_at IS NULL AND access_until IS NOT NULL"),
            sqlite_where=text("ended_at IS NULL AND access_until IS NOT NULL"),
        ),
        # The counsellor's home, a page at a time in name order: the active
        # assignments of one counsellor, read from the index alone on
        # PostgreSQL (D-203).
        Index(
            "ix_assignments_caseload",
            "counsellor_id",
            "person_name",
            "person_id",
            postgresql_where=text("ended_at IS NULL"),
            sqlite_where=text("ended_at IS NULL"),
            postgresql_include=["access_until"],
        ),
    )

    id: Mapped[uuid_pk]
    person_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    counsellor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[created_at]
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    # The person's counsellor_access_until, copied while the assignment is
    # active and the person released (vault.access.assignments.set_access_until
    # writes both): the retention sweep finds the assignments to end through it.
    access_until: Mapped[date | None] = mapped_column(Date)
    # The person's display name, which never changes once the account is
    # opened (vault.accounts.opening): the caseload's order (D-203).
    person_name: Mapped[str] = mapped_column(String(200), default="")


class Share(Base):
    """Permission for one counsellor to read one document, or a whole category.

    A category share is standing: documents added to that category later
    (uploads and deposits) are shared too. `expires_at` None with
    `until_release` means "until the person's release".
    """

    __tablename__ = "shares"
    __table_args__ = (
        # A counsellor's shares, and those of the people on a page of their
        # home (D-204); also every lookup by counsellor alone. With what
        # decides whether a share is in force: the home counts from the
        # index alone on PostgreSQL (D-207).
        Index(
            "ix_shares_counsellor_id_vault_id",
            "counsellor_id",
            "vault_id",
            postgresql_include=["id", "revoked_at", "expires_at", "until_release"],
        ),
    )

    id: Mapped[uuid_pk]
    vault_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    counsellor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    document_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("documents.id"))
    category: Mapped[str | None] = mapped_column(String(32))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    until_release: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[created_at]
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ShareKey(Base):
    """A document version's DEK and title sealed to the counsellor of a share."""

    __tablename__ = "share_keys"
    __table_args__ = (UniqueConstraint("share_id", "document_id"),)

    id: Mapped[uuid_pk]
    share_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("shares.id"), index=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class DocumentRequest(Base):
    """A counsellor asks a person for a type of document."""

    __tablename__ = "document_requests"
    __table_args__ = (
        # A counsellor's open requests to the people on a page of their home
        # (D-207). The status is written into the home's statement, not
        # bound, so that a generic plan can use this index.
        Index(
            "ix_document_requests_open",
            "counsellor_id",
            "vault_id",
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
    )

    id: Mapped[uuid_pk]
    vault_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    counsellor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    doc_type: Mapped[str] = mapped_column(String(64))
    # The counsellor's free text, sealed (HPKE) to the person's public key and
    # to the counsellor's: only they read it (sharing/service.py). None when
    # the request has no message.
    message_for_person: Mapped[bytes | None] = mapped_column(LargeBinary)
    message_for_counsellor: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[RequestStatus] = mapped_column(
        StrEnumColumn(RequestStatus, 16), default=RequestStatus.OPEN
    )
    document_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("documents.id"))
    created_at: Mapped[created_at]
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ExternalLink(Base):
    """A link the person gives to an employer, a lawyer, a landlord, an administration.

    The URL carries a random token; the row keeps its SHA-256 and the document
    key (with its title and file name) sealed in three layers: under Argon2id
    of the PIN when there is one, then under a key from the token, then under
    the server key ring. A database dump with the logs opens nothing, the
    server alone opens nothing, and a leaked address still needs its PIN.
    """

    __tablename__ = "external_links"
    __table_args__ = (
        # The links waiting for a counsellor's approval, counted on every
        # visit of their home (D-204): a few among every link ever made.
        Index(
            "ix_external_links_pending",
            "vault_id",
            postgresql_where=text("status = 'pending' AND revoked_at IS NULL"),
            sqlite_where=text("status = 'pending' AND revoked_at IS NULL"),
        ),
    )

    id: Mapped[uuid_pk]
    vault_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # None once the link is stopped by the person, by too many wrong PINs or by
    # the upgrade that retired the first key format: nothing left to open.
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary)
    recipient: Mapped[str] = mapped_column(String(32))
    has_pin: Mapped[bool] = mapped_column(Boolean, default=False)
    # Wrong PINs since the last right one (for the delays), and in all (for the cap).
    pin_failures: Mapped[int] = mapped_column(Integer, default=0)
    wrong_pins: Mapped[int] = mapped_column(Integer, default=0)
    pin_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    max_downloads: Mapped[int | None] = mapped_column(Integer)
    downloads: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[LinkStatus] = mapped_column(
        StrEnumColumn(LinkStatus, 16), default=LinkStatus.ACTIVE
    )
    approved_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[created_at]
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why it stopped: None when the person stopped it.
    revoked_reason: Mapped[LinkStopReason | None] = mapped_column(StrEnumColumn(LinkStopReason, 16))
