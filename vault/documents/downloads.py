"""Sending a document's plaintext: the one path of every route that sends a document.

The person's download, the counsellor's and an external link's all end here
(`send_plaintext`), with the same rules:

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
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from flask import Response, render_template, stream_with_context
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import storage
from crypto import CryptoError, decrypt_iter, plaintext_length
from vault.core.db import db_session
from vault.documents.uploads import content_disposition
from vault.journal import service as journal
from vault.models import User

log = logging.getLogger(__name__)

# A sandbox for anything we serve from a document: no script, no plugin, no form.
DOCUMENT_CSP = "default-src 'none'; sandbox"

DAMAGED_TITLE = _l("Document damaged")
DAMAGED_MESSAGE = _l(
    "This document did not pass its integrity check: it may be damaged or may have been "
    "altered. It was not sent. Please report it to the team that runs the vault."
)


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


def open_plaintext(store: storage.BlobStore, key: str, dek: bytes, aad: bytes) -> Plaintext:
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


def send_plaintext(
    db: Session,
    store: storage.BlobStore,
    *,
    key: str,
    dek: bytes,
    aad: bytes,
    mime: str,
    title: str,
    recipient: Recipient,
    recorded_size: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response | tuple[str, int]:
    """The attachment response for a document, or the French "damaged" page.

    Commits what the caller recorded in `db` once the first segment verified;
    rolls it back and journals a failure if it does not.
    """
    try:
        plaintext = open_plaintext(store, key, dek, aad)
    except Damaged:
        log.error("document %s not sent: it fails its integrity check", recipient.document_id)
        db.rollback()
        journal_failure(db, recipient, "integrity")
        return damaged_page()
    if recorded_size is not None and recorded_size != plaintext.length:
        # Only the database says otherwise: what is sent is the stored document.
        log.warning(
            "document %s: recorded size %d differs from the stored content (%d bytes)",
            recipient.document_id,
            recorded_size,
            plaintext.length,
        )
    try:
        db.commit()
    except BaseException:
        plaintext.reader.close()
        raise
    response = Response(
        stream_with_context(_body(plaintext, recipient)), mimetype=mime, direct_passthrough=True
    )
    response.headers["Content-Length"] = str(plaintext.length)
    response.headers["Content-Disposition"] = content_disposition(title, mime)
    response.headers["Content-Security-Policy"] = DOCUMENT_CSP
    response.headers.update(headers or {})
    return response


def _body(plaintext: Plaintext, recipient: Recipient) -> Iterator[bytes]:
    sent = 0
    try:
        with plaintext.reader:
            for chunk in exactly(plaintext.chunks, plaintext.length):
                yield chunk
                sent += len(chunk)
    except (CryptoError, storage.StorageError) as e:
        reason = "storage" if isinstance(e, storage.StorageError) else "integrity"
        log.error(
            "download of document %s broken after %d of %d bytes: %s",
            recipient.document_id,
            sent,
            plaintext.length,
            type(e).__name__,
        )
        journal_failure(db_session(), recipient, reason)
        # Raised on: the server then cuts the connection short of
        # Content-Length, which every client reports as a failed download.
        raise


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


def damaged_page() -> tuple[str, int]:
    page = render_template(
        "errors/error.html", status=500, title=DAMAGED_TITLE, message=DAMAGED_MESSAGE
    )
    return page, 500
