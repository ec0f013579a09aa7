"""The person's CV and cover-letter drafts, sealed under their vault key.

A draft is a JSON record (vault.cv.content) wrapped with the same AES-GCM key
wrapping as a document's title and file name (crypto.wrap_key under the
vault key), bound by vault.core.envelope.cv_draft_aad to its vault, its row
and its kind: nothing the person typed is in clear in the database, and a
sealed draft copied onto another row or vault no longer opens (D-131).
Saved at every step, so a builder left half-way resumes where it stopped.
"""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import unwrap_key, wrap_key
from vault.accounts.keys import Unlocked
from vault.core.envelope import cv_draft_aad
from vault.cv.content import Record, new_record
from vault.models import CvDraft, DraftKind
from vault.models.base import utcnow

# The largest record sealed: above what the forms let through (their length limits,
# 12 items a list, 4 UTF-8 bytes a character at worst), a bound on what is stored.
MAX_RECORD_BYTES = 256 * 1024


class DraftTooLarge(ValueError):
    """The record would exceed MAX_RECORD_BYTES."""


def _row(db: Session, owner: Unlocked, kind: DraftKind) -> CvDraft | None:
    return db.execute(
        select(CvDraft).where(CvDraft.vault_id == owner.vault_id, CvDraft.kind == kind)
    ).scalar_one_or_none()


def load(db: Session, owner: Unlocked, kind: DraftKind) -> Record:
    """The person's draft of `kind`, or a new empty record."""
    row = _row(db, owner, kind)
    if row is None:
        return new_record()
    plain = unwrap_key(owner.key, row.sealed, cv_draft_aad(owner.vault_id, row.id, kind.value))
    record = json.loads(plain)
    return record if isinstance(record, dict) else new_record()


def exists(db: Session, owner: Unlocked, kind: DraftKind) -> bool:
    return _row(db, owner, kind) is not None


def save(db: Session, owner: Unlocked, kind: DraftKind, record: Record) -> None:
    """Seal `record` as the person's draft of `kind` (flushed, not committed)."""
    plain = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
    if len(plain) > MAX_RECORD_BYTES:
        raise DraftTooLarge()
    row = _row(db, owner, kind)
    if row is None:
        row = CvDraft(id=uuid.uuid4(), vault_id=owner.vault_id, kind=kind)
        db.add(row)
    row.sealed = wrap_key(owner.key, plain, cv_draft_aad(owner.vault_id, row.id, kind.value))
    row.updated_at = utcnow()
    db.flush()


def forget(db: Session, owner: Unlocked, kind: DraftKind) -> None:
    """Delete the person's draft of `kind` (the PDFs already made stay in the vault)."""
    row = _row(db, owner, kind)
    if row is not None:
        db.delete(row)
        db.flush()
