"""People and staff: establishments, users, the person's profile, key slots.

Every user (person, counsellor, administrator, recovery officer) has a 32-byte
user key held only in slots: for a person it is the vault key (VK); for staff
it is the secret their hybrid key pair derives from (docs/architecture.md §2.2). The
public key is stored in clear so that anyone can seal to it.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vault.models.base import Base, StrEnumColumn, UTCDateTime, created_at, uuid_pk


class Role(StrEnum):
    PERSON = "person"
    COUNSELLOR = "counsellor"
    ADMINISTRATOR = "administrator"
    RECOVERY_OFFICER = "recovery_officer"


class AccountStatus(StrEnum):
    # Opened by an administrator; waits for the first sign-in with the code.
    PENDING = "pending"
    ACTIVE = "active"
    DISABLED = "disabled"


class Lifecycle(StrEnum):
    DETAINED = "detained"
    TRANSFERRED = "transferred"
    RELEASED = "released"
    CLOSED = "closed"


class SlotKind(StrEnum):
    ACTIVATION = "activation"
    PASSWORD = "password"  # noqa: S105 (a slot kind, not a secret)
    RECOVERY = "recovery"
    ESCROW = "escrow"


class LinkPolicy(StrEnum):
    """External links while a person is detained in an establishment."""

    OFF = "off"
    # Each link waits for a counsellor's approval.
    APPROVAL = "approval"
    ON = "on"


class Establishment(Base):
    __tablename__ = "establishments"

    id: Mapped[uuid_pk]
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # CIDR list, one per line; used by the lifecycle rules (sign-in limited to
    # the establishment's networks while detained).
    networks: Mapped[str] = mapped_column(Text, default="")
    # While detained here, sign-in only from `networks` (off by default).
    restrict_signin: Mapped[bool] = mapped_column(default=False)
    # External links while a person is detained here.
    external_links: Mapped[LinkPolicy] = mapped_column(
        StrEnumColumn(LinkPolicy, 16), default=LinkPolicy.APPROVAL
    )
    created_at: Mapped[created_at]


# Searches for a part of a username or a prison number (the administrators'
# and officers' searches, vault.accounts.search) read these trigram indexes
# on PostgreSQL (pg_trgm, migration 0014) instead of every account; elsewhere
# they are plain indexes. docs/benchmarks.md, "National scale". The operator
# class is named with its schema: the extension lives in `public` (0014).
TRIGRAMS = "gin"


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        # The words of the name, for the accounts search (vault.accounts.search,
        # D-202): PostgreSQL only, SQLite compares them without an index.
        Index(
            "ix_users_display_name_words",
            text("to_tsvector('simple'::regconfig, display_name)"),
            postgresql_using="gin",
        ).ddl_if(dialect="postgresql"),
        Index(
            "ix_users_username_trgm",
            "username",
            postgresql_ops={"username": "public.gin_trgm_ops"},
            postgresql_using=TRIGRAMS,
        ),
    )

    id: Mapped[uuid_pk]
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[Role] = mapped_column(StrEnumColumn(Role, 32))
    status: Mapped[AccountStatus] = mapped_column(
        StrEnumColumn(AccountStatus, 16), default=AccountStatus.PENDING
    )
    display_name: Mapped[str] = mapped_column(String(200))
    establishment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("establishments.id"), index=True
    )
    # Hybrid ML-KEM-768 + X25519 public key derived from the user key.
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    activation_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[created_at]
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_signin_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The sign-in before the current one ("N documents deposited since").
    previous_signin_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Deposits waiting to be re-wrapped under the vault key at the next request.
    pending_deposits: Mapped[int] = mapped_column(Integer, default=0)
    passphrase_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The interface language the person (or staff member) chose, a code of
    # vault.core.languages; None until a choice is made (the device's guess applies).
    locale: Mapped[str | None] = mapped_column(String(16))

    establishment: Mapped[Establishment | None] = relationship(lazy="joined")
    profile: Mapped[PersonProfile | None] = relationship(
        back_populates="user", lazy="joined", foreign_keys="PersonProfile.user_id"
    )

    # Flask-Login's user protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.status == AccountStatus.ACTIVE

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class PersonProfile(Base):
    """What an administrator records at intake; classification data, in clear."""

    __tablename__ = "person_profiles"
    __table_args__ = (
        Index(
            "ix_person_profiles_prison_number_trgm",
            "prison_number",
            postgresql_ops={"prison_number": "public.gin_trgm_ops"},
            postgresql_using=TRIGRAMS,
        ),
        # The retention sweep's selection: the released, by release day.
        Index("ix_person_profiles_lifecycle_released_on", "lifecycle", "released_on"),
        # The retention sweep's notices: only the released who await one (D-201).
        Index(
            "ix_person_profiles_retention_from",
            "retention_from",
            postgresql_where=text("retention_from IS NOT NULL"),
            sqlite_where=text("retention_from IS NOT NULL"),
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date)
    prison_number: Mapped[str | None] = mapped_column(String(32), index=True)
    lifecycle: Mapped[Lifecycle] = mapped_column(
        StrEnumColumn(Lifecycle, 16), default=Lifecycle.DETAINED
    )
    released_on: Mapped[date | None] = mapped_column(Date)
    # After release: does follow-up (probation, SPIP) continue? If not, counsellors'
    # access ends after the grace period.
    followup_continues: Mapped[bool] = mapped_column(default=False)
    counsellor_access_until: Mapped[date | None] = mapped_column(Date)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The retention period's reference day (the later of the release and the
    # last sign-in) while no notice is pending; None otherwise. Written only by
    # vault.lifecycle.service.track_retention: the sweep selects by it.
    retention_from: Mapped[date | None] = mapped_column(Date)

    user: Mapped[User] = relationship(back_populates="profile", foreign_keys=[user_id])


class KeySlot(Base):
    """One way to open a user key; `data` is the slot under the server key ring."""

    __tablename__ = "key_slots"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[uuid_pk]
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[SlotKind] = mapped_column(StrEnumColumn(SlotKind, 16))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[created_at]


class SignInThrottle(Base):
    """Failed sign-ins per username (existing or not), for growing delays.

    Keyed by a hash of the typed username so that unknown names are throttled
    exactly like real ones: the answer never tells whether an account exists.
    """

    __tablename__ = "signin_throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ServerSession(Base):
    """The server half of a signed-in session (docs/architecture.md §2.2).

    `sealed_key` is the user key encrypted under a random per-session key that
    only the browser's cookie holds; deleting the row ends the session.
    """

    __tablename__ = "server_sessions"

    # SHA-256 of the session token: a database dump gives no usable token.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[created_at]
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    idle_minutes: Mapped[int] = mapped_column(Integer)
    # Short-lived secrets shown once (a new recovery code, an activation code
    # for the sheet), encrypted under the same per-session key.
    pending: Mapped[bytes | None] = mapped_column(LargeBinary)

    # Loaded with the session when a request resumes it (one query for both).
    user: Mapped[User] = relationship()
