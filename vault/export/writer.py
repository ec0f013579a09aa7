"""The exit pack written: documents, then manifest, journal and summary, as one streamed ZIP.

Memory stays constant whatever the vault holds: each document is decrypted
segment by segment from the blob store straight into `stream_zip`, which
writes local headers with data descriptors (ZIP64 when needed), so nothing is
held whole and no plaintext touches a disk. The manifest comes after the
files because the SHA-256 it records is computed while they stream, and
checked there against the one sealed in the document's metadata.

An error in the middle (a blob failing its tag, a store going away) raises
out of the generator: the server then cuts the response, and the archive has
no central directory, so no reader takes it for a complete one. An export
never touches the recovery kit (D-090): the person's printed sheet keeps
working, however many times they export.
"""

from __future__ import annotations

import json
import logging
import uuid
import zlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from stat import S_IFREG
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from stream_zip import NO_COMPRESSION_64, ZIP_64, ZIP_AUTO, MemberFile, stream_zip

import storage
from crypto import KeyRing
from vault.accounts.keys import Unlocked
from vault.export.contents import ExportFile, Renderers, Summary
from vault.export.prefetch import Prefetch, Progress
from vault.export.verify import (
    FORMAT,
    FORMAT_VERSION,
    JOURNAL_FORMAT,
    JOURNAL_NAME,
    MANIFEST_NAME,
    SUMMARY_NAME,
)
from vault.journal import service as journal
from vault.journal.chain import CHAIN_FIELDS, GENESIS, canonical
from vault.lifecycle import checklist
from vault.models import JournalEvent, User
from vault.models.base import utcnow
from vault.sharing import service as sharing

log = logging.getLogger(__name__)

# Papers are PDF, JPEG and PNG, compressed already: deflating them again costs
# CPU for nothing. Level 0 still goes through deflate's stored blocks, which
# stream_zip can write with a data descriptor (its stored method needs the
# CRC before the data, that is a second pass).
DOCUMENT_LEVEL = 0
TEXT_LEVEL = 6
# The size of what the generator yields: large enough that a 1 GiB export is
# a few thousand writes, small enough to stay far below the memory budget.
OUTPUT_CHUNK = 256 * 1024
# Owner-only: an unzipped vault on a shared computer should not be readable
# by the other accounts of that computer.
FILE_MODE = S_IFREG | 0o600
JOURNAL_BATCH = 500
RETENTION_YEARS_DEFAULT = 3


def archive(
    db: Session,
    store: storage.BlobStore,
    ring: KeyRing,
    owner: Unlocked,
    files: list[ExportFile],
    renderers: Renderers,
    *,
    retention_years: int = RETENTION_YEARS_DEFAULT,
    now: datetime | None = None,
) -> Iterator[bytes]:
    """The ZIP of `files` (from `plan`), then manifest, journal and summary, as chunks.

    The one service that commits: its work happens while the response
    streams, after the view has returned. Once every document has streamed
    and verified, it journals "export.created"; if anything fails before, it
    journals the failure (best effort) and raises, so the download breaks.
    """
    exported_at = (now or utcnow()).replace(microsecond=0)
    progress = Progress()
    prefetch = Prefetch(store, ring, owner, files)

    def members() -> Iterator[MemberFile]:
        for index, item in enumerate(files):
            yield (
                item.path,
                item.added_at,
                FILE_MODE,
                # Documents are PDF, JPEG and PNG, already compressed: stored as
                # they are when the CRC-32 is known (stream_zip still checks it).
                NO_COMPRESSION_64(item.size, item.crc32)
                if item.crc32 is not None
                else ZIP_AUTO(item.size, level=DOCUMENT_LEVEL),
                prefetch.content(index, item, progress),
            )
        # Every document is out and verified. The summary is rendered before
        # the commit, so a rendering failure journals no export.
        journal.append(
            db,
            vault_id=owner.vault_id,
            action="export.created",
            actor=owner.user,
            details={"documents": progress.documents, "size": progress.size},
        )
        head = _journal_head(db, owner.vault_id)
        summary = renderers.summary_pdf(
            Summary(
                display_name=owner.user.display_name,
                username=owner.user.username,
                exported_at=exported_at,
                files=files,
                counsellors=[c.display_name for c in sharing.counsellors_of(db, owner.vault_id)],
                checklist=checklist.for_person(db, owner.vault_id, today=exported_at.date()),
                retention_years=retention_years,
            )
        )
        manifest = _manifest(owner, files, progress, exported_at, head, retention_years, renderers)
        db.commit()
        yield (
            MANIFEST_NAME,
            exported_at,
            FILE_MODE,
            ZIP_AUTO(len(manifest), level=TEXT_LEVEL),
            (manifest,),
        )
        yield (
            JOURNAL_NAME,
            exported_at,
            FILE_MODE,
            ZIP_64,
            _journal_json(db, owner, files, head[0], renderers),
        )
        yield (
            SUMMARY_NAME,
            exported_at,
            FILE_MODE,
            ZIP_AUTO(len(summary), level=TEXT_LEVEL),
            (summary,),
        )

    def guarded() -> Iterator[bytes]:
        try:
            yield from stream_zip(
                members(),
                chunk_size=OUTPUT_CHUNK,
                get_compressobj=lambda: zlib.compressobj(level=TEXT_LEVEL, wbits=-zlib.MAX_WBITS),
            )
        except Exception as e:
            # Ids and the error's kind only: a message may carry a title.
            log.error(
                "export of vault %s aborted after %d document(s): %s",
                owner.vault_id,
                progress.documents,
                type(e).__name__,
            )
            _journal_failure(db, owner, progress)
            raise
        finally:
            prefetch.close()

    return guarded()


def _journal_failure(db: Session, owner: Unlocked, progress: Progress) -> None:
    try:
        db.rollback()
        journal.append(
            db,
            vault_id=owner.vault_id,
            action="export.created",
            actor=owner.user,
            outcome="failed",
            details={"documents": progress.documents},
        )
        db.commit()
    except SQLAlchemyError:
        db.rollback()
        log.exception("export of vault %s: could not journal the failure", owner.vault_id)


def _journal_head(db: Session, vault_id: uuid.UUID) -> tuple[int, str]:
    row = db.execute(
        select(JournalEvent.seq, JournalEvent.hash)
        .where(JournalEvent.vault_id == vault_id)
        .order_by(JournalEvent.seq.desc())
        .limit(1)
    ).one()
    return int(row[0]), str(row[1])


def _dumps(value: Any, indent: int | None = None) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=indent, sort_keys=False).encode()


def _manifest(
    owner: Unlocked,
    files: list[ExportFile],
    progress: Progress,
    exported_at: datetime,
    head: tuple[int, str],
    retention_years: int,
    renderers: Renderers,
) -> bytes:
    entries = [
        {
            "path": item.path,
            "title": item.title,
            "original_filename": item.filename,
            "category": item.category,
            "category_label": renderers.folder_label(item.category),
            "type": item.doc_type,
            "type_label": renderers.type_label(item.doc_type),
            "mime": item.mime,
            "expiry_date": item.expiry_date.isoformat() if item.expiry_date else None,
            "added_at": item.added_at.isoformat(),
            "size": item.size,
            "sha256": progress.digests[item.path],
            "document_id": str(item.document_id),
            "version": item.version.version,
        }
        for item in files
    ]
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": exported_at.isoformat(),
        "person": {"display_name": owner.user.display_name, "username": owner.user.username},
        "documents": len(entries),
        "total_size": progress.size,
        "files": entries,
        "journal": {"path": JOURNAL_NAME, "events": head[0], "last_hash": head[1]},
        "summary": {"path": SUMMARY_NAME},
        "retention": {
            "years_after_last_sign_in": retention_years,
            "rule": renderers.retention_rule(retention_years),
        },
    }
    return _dumps(manifest, indent=2) + b"\n"


def _journal_json(
    db: Session, owner: Unlocked, files: list[ExportFile], last_seq: int, renderers: Renderers
) -> Iterator[bytes]:
    """The chain from its first event to `last_seq`, written as it is read, in batches."""
    titles = {item.document_id: item.title for item in files}
    people: dict[uuid.UUID, User] = {}
    header = {
        "format": JOURNAL_FORMAT,
        "format_version": FORMAT_VERSION,
        "vault": str(owner.vault_id),
        "genesis": GENESIS,
        "hash": "sha256(prev_hash || JSON of the fields "
        + ", ".join(CHAIN_FIELDS)
        + ", keys sorted, no spaces, UTF-8)",
    }
    yield _dumps(header)[:-1] + b',"events":[\n'
    after = 0
    first = True
    while after < last_seq:
        batch = list(
            db.execute(
                select(JournalEvent)
                .where(
                    JournalEvent.vault_id == owner.vault_id,
                    JournalEvent.seq > after,
                    JournalEvent.seq <= last_seq,
                )
                .order_by(JournalEvent.seq)
                .limit(JOURNAL_BATCH)
            ).scalars()
        )
        if not batch:
            break
        _load_people(db, batch, people)
        out = []
        for event in batch:
            # The very fields and encoding the chain hashes (vault.journal.chain.canonical).
            entry: dict[str, Any] = json.loads(canonical(journal.event_fields(event)))
            entry["prev_hash"], entry["hash"] = event.prev_hash, event.hash
            actor = people.get(event.actor_id) if event.actor_id else None
            entry["actor_name"] = actor.display_name if actor else None
            entry["when"], entry["text"] = renderers.describe_event(event, actor, titles, people)
            out.append(("" if first else ",\n").encode() + _dumps(entry))
            first = False
        yield b"".join(out)
        after = batch[-1].seq
        # A long journal must not pile up in the session's identity map.
        for event in batch:
            db.expunge(event)
    # Only read since the commit: end that transaction before the summary streams.
    db.rollback()
    yield b"\n]}\n"


def _load_people(db: Session, batch: list[JournalEvent], people: dict[uuid.UUID, User]) -> None:
    """The users a batch names (actors, and the counsellor of a share or an assignment)."""
    wanted: set[uuid.UUID] = set()
    for event in batch:
        if event.actor_id:
            wanted.add(event.actor_id)
        try:
            named = json.loads(event.details or "{}").get("counsellor")
            if named:
                wanted.add(uuid.UUID(str(named)))
        except (ValueError, AttributeError):
            pass
    wanted -= people.keys()
    if wanted:
        for user in db.execute(select(User).where(User.id.in_(wanted))).scalars():
            people[user.id] = user


def stream_to(chunks: Iterable[bytes], out: IO[bytes]) -> int:
    """Write `chunks` to `out`; the number of bytes (for the benchmark and the tests)."""
    total = 0
    for chunk in chunks:
        out.write(chunk)
        total += len(chunk)
    return total
