"""Server key ring rotation: re-wrap the outer layer of every stored key blob.

Every key blob in the database carries an outer AES-GCM layer from the server
key ring (docs/architecture.md §2.2), bound to the row by its associated data. Rotation
means: put a new version in the ring (the highest wraps new items), restart
the app, then re-wrap each row under it here; blobs in the store are never
touched (their DEKs do not change). Afterwards the old version can leave the
ring.

Safe while the app serves: rows are read without locks, in short batches, and
each new value is written only if the row still holds what was read (compare
and swap). A row the app rewrote in between was written with the current ring
already, or is read again and re-wrapped; nothing the app writes is lost, and
the job can stop and run again at any point.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from crypto import CryptoError, KeyRing
from vault.core import envelope
from vault.models import DocumentVersion, ExternalLink, JournalHead, KeySlot

# A row changed by the app between read and write is tried again this often.
RETRIES = 3


@dataclass(frozen=True)
class Kind:
    """One column holding ring-wrapped blobs, and how to compute each row's associated data."""

    name: str
    key: InstrumentedAttribute[Any]
    column: InstrumentedAttribute[Any]
    # Extra columns the associated data needs, in order.
    extra: tuple[InstrumentedAttribute[Any], ...]
    # The builder the row was wrapped with (vault.core.envelope).
    aad: Callable[..., bytes]


KINDS: tuple[Kind, ...] = (
    Kind("key slots", KeySlot.id, KeySlot.data, (KeySlot.user_id, KeySlot.kind), envelope.slot_aad),
    Kind(
        "document keys",
        DocumentVersion.id,
        DocumentVersion.wrapped_dek,
        (),
        envelope.version_dek_aad,
    ),
    Kind(
        "deposit keys",
        DocumentVersion.id,
        DocumentVersion.sealed_dek,
        (DocumentVersion.document_id,),
        envelope.deposit_dek_aad,
    ),
    Kind(
        "journal heads",
        JournalHead.vault_id,
        JournalHead.seal,
        (JournalHead.vault_id, JournalHead.seq, JournalHead.hash),
        envelope.journal_head_aad,
    ),
    Kind("link keys", ExternalLink.id, ExternalLink.wrapped, (), envelope.link_aad),
)


@dataclass
class Problem:
    kind: str
    row: str
    reason: str


@dataclass
class Counts:
    """Per kind: rows re-wrapped now, rows already under the current version."""

    rewrapped: dict[str, int] = field(default_factory=dict)
    current: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def add(self, bucket: dict[str, int], kind: Kind) -> None:
        bucket[kind.name] = bucket.get(kind.name, 0) + 1


def _batches(db: Session, kind: Kind, size: int) -> Iterator[list[Any]]:
    """Rows of `kind` by primary key, `size` at a time (keyset pages: no OFFSET scans)."""
    last: Any = None
    while True:
        query = select(kind.key, kind.column, *kind.extra).where(kind.column.is_not(None))
        if last is not None:
            query = query.where(kind.key > last)
        rows = list(db.execute(query.order_by(kind.key).limit(size)).all())
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _aad(kind: Kind, row: Any) -> bytes:
    if kind.extra:
        return kind.aad(*row[2:])
    return kind.aad(row[0])


def _swap(db: Session, kind: Kind, key: Any, old: bytes, new: bytes) -> bool:
    """Write `new` only if the row still holds `old`; True when it did."""
    where: ColumnElement[bool] = (kind.key == key) & (kind.column == old)
    result = db.execute(
        update(kind.column.class_).where(where).values({kind.column.key: new}),
        execution_options={"synchronize_session": False},
    )
    return bool(getattr(result, "rowcount", 0))


def _reread(db: Session, kind: Kind, key: Any) -> Any:
    return db.execute(select(kind.key, kind.column, *kind.extra).where(kind.key == key)).first()


def _rotate_row(db: Session, ring: KeyRing, kind: Kind, row: Any, counts: Counts) -> None:
    key = row[0]
    for _attempt in range(RETRIES):
        if row is None or row[1] is None:
            return  # deleted (or taken in) meanwhile: nothing left to re-wrap
        blob = bytes(row[1])
        try:
            if not ring.needs_rewrap(blob):
                counts.add(counts.current, kind)
                return
            new = ring.rewrap(blob, _aad(kind, row))
        except CryptoError as e:
            counts.problems.append(Problem(kind.name, str(key), str(e)))
            return
        if _swap(db, kind, key, blob, new):
            counts.add(counts.rewrapped, kind)
            return
        row = _reread(db, kind, key)
    counts.problems.append(Problem(kind.name, str(key), "changed during every attempt"))


def rotate(
    db: Session,
    ring: KeyRing,
    *,
    batch_size: int = 500,
    progress: Callable[[str, int], None] | None = None,
) -> Counts:
    """Re-wrap every ring-wrapped blob under `ring.current_version`; commits per batch.

    Idempotent: a row already under the current version is only verified.
    A row that fails to unwrap (a version missing from the ring, a damaged
    blob) is reported in `problems` and left as it is.
    """
    counts = Counts()
    for kind in KINDS:
        for rows in _batches(db, kind, batch_size):
            for row in rows:
                _rotate_row(db, ring, kind, row, counts)
            db.commit()
            if progress is not None:
                progress(kind.name, len(rows))
    return counts


def survey(db: Session, ring: KeyRing, *, batch_size: int = 1000) -> dict[str, dict[int, int]]:
    """How many rows of each kind are wrapped under each key version (reads only).

    Version 0 counts blobs that are not key ring items at all (damage).
    """
    found: dict[str, dict[int, int]] = {}
    for kind in KINDS:
        versions = found.setdefault(kind.name, {})
        for rows in _batches(db, kind, batch_size):
            for row in rows:
                try:
                    version = ring.version_of(bytes(row[1]))
                except CryptoError:
                    version = 0
                versions[version] = versions.get(version, 0) + 1
    return found
