"""Documents and their versions.

Classification metadata (category, type, expiry, size, MIME type, dates) is in
clear so that checklists and reminders work without the person's key (the
documented trade-off of docs/architecture.md §2.2). The title and original file name are
in `meta`, encrypted under the vault key. Each version has its own DEK,
wrapped under the vault key and then under the server key ring.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from vault.models.base import Base, UTCDateTime, created_at, uuid_pk
from vault.models.blob import Blob


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (
        # The list page reads a vault's newest twenty by walking this index
        # backwards instead of sorting the whole vault; it also serves every
        # lookup by vault alone.
        Index("ix_documents_vault_id_updated_at", "vault_id", "updated_at", "id"),
        # "N documents deposited since you last signed in", on every page of a
        # person: counted from the few deposits, not from every document.
        Index(
            "ix_documents_vault_id_deposits",
            "vault_id",
            "created_at",
            postgresql_where=text("deposited_by_id IS NOT NULL"),
            sqlite_where=text("deposited_by_id IS NOT NULL"),
        ),
        # The checklists of a counsellor's caseload (330 vaults at a time) read
        # types and expiry dates from this index alone, not from 3,300
        # scattered rows (docs/benchmarks.md, "National scale").
        Index("ix_documents_vault_id_doc_type", "vault_id", "doc_type", "expiry_date"),
    )

    id: Mapped[uuid_pk]
    # The person whose vault holds it.
    vault_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    category: Mapped[str] = mapped_column(String(32))
    doc_type: Mapped[str] = mapped_column(String(64))
    expiry_date: Mapped[date | None] = mapped_column(Date)
    # Under the vault key; for a deposit not yet taken in, sealed to the
    # vault's public key (`meta_sealed` true) until the owner's next session.
    meta: Mapped[bytes] = mapped_column(LargeBinary)
    meta_sealed: Mapped[bool] = mapped_column(default=False)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    mime: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    deposited_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[created_at]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    versions: Mapped[list[DocumentVersion]] = relationship(
        back_populates="document",
        order_by="DocumentVersion.version",
        cascade="all, delete-orphan",
    )


class DocumentVersion(Base):
    __tablename__ = "document_versions"
    __table_args__ = (UniqueConstraint("document_id", "version"),)

    id: Mapped[uuid_pk]
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    blob_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("blobs.id"))
    preview_blob_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("blobs.id"))
    # When no preview could be made of this version because of the version
    # itself (unreadable, too costly...): it is never tried again.
    preview_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mime: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    # ring.wrap(wrap_key(VK, DEK)). None for a deposit not yet taken in by the
    # owner: then `sealed_dek` holds the DEK sealed to the vault's public key.
    wrapped_dek: Mapped[bytes | None] = mapped_column(LargeBinary)
    sealed_dek: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[created_at]

    document: Mapped[Document] = relationship(back_populates="versions")
    blob: Mapped[Blob] = relationship(foreign_keys=[blob_id], lazy="joined")
    preview_blob: Mapped[Blob | None] = relationship(foreign_keys=[preview_blob_id])


class VaultIndex(Base):
    """The titles of a vault's documents in one blob sealed under the vault key.

    A search then opens one blob instead of every document's metadata. It is
    kept up to date in the transactions that add, rename, take in or delete a
    document, and rebuilt from the documents when it disagrees with them.
    """

    __tablename__ = "vault_indexes"

    vault_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
