"""The blob registry: one row for every object the app wrote to a blob store.

Rows that carry content (document versions, previews, exports) point at a
`Blob` row rather than at a raw key, so one table answers "which blobs are
still referenced?" for garbage collection, and each row records which store
holds the bytes and which key wrapped them (docs/architecture.md §8.5), so stores and
keys can rotate.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from vault.models.base import Base, created_at, str64, str512, uuid_pk


class Blob(Base):
    __tablename__ = "blobs"
    __table_args__ = (UniqueConstraint("store", "key"),)

    id: Mapped[uuid_pk]
    # Name of the store holding the bytes ("local" or "s3").
    store: Mapped[str64]
    # Server-chosen key inside that store; never derived from a user's input.
    key: Mapped[str512]
    size: Mapped[int] = mapped_column(BigInteger)
    etag: Mapped[str64]
    # Identifier of the key that encrypted the content (e.g. "dek:<uuid>"), for rotation.
    key_id: Mapped[str64 | None]
    created_at: Mapped[created_at]
