"""One intake for every upload path: the person's upload, a new version, a deposit.

Each path receives a file the same way, so that no check is written twice and
none can drift from the others:

1. room: the vault's quota left (or the size limit, whichever binds) bounds the
   stream before a byte is read;
2. the text fields streamed before the file (`StreamingUpload`: the body is
   never spooled), and Flask-WTF's full CSRF check on them (token, session,
   and on HTTPS the referrer: `vault.core.http.check_csrf`);
3. the typed details, when the path has any: validated against the catalog,
   the title cleaned of control and bidi characters (`uploads.clean_title`);
4. the file's real type, from its first bytes (`uploads.sniff_type`), and its
   name cleaned;
5. storing through the documents' services with the quota re-checked under a
   lock of the owner's row (two uploads that each fit alone cannot both pass);
6. on any failure, the transaction rolled back and every blob this intake
   wrote removed; the store's errors become an `IntakeRefused` ("storage"), so
   that views need not know the store.

The request comes from the view. The intake is the one service that reads a
request (the streamed body, the CSRF check): it needs an application and a
request context, like the views that call it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Protocol, TypeVar

from flask_wtf.csrf import CSRFError
from sqlalchemy.orm import Session

import storage
from crypto import KeyRing
from vault.accounts.keys import Unlocked
from vault.core import logs, metrics
from vault.core.catalog import TYPE_LABELS, is_valid, type_within
from vault.core.digits import ascii_digits
from vault.core.errors import QuotaExceeded, ServiceError
from vault.core.forms import EARLIEST_DATE, LATEST_DATE
from vault.core.http import StreamingUpload, UploadError, check_csrf
from vault.documents import deposits
from vault.documents import service as documents
from vault.documents.blobs import delete_blobs
from vault.documents.photos import MAX_PHOTOS, PHOTO_FIELD, PhotoRefused, pdf_of_photos
from vault.documents.uploads import (
    SNIFF_BYTES,
    clean_filename,
    clean_title,
    peek,
    sniff_type,
    title_from_filename,
)
from vault.models import Document, DocumentVersion, User

if TYPE_CHECKING:
    from flask import Request

log = logging.getLogger(__name__)

T = TypeVar("T")

# The longest title kept from the form (the form's own limit, before cleaning).
TITLE_FIELD_CHARS = 200


class IntakeRefused(ServiceError):
    """An upload refused: `code` names the message to show, `status` the HTTP answer.

    Codes: UploadError's ("malformed", "missing_file", "empty", "too_large",
    "too_many_files", "field_too_large", "too_many_fields"), and "quota",
    "csrf", "bad_details", "bad_date", "bad_type", "storage", and for photos
    "photos_and_file", "bad_photo", "busy".
    """

    def __init__(self, code: str, status: int = 400) -> None:
        super().__init__(code)
        self.code, self.status = code, status
        # Each refused upload raises exactly one: counted here, whichever step refused it.
        metrics.UPLOADS.labels("failed" if code == "storage" else "refused").inc()

    @classmethod
    def from_error(cls, e: UploadError, quota_binds: bool) -> IntakeRefused:
        """The refusal for a stream that failed; too large is the quota when that binds."""
        if e.code == "too_large":
            return cls("quota" if quota_binds else "too_large", 413)
        return cls(e.code)


@dataclass(frozen=True)
class Limits:
    """The sizes an intake enforces: one file's, and a vault's."""

    max_upload_bytes: int
    vault_quota_bytes: int


@dataclass(frozen=True)
class Details:
    """The details typed with an upload or a deposit, checked and cleaned."""

    title: str
    category: str
    doc_type: str
    expiry_date: date | None


class DetailsForm(Protocol):
    """What the intake needs of the view's details form (DocumentDetailsForm)."""

    def process(self, *, data: dict[str, object]) -> None: ...

    def validate(self) -> bool: ...


def room(db: Session, vault_id: uuid.UUID, limits: Limits) -> tuple[int, bool]:
    """Bytes an upload to the vault may take, and whether its quota (not the size limit) binds."""
    left = limits.vault_quota_bytes - documents.quota_used(db, vault_id)
    if left < limits.max_upload_bytes:
        return max(left, 0), True
    return limits.max_upload_bytes, False


def details_data(fields: dict[str, str]) -> dict[str, object]:
    """The streamed fields as DocumentDetailsForm data; IntakeRefused for a malformed date."""
    expiry: date | None = None
    raw = ascii_digits(fields.get("expiry_date", "").strip())
    if raw:
        try:
            expiry = date.fromisoformat(raw)
        except ValueError:
            raise IntakeRefused("bad_date") from None
        # Not left to the form: WTForms' Optional() skips it for data given this way.
        if not EARLIEST_DATE <= expiry <= LATEST_DATE:
            raise IntakeRefused("bad_date")
    return {
        "title": fields.get("title", "")[:TITLE_FIELD_CHARS],
        "category": fields.get("category", ""),
        "doc_type": fields.get("doc_type", ""),
        "expiry_date": expiry,
    }


class _RecordingStore:
    """The blob store, noting every key written through it (to remove them on failure)."""

    def __init__(self, store: storage.BlobStore) -> None:
        self._store = store
        self.name = store.name
        self.written: list[tuple[str, str]] = []

    def put(self, key: str, data: storage.PutData, length: int | None = None) -> storage.BlobInfo:
        # Noted before writing: a put that fails halfway may leave a part behind.
        self.written.append((self._store.name, key))
        return self._store.put(key, data, length)

    def open(self, key: str, start: int = 0, length: int | None = None) -> storage.BlobReader:
        return self._store.open(key, start, length)

    def stat(self, key: str) -> storage.BlobInfo:
        return self._store.stat(key)

    def delete(self, key: str) -> None:
        self._store.delete(key)

    def exists(self, key: str) -> bool:
        return self._store.exists(key)

    def list(self, prefix: str = "") -> Iterator[storage.BlobInfo]:
        return self._store.list(prefix)

    def describe(self) -> str:
        return self._store.describe()

    def close(self) -> None:
        self._store.close()


class Intake:
    """One file being received into one vault. Open it with `Intake.open`.

    Then, for the paths with details, `read_details(form)`; then `receive_file()`;
    then one of `add`, `replace` or `deposit`, which stores and finishes the body.
    Every step raises IntakeRefused; the view shows its message.
    """

    def __init__(
        self,
        db: Session,
        store: storage.BlobStore,
        ring: KeyRing,
        vault_id: uuid.UUID,
        limits: Limits,
        upload: StreamingUpload | None,
        quota_binds: bool,
    ) -> None:
        self._db, self._store, self._ring = db, store, ring
        self.vault_id = vault_id
        self._limits = limits
        self.upload = upload
        self._quota_binds = quota_binds
        self.details: Details | None = None
        self.mime = ""
        self.filename = ""
        self._chunks: Iterator[bytes] | None = None
        # The blobs the stored rows name, until they are committed.
        self._written: list[tuple[str, str]] = []
        # Plaintext bytes stored (for the metrics).
        self._size = 0

    @classmethod
    def open(
        cls,
        request: Request,
        db: Session,
        store: storage.BlobStore,
        ring: KeyRing,
        vault_id: uuid.UUID,
        limits: Limits,
    ) -> Intake:
        """Read the fields streamed before the file and check the CSRF token; nothing stored."""
        limit, quota_binds = room(db, vault_id, limits)
        if limit == 0:
            raise IntakeRefused("quota", 413)
        try:
            upload = StreamingUpload.from_request(
                request, max_file_bytes=limit, photo_field=PHOTO_FIELD, max_photos=MAX_PHOTOS
            )
        except UploadError as e:
            raise IntakeRefused.from_error(e, quota_binds) from None
        try:
            check_csrf(upload)
        except CSRFError:
            raise IntakeRefused("csrf") from None
        return cls(db, store, ring, vault_id, limits, upload, quota_binds)

    @classmethod
    def generated(
        cls,
        db: Session,
        store: storage.BlobStore,
        ring: KeyRing,
        vault_id: uuid.UUID,
        limits: Limits,
        content: bytes,
        *,
        details: Details,
        filename: str,
    ) -> Intake:
        """A file the vault made for the person (a CV's PDF): the same checks, nothing streamed.

        The view's own form passed Flask-WTF's CSRF check (CSRFProtect: the
        request is an ordinary form); from there the path is the upload's: the
        size against the room left, the details against the catalog, the title
        cleaned, the type sniffed, then `add` or `replace` and `commit`.
        """
        limit, quota_binds = room(db, vault_id, limits)
        if len(content) > limit:
            raise IntakeRefused("quota" if quota_binds else "too_large", 413)
        if not is_valid(details.category, details.doc_type):
            raise IntakeRefused("bad_details")
        mime = sniff_type(content[:SNIFF_BYTES])
        if mime is None:
            raise IntakeRefused("bad_type", 415)
        intake = cls(db, store, ring, vault_id, limits, None, quota_binds)
        intake.details = Details(
            clean_title(details.title), details.category, details.doc_type, details.expiry_date
        )
        intake.mime, intake.filename = mime, clean_filename(filename)
        intake._chunks = iter((content,))
        return intake

    def read_details(self, form: DetailsForm) -> Details:
        """Fill `form` from the fields and check it, before a byte of the file is stored."""
        assert self.upload is not None, "an upload's details come with its request"
        data = details_data(self.upload.fields)
        # A type of another category is filed as the category's "other" (D-080).
        category = str(data["category"])
        doc_type = data["doc_type"] = type_within(category, str(data["doc_type"]))
        form.process(data=data)
        if not form.validate() or not is_valid(category, doc_type):
            raise IntakeRefused("bad_details")
        expiry = data["expiry_date"]
        # What the person named the document stays out of every log line of this request.
        logs.mask(str(data["title"]))
        self.details = Details(
            # No control or bidi characters that would make a title show as something else.
            title=clean_title(str(data["title"])),
            category=category,
            doc_type=doc_type,
            expiry_date=expiry if isinstance(expiry, date) else None,
        )
        return self.details

    def receive_file(self) -> None:
        """Start the file: its real type from its first bytes, its name cleaned."""
        assert self.upload is not None, "a generated file needs no receiving"
        if self.upload.photos:  # photos of a paper, made one PDF in memory (D-082)
            try:
                pdf = pdf_of_photos(self.upload, self._limits.max_upload_bytes)
            except PhotoRefused as refused:
                raise IntakeRefused(refused.code, refused.status) from None
            self.mime, self.filename, self._chunks = "application/pdf", "", iter([pdf])
            return
        try:
            file = self.upload.require_file()
            head, self._chunks = peek(file.chunks(), SNIFF_BYTES)
        except UploadError as e:
            raise IntakeRefused.from_error(e, self._quota_binds) from None
        mime = sniff_type(head)
        if mime is None:
            raise IntakeRefused("bad_type", 415)
        self.mime, self.filename = mime, clean_filename(file.filename)
        logs.mask(file.filename, self.filename)

    def _title(self) -> tuple[Details, str]:
        details = self.details
        assert details is not None, "read_details first"
        title = details.title or title_from_filename(self.filename)
        return details, title or str(TYPE_LABELS[details.doc_type])

    def add(self, owner: Unlocked) -> Document:
        """The person's new document."""
        details, title = self._title()
        return self._store_with(
            "upload",
            lambda store, chunks: documents.add_document(
                self._db,
                store,
                self._ring,
                owner,
                chunks,
                mime=self.mime,
                title=title,
                filename=self.filename,
                category=details.category,
                doc_type=details.doc_type,
                expiry_date=details.expiry_date,
                actor=owner.user,
                quota=self._limits.vault_quota_bytes,
            ),
        )

    def replace(self, owner: Unlocked, document: Document) -> DocumentVersion:
        """A new version of the person's document."""
        return self._store_with(
            "replace",
            lambda store, chunks: documents.replace_document(
                self._db,
                store,
                self._ring,
                owner,
                document,
                chunks,
                mime=self.mime,
                filename=self.filename,
                actor=owner.user,
                quota=self._limits.vault_quota_bytes,
            ),
        )

    def deposit(self, depositor: User, person: User) -> Document:
        """A deposit into `person`'s vault (this intake's), sealed to it."""
        details, title = self._title()
        return self._store_with(
            "deposit",
            lambda store, chunks: deposits.deposit_document(
                self._db,
                store,
                self._ring,
                depositor,
                person,
                chunks,
                mime=self.mime,
                title=title,
                filename=self.filename,
                category=details.category,
                doc_type=details.doc_type,
                expiry_date=details.expiry_date,
                quota=self._limits.vault_quota_bytes,
            ),
        )

    def _store_with(self, kind: str, save: Callable[[storage.BlobStore, Iterator[bytes]], T]) -> T:
        """Run `save` on the file, then read the rest of the body; undo everything on failure."""
        assert self._chunks is not None, "receive_file first"
        recording = _RecordingStore(self._store)
        chunks = self._chunks

        def counted() -> Iterator[bytes]:
            for chunk in chunks:
                self._size += len(chunk)
                yield chunk

        try:
            result = save(recording, counted())
            if self.upload is not None:
                self.upload.finish()
        except UploadError as e:
            self._undo(recording.written)
            raise IntakeRefused.from_error(e, self._quota_binds) from None
        except storage.StorageError:
            log.warning("%s failed: blob store unavailable (vault %s)", kind, self.vault_id)
            self._undo(recording.written)
            raise IntakeRefused("storage", 503) from None
        except QuotaExceeded:
            # Another upload filled the vault while this one streamed.
            self._undo(recording.written)
            raise IntakeRefused("quota", 413) from None
        except BaseException:
            self._undo(recording.written)
            raise
        self._written = list(recording.written)
        return result

    def commit(self) -> None:
        """Commit what `add`, `replace` or `deposit` stored; if the commit fails, remove its blobs.

        The view decides when (after its own checks): this is its commit,
        which leaves no blob behind that no row names.
        """
        try:
            self._db.commit()
        except BaseException:
            log.warning("upload to vault %s not committed: its blobs are removed", self.vault_id)
            metrics.UPLOADS.labels("failed").inc()
            self._undo(self._written)
            raise
        self._written = []
        metrics.UPLOADS.labels("stored").inc()
        metrics.UPLOAD_BYTES.inc(self._size)

    def _undo(self, written: list[tuple[str, str]]) -> None:
        self._db.rollback()
        delete_blobs(self._store, written)
