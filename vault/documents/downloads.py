"""Reading a document's plaintext out of the store, verified: what every send starts with.

The person's download and preview, the counsellor's download and an external
link's all open the stored blob here; vault/documents/sending.py turns what
this gives into the response (headers, streaming, the French error page).
The rules they share:

- **The length comes from the store.** `Content-Length` is the plaintext
  length that the blob's own size gives by the VSF1 segment arithmetic
  (`crypto.plaintext_length`), never the clear `size` column, which a
  database edit could change so that a server clips the body and the client
  takes a short file for a whole one.
- **Nothing leaves before the first segment verified.** The header and the
  first segment (1 MiB: the whole of most papers) are decrypted before the
  response starts, so a damaged, altered or swapped blob gets the French error
  page and sends nothing.
- **The view's record of a download is committed only then.** The view adds
  what a download means (its journal line, a link's use) to the open
  transaction; a failure before the first byte rolls that back and journals
  the download as failed instead.
- **A failure after the headers left breaks the response** (a later segment
  fails its tag, the store stops answering, the stream is longer or shorter
  than announced): the server cuts the connection before `Content-Length` is
  reached, so every client sees an incomplete download. The journal is
  append-only, so the line written when the download started stays and a
  second line, outcome "failed", follows it, in a transaction of its own.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import storage
from crypto import CryptoError, decrypt_iter, plaintext_length
from vault.core import metrics
from vault.core.envelope import DataKey, content_aad
from vault.journal import service as journal
from vault.models import DocumentVersion, User

log = logging.getLogger(__name__)


class Damaged(Exception):
    """The stored document fails its checks (missing, altered, swapped, wrong length)."""


@dataclass(frozen=True)
class Recipient:
    """Who receives the document, as the journal records a failed download."""

    vault_id: uuid.UUID
    document_id: uuid.UUID
    actor: User | None
    action: str = "document.downloaded"
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Plaintext:
    """A document whose first segment verified: its exact length and its chunks."""

    length: int
    chunks: Iterator[bytes]
    reader: storage.BlobReader


def open_plaintext(store: storage.BlobStore, key: str, dek: DataKey, aad: bytes) -> Plaintext:
    """Decrypt and verify the blob's first segment; know the plaintext's exact length.

    Raises:
        Damaged: the blob is missing, has a length no VSF1 blob has, or its
            header or first segment fails authentication.
        storage.StorageError: the store did not answer (the 503 page).
    """
    try:
        length = plaintext_length(store.stat(key).size)
        reader = store.open(key)
    except (storage.BlobNotFound, CryptoError) as e:
        raise Damaged() from e
    chunks = decrypt_iter(dek, aad, reader)
    try:
        first = next(chunks)
    except CryptoError as e:
        reader.close()
        raise Damaged() from e
    except BaseException:
        reader.close()
        raise
    if len(first) > length:
        reader.close()
        raise Damaged()
    return Plaintext(length, itertools.chain((first,), chunks), reader)


def open_version(
    store: storage.BlobStore,
    version: DocumentVersion,
    dek: DataKey,
    *,
    vault_id: uuid.UUID,
    document_id: uuid.UUID,
) -> Plaintext:
    """`open_plaintext` for one stored version of a document, bound to its row.

    Raises what `open_plaintext` raises.
    """
    return open_plaintext(
        store, version.blob.key, dek, content_aad(vault_id, document_id, version.version)
    )


def read_whole(plaintext: Plaintext) -> bytes:
    """The whole plaintext of an opened document, in memory (a preview renders from it).

    The caller closes `plaintext.reader`.

    Raises:
        Damaged: a later segment fails its check, or the length is not the announced one.
    """
    try:
        return b"".join(exactly(plaintext.chunks, plaintext.length))
    except CryptoError as e:
        raise Damaged() from e


class LengthMismatch(CryptoError):
    """The stream yields more or fewer bytes than the length announced for it."""


def exactly(chunks: Iterable[bytes], length: int) -> Iterator[bytes]:
    """`chunks`, raising LengthMismatch before a byte beyond `length` or at a short end."""
    sent = 0
    for chunk in chunks:
        sent += len(chunk)
        if sent > length:
            raise LengthMismatch()
        yield chunk
    if sent != length:
        raise LengthMismatch()


def verified_body(
    plaintext: Plaintext, recipient: Recipient, session: Callable[[], Session]
) -> Iterator[bytes]:
    """The chunks of an opened document, closing its reader; a failure is journaled, then raised.

    `session` gives the database session to journal a failure in: it is asked
    for only then, while the response streams (so after the view returned).
    """
    sent = 0
    try:
        with plaintext.reader:
            for chunk in exactly(plaintext.chunks, plaintext.length):
                yield chunk
                sent += len(chunk)
        metrics.DOWNLOADS.labels("document", "sent").inc()
    except (CryptoError, storage.StorageError) as e:
        metrics.DOWNLOADS.labels("document", "failed").inc()
        reason = "storage" if isinstance(e, storage.StorageError) else "integrity"
        log.error(
            "download of document %s broken after %d of %d bytes: %s",
            recipient.document_id,
            sent,
            plaintext.length,
            type(e).__name__,
        )
        journal_failure(session(), recipient, reason)
        # Raised on: the server then cuts the connection short of
        # Content-Length, which every client reports as a failed download.
        raise
    finally:
        metrics.DOWNLOAD_BYTES.labels("document").inc(sent)


def journal_failure(db: Session, recipient: Recipient, reason: str) -> None:
    """Record, in a transaction of its own, that sending the document failed."""
    try:
        db.rollback()
        journal.append(
            db,
            vault_id=recipient.vault_id,
            action=recipient.action,
            actor=recipient.actor,
            document_id=recipient.document_id,
            outcome="failed",
            details={**recipient.details, "reason": reason},
        )
        db.commit()
    except SQLAlchemyError:
        db.rollback()
        log.exception("document %s: could not journal a failed download", recipient.document_id)
