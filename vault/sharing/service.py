"""Assignments, shares with counsellors, deposits, document requests.

The person stays in control: a counsellor reads a document only while (1) they
are assigned to the person, (2) an active share covers the document, and
(3) a key sealed to them for that share and document exists. Revoking deletes
the keys; the HPKE context of each key names the share, the document, the
counsellor and the expiry, so a key presented for anything else does not open.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

import storage
from crypto import (
    CryptoError,
    KeyRing,
    blob_aad,
    derive_keypair,
    encrypt_iter,
    generate_data_key,
    load_public_key,
    open_sealed,
    seal,
)
from vault.core.errors import NotFound, PolicyError
from vault.documents.service import (
    BLOB_PREFIX,
    Meta,
    Unlocked,
    _Counter,
    _update_index,
    _wrap_dek,
    check_quota,
    current_version,
    document_meta,
    meta_from_json,
    meta_json,
    seal_meta,
    version_dek,
)
from vault.journal import service as journal
from vault.lifecycle import service as lifecycle
from vault.models import (
    Assignment,
    Blob,
    Document,
    DocumentRequest,
    DocumentVersion,
    Lifecycle,
    PersonProfile,
    Role,
    Share,
    ShareKey,
    User,
)
from vault.models.base import utcnow

DEFAULT_SHARE_DAYS = 90
MAX_SHARE_DAYS = 366


# --- assignments ------------------------------------------------------------------------


def _current_assignment(
    db: Session, person_id: uuid.UUID, counsellor_id: uuid.UUID
) -> Assignment | None:
    return db.execute(
        select(Assignment).where(
            Assignment.person_id == person_id,
            Assignment.counsellor_id == counsellor_id,
            Assignment.ended_at.is_(None),
        )
    ).scalar_one_or_none()


def active_assignment(
    db: Session, person_id: uuid.UUID, counsellor_id: uuid.UUID
) -> Assignment | None:
    assignment = _current_assignment(db, person_id, counsellor_id)
    # After a release without follow-up, counsellors' access ends with the grace period.
    person = db.get(User, person_id) if assignment is not None else None
    if person is not None and not lifecycle.counsellor_access_open(person, utcnow().date()):
        return None
    return assignment


def assign(db: Session, person: User, counsellor: User, *, by: User) -> Assignment:
    """Assign `counsellor` to `person` (idempotent while an assignment is active)."""
    if person.role != Role.PERSON or counsellor.role != Role.COUNSELLOR:
        raise NotFound()
    # Not active_assignment: an assignment whose access ended is still the current one.
    existing = _current_assignment(db, person.id, counsellor.id)
    if existing is not None:
        return existing
    assignment = Assignment(person_id=person.id, counsellor_id=counsellor.id, assigned_by_id=by.id)
    db.add(assignment)
    db.flush()
    journal.append(
        db,
        vault_id=person.id,
        action="assignment.started",
        actor=by,
        details={"counsellor": str(counsellor.id)},
    )
    return assignment


def end_assignment(db: Session, assignment: Assignment, *, by: User | None) -> None:
    """End an assignment; the counsellor's shares and their keys go with it.

    `by` is None when the operator's command disabled the counsellor.
    """
    if assignment.ended_at is not None:
        return
    assignment.ended_at = utcnow()
    assignment.ended_by_id = by.id if by else None
    for share in _shares(db, assignment.person_id, assignment.counsellor_id, active_only=True):
        _revoke(db, share)
    # Their open requests go too: nobody is there any more to receive the answer.
    for request in db.execute(
        select(DocumentRequest).where(
            DocumentRequest.vault_id == assignment.person_id,
            DocumentRequest.counsellor_id == assignment.counsellor_id,
            DocumentRequest.status == "open",
        )
    ).scalars():
        request.status = "cancelled"
    db.flush()
    journal.append(
        db,
        vault_id=assignment.person_id,
        action="assignment.ended",
        actor=by,
        details={"counsellor": str(assignment.counsellor_id)},
    )


def counsellors_of(db: Session, person_id: uuid.UUID) -> list[User]:
    return list(
        db.execute(
            select(User)
            .join(Assignment, Assignment.counsellor_id == User.id)
            .where(Assignment.person_id == person_id, Assignment.ended_at.is_(None))
            .order_by(User.display_name)
        ).scalars()
    )


def people_of(db: Session, counsellor_id: uuid.UUID, query: str = "") -> list[User]:
    statement = (
        select(User)
        .join(Assignment, Assignment.person_id == User.id)
        .outerjoin(PersonProfile, PersonProfile.user_id == User.id)
        .where(Assignment.counsellor_id == counsellor_id, Assignment.ended_at.is_(None))
    )
    needle = query.strip().lower()
    if needle:
        like = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(
            or_(
                User.display_name.ilike(like, escape="\\"),
                PersonProfile.prison_number.ilike(like, escape="\\"),
            )
        )
    today = utcnow().date()
    return [
        person
        for person in db.execute(statement.order_by(User.display_name)).scalars()
        if lifecycle.counsellor_access_open(person, today)
    ]


def assignment_history(db: Session, person_id: uuid.UUID) -> list[Assignment]:
    return list(
        db.execute(
            select(Assignment)
            .where(Assignment.person_id == person_id)
            .order_by(Assignment.started_at.desc())
        ).scalars()
    )


# --- shares -----------------------------------------------------------------------------


def _context(share: Share, document_id: uuid.UUID) -> bytes:
    until = share.expires_at.isoformat() if share.expires_at else "release"
    return (
        b"vault/share|"
        + share.id.bytes
        + document_id.bytes
        + share.counsellor_id.bytes
        + b"|"
        + until.encode()
    )


def _payload(dek: bytes, version: int, meta: Meta) -> bytes:
    return dek + json.dumps({"v": version, "t": meta.title, "f": meta.filename}).encode()


def _seal_key(
    db: Session,
    share: Share,
    counsellor: User,
    document: Document,
    version: int,
    dek: bytes,
    meta: Meta,
) -> None:
    sealed = seal(
        load_public_key(counsellor.public_key),
        _payload(dek, version, meta),
        _context(share, document.id),
    )
    key = db.execute(
        select(ShareKey).where(ShareKey.share_id == share.id, ShareKey.document_id == document.id)
    ).scalar_one_or_none()
    if key is None:
        db.add(ShareKey(share_id=share.id, document_id=document.id, version=version, sealed=sealed))
    else:
        key.version, key.sealed = version, sealed
    db.flush()


def _seal_current(
    db: Session,
    ring: KeyRing,
    owner: Unlocked,
    share: Share,
    counsellor: User,
    document: Document,
) -> None:
    """Seal the key and title of `document`'s current version to `counsellor`."""
    version = current_version(db, document)
    _seal_key(
        db,
        share,
        counsellor,
        document,
        version.version,
        version_dek(ring, owner, version),
        document_meta(owner, document),
    )


def share_is_active(share: Share, person: User, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if share.revoked_at is not None:
        return False
    if not lifecycle.counsellor_access_open(person, now.date()):
        return False
    if share.expires_at is not None and share.expires_at <= now:
        return False
    released = person.profile is not None and person.profile.lifecycle in (
        Lifecycle.RELEASED,
        Lifecycle.CLOSED,
    )
    return not (share.until_release and released)


def _shares(
    db: Session, vault_id: uuid.UUID, counsellor_id: uuid.UUID | None = None, *, active_only: bool
) -> list[Share]:
    statement = select(Share).where(Share.vault_id == vault_id)
    if counsellor_id is not None:
        statement = statement.where(Share.counsellor_id == counsellor_id)
    if active_only:
        statement = statement.where(
            Share.revoked_at.is_(None),
            or_(Share.expires_at.is_(None), Share.expires_at > utcnow()),
        )
    return list(db.execute(statement.order_by(Share.created_at.desc())).scalars())


def active_shares(db: Session, person: User) -> list[Share]:
    return [s for s in _shares(db, person.id, active_only=True) if share_is_active(s, person)]


def _expiry(days: int | None, until_release: bool) -> datetime | None:
    if until_release:
        return None
    days = DEFAULT_SHARE_DAYS if days is None else days
    if not 1 <= days <= MAX_SHARE_DAYS:
        raise PolicyError(["share_days"])
    return utcnow() + timedelta(days=days)


def _check_counsellor(db: Session, owner: Unlocked, counsellor_id: uuid.UUID) -> User:
    counsellor = db.get(User, counsellor_id)
    if counsellor is None or active_assignment(db, owner.vault_id, counsellor_id) is None:
        raise NotFound()
    return counsellor


def share_document(
    db: Session,
    ring: KeyRing,
    owner: Unlocked,
    document: Document,
    counsellor_id: uuid.UUID,
    *,
    days: int | None = None,
    until_release: bool = False,
) -> Share:
    """Share one document with one of the owner's counsellors."""
    if document.vault_id != owner.vault_id:
        raise NotFound()
    counsellor = _check_counsellor(db, owner, counsellor_id)
    # Sharing again what is already shared with this counsellor replaces the
    # old share (new duration) rather than stacking a second one.
    for existing in _shares(db, owner.vault_id, counsellor.id, active_only=True):
        if existing.document_id == document.id:
            _revoke(db, existing)
    share = Share(
        id=uuid.uuid4(),
        vault_id=owner.vault_id,
        counsellor_id=counsellor.id,
        document_id=document.id,
        expires_at=_expiry(days, until_release),
        until_release=until_release,
    )
    db.add(share)
    db.flush()
    _seal_current(db, ring, owner, share, counsellor, document)
    journal.append(
        db,
        vault_id=owner.vault_id,
        action="share.created",
        actor=owner.user,
        document_id=document.id,
        details={"counsellor": str(counsellor.id)},
    )
    return share


def share_category(
    db: Session,
    ring: KeyRing,
    owner: Unlocked,
    category: str,
    counsellor_id: uuid.UUID,
    *,
    days: int | None = None,
    until_release: bool = False,
) -> Share:
    """A standing share: every document of `category`, now and added later."""
    counsellor = _check_counsellor(db, owner, counsellor_id)
    share = Share(
        id=uuid.uuid4(),
        vault_id=owner.vault_id,
        counsellor_id=counsellor.id,
        category=category,
        expires_at=_expiry(days, until_release),
        until_release=until_release,
    )
    db.add(share)
    db.flush()
    documents = db.execute(
        select(Document).where(
            Document.vault_id == owner.vault_id,
            Document.category == category,
            Document.meta_sealed.is_(False),
        )
    ).scalars()
    for document in documents:
        _seal_current(db, ring, owner, share, counsellor, document)
    journal.append(
        db,
        vault_id=owner.vault_id,
        action="share.category_created",
        actor=owner.user,
        details={"counsellor": str(counsellor.id), "category": category},
    )
    return share


def seal_for_standing_shares(
    db: Session, vault_owner: User, document: Document, version: int, dek: bytes, meta: Meta
) -> int:
    """Share a new document (or version) with every active share covering it.

    Called by whoever holds the DEK at that moment: the owner uploading or
    replacing, or a depositor.
    """
    shares = db.execute(
        select(Share).where(
            Share.vault_id == vault_owner.id,
            Share.revoked_at.is_(None),
            or_(Share.category == document.category, Share.document_id == document.id),
        )
    ).scalars()
    count = 0
    for share in shares:
        if not share_is_active(share, vault_owner):
            continue
        counsellor = db.get(User, share.counsellor_id)
        if counsellor is None or active_assignment(db, vault_owner.id, counsellor.id) is None:
            continue
        _seal_key(db, share, counsellor, document, version, dek, meta)
        count += 1
    return count


def _revoke(db: Session, share: Share) -> None:
    share.revoked_at = utcnow()
    db.execute(delete(ShareKey).where(ShareKey.share_id == share.id))
    db.flush()


def revoke(db: Session, owner: Unlocked, share_id: uuid.UUID) -> Share:
    share = db.get(Share, share_id)
    if share is None or share.vault_id != owner.vault_id:
        raise NotFound()
    if share.revoked_at is None:
        _revoke(db, share)
        journal.append(
            db,
            vault_id=owner.vault_id,
            action="share.revoked",
            actor=owner.user,
            document_id=share.document_id,
            details={"counsellor": str(share.counsellor_id), "category": share.category},
        )
    return share


def forget_document(db: Session, document_id: uuid.UUID) -> None:
    """Before a document is deleted: its share keys, its shares, links and request answers go."""
    from vault.models import ExternalLink

    db.execute(delete(ShareKey).where(ShareKey.document_id == document_id))
    db.execute(delete(ExternalLink).where(ExternalLink.document_id == document_id))
    for request in db.execute(
        select(DocumentRequest).where(DocumentRequest.document_id == document_id)
    ).scalars():
        request.document_id = None
    for share in db.execute(select(Share).where(Share.document_id == document_id)).scalars():
        share.revoked_at = share.revoked_at or utcnow()
        share.document_id = None
    db.flush()


def drop_category_keys(db: Session, document: Document) -> None:
    """Keys given to a document through category shares (before it changes category)."""
    share_ids = select(Share.id).where(
        Share.vault_id == document.vault_id, Share.category.is_not(None)
    )
    db.execute(
        delete(ShareKey).where(
            ShareKey.document_id == document.id, ShareKey.share_id.in_(share_ids)
        )
    )
    db.flush()


# --- what a counsellor sees -------------------------------------------------------------


@dataclass(frozen=True)
class SharedDocument:
    document: Document
    share: Share
    title: str


def _counsellor_can_see(db: Session, counsellor: User, person: User) -> None:
    if person.role != Role.PERSON or active_assignment(db, person.id, counsellor.id) is None:
        raise NotFound()


def shared_with(
    db: Session, counsellor: User, counsellor_key: bytes, person: User
) -> list[SharedDocument]:
    """Documents `person` shares with `counsellor` now, with their titles."""
    _counsellor_can_see(db, counsellor, person)
    keypair = derive_keypair(counsellor_key)
    rows = db.execute(
        select(ShareKey, Share, Document)
        .join(Share, Share.id == ShareKey.share_id)
        .join(Document, Document.id == ShareKey.document_id)
        .where(Share.vault_id == person.id, Share.counsellor_id == counsellor.id)
        .order_by(Document.updated_at.desc())
    ).all()
    seen: set[uuid.UUID] = set()
    result = []
    for key, share, document in rows:
        if document.id in seen or not share_is_active(share, person):
            continue
        try:
            payload = open_sealed(keypair, key.sealed, _context(share, document.id))
        except CryptoError:
            continue
        seen.add(document.id)
        result.append(SharedDocument(document, share, json.loads(payload[32:])["t"]))
    return result


def shared_counts(db: Session, counsellor: User, people: Sequence[User]) -> dict[uuid.UUID, int]:
    """How many documents each of `people` shares with `counsellor` now.

    For the counsellor's home, which shows a number per person: one query for
    the whole caseload, and no sealed key opened (no title is shown), where
    `shared_with` per person made a caseload of eighty cost eighty rounds of
    queries and key openings.
    """
    by_id = {person.id: person for person in people}
    documents: dict[uuid.UUID, set[uuid.UUID]] = {person_id: set() for person_id in by_id}
    if not by_id:
        return {}
    now = utcnow()
    rows = db.execute(
        select(Share, ShareKey.document_id)
        .join(ShareKey, ShareKey.share_id == Share.id)
        .where(
            Share.vault_id.in_(list(by_id)),
            Share.counsellor_id == counsellor.id,
            Share.revoked_at.is_(None),
        )
    ).all()
    for share, document_id in rows:
        if share_is_active(share, by_id[share.vault_id], now):
            # A document in a single share and a category share counts once.
            documents[share.vault_id].add(document_id)
    return {person_id: len(ids) for person_id, ids in documents.items()}


@dataclass(frozen=True)
class OpenedShare:
    document: Document
    version: DocumentVersion
    dek: bytes
    title: str
    filename: str


def open_shared(
    db: Session, counsellor: User, counsellor_key: bytes, person: User, document_id: uuid.UUID
) -> OpenedShare:
    """The key of a document `person` shares with `counsellor`; NotFound otherwise."""
    _counsellor_can_see(db, counsellor, person)
    document = db.get(Document, document_id)
    if document is None or document.vault_id != person.id:
        raise NotFound()
    keypair = derive_keypair(counsellor_key)
    rows = db.execute(
        select(ShareKey, Share)
        .join(Share, Share.id == ShareKey.share_id)
        .where(
            ShareKey.document_id == document.id,
            Share.vault_id == person.id,
            Share.counsellor_id == counsellor.id,
        )
    ).all()
    for key, share in rows:
        if not share_is_active(share, person):
            continue
        try:
            payload = open_sealed(keypair, key.sealed, _context(share, document.id))
        except CryptoError:
            continue
        info = json.loads(payload[32:])
        version = db.execute(
            select(DocumentVersion).where(
                DocumentVersion.document_id == document.id,
                DocumentVersion.version == info["v"],
            )
        ).scalar_one_or_none()
        if version is None:
            continue
        return OpenedShare(document, version, payload[:32], info["t"], info["f"])
    raise NotFound()


# --- deposits ---------------------------------------------------------------------------


def _deposit_context(document_id: uuid.UUID, version: int, what: bytes) -> bytes:
    return b"vault/deposit|" + what + b"|" + document_id.bytes + version.to_bytes(4, "big")


def deposit_document(
    db: Session,
    store: storage.BlobStore,
    ring: KeyRing,
    depositor: User,
    person: User,
    chunks: Iterable[bytes],
    *,
    mime: str,
    title: str,
    filename: str,
    category: str,
    doc_type: str,
    expiry_date: object = None,
    quota: int | None = None,
) -> Document:
    """Add a document to `person`'s vault, sealed to the vault's public key.

    The depositor holds the DEK only during this call: afterwards only the
    person (and counsellors the person shares with) can open it.
    """
    if person.role != Role.PERSON:
        raise NotFound()
    if depositor.role == Role.COUNSELLOR and active_assignment(db, person.id, depositor.id) is None:
        raise NotFound()
    vault_public = load_public_key(person.public_key)
    now = utcnow()
    document_id = uuid.uuid4()
    dek = generate_data_key()
    counter = _Counter(chunks)
    key = storage.new_key(BLOB_PREFIX)
    info = store.put(key, encrypt_iter(dek, blob_aad(person.id, document_id, 1), counter))
    meta = Meta(title, filename, counter.sha256.hexdigest(), counter.crc32)
    document = Document(
        id=document_id,
        vault_id=person.id,
        category=category,
        doc_type=doc_type,
        expiry_date=expiry_date,
        current_version=1,
        mime=mime,
        size=counter.size,
        meta=seal(
            vault_public,
            meta_json(meta),
            _deposit_context(document_id, 1, b"meta"),
        ),
        meta_sealed=True,
        deposited_by_id=depositor.id,
        created_at=now,
        updated_at=now,
    )
    db.add(document)
    blob = Blob(store=store.name, key=key, size=info.size, etag=info.etag[:64])
    db.add(blob)
    db.flush()
    version = DocumentVersion(
        id=uuid.uuid4(),
        document_id=document_id,
        version=1,
        blob_id=blob.id,
        mime=mime,
        size=counter.size,
        wrapped_dek=None,
        sealed_dek=ring.wrap(
            seal(vault_public, dek, _deposit_context(document_id, 1, b"dek")),
            b"vault/deposit-dek|" + document_id.bytes,
        ),
        created_by_id=depositor.id,
    )
    blob.key_id = f"dek:{version.id}"
    db.add(version)
    db.flush()
    check_quota(db, person.id, quota, [(store.name, key)])
    person.pending_deposits = (person.pending_deposits or 0) + 1
    seal_for_standing_shares(db, person, document, 1, dek, meta)
    journal.append(
        db,
        vault_id=person.id,
        action="document.deposited",
        actor=depositor,
        document_id=document_id,
        details={"category": category, "type": doc_type},
    )
    return document


def take_in_deposits(db: Session, ring: KeyRing, owner: Unlocked) -> int:
    """Re-wrap deposits under the vault key, now that the owner's key is here."""
    documents = list(
        db.execute(
            select(Document).where(
                Document.vault_id == owner.vault_id, Document.meta_sealed.is_(True)
            )
        ).scalars()
    )
    if not documents:
        return 0
    keypair = derive_keypair(owner.key)
    for document in documents:
        raw_meta = open_sealed(keypair, document.meta, _deposit_context(document.id, 1, b"meta"))
        for version in db.execute(
            select(DocumentVersion).where(
                DocumentVersion.document_id == document.id, DocumentVersion.sealed_dek.is_not(None)
            )
        ).scalars():
            assert version.sealed_dek is not None
            sealed = ring.unwrap(version.sealed_dek, b"vault/deposit-dek|" + document.id.bytes)
            dek = open_sealed(
                keypair, sealed, _deposit_context(document.id, version.version, b"dek")
            )
            version.wrapped_dek = _wrap_dek(ring, owner, document.id, version, dek)
            version.sealed_dek = None
        meta = meta_from_json(raw_meta)
        document.meta = seal_meta(owner.key, owner.vault_id, document.id, meta)
        document.meta_sealed = False
        _update_index(db, owner, document, meta.title)
    owner.user.pending_deposits = 0
    db.flush()
    return len(documents)


@dataclass(frozen=True)
class MenuCounts:
    open_requests: int
    new_deposits: int


def menu_counts(db: Session, vault_id: uuid.UUID, since: datetime | None) -> MenuCounts:
    """What every page of a person shows, in one query: open requests, and the
    documents deposited since `since` (the previous sign-in; every deposit if None)."""
    open_requests = select(func.count()).where(
        DocumentRequest.vault_id == vault_id, DocumentRequest.status == "open"
    )
    deposits = select(func.count()).where(
        Document.vault_id == vault_id, Document.deposited_by_id.is_not(None)
    )
    if since is not None:
        deposits = deposits.where(Document.created_at > since)
    row = db.execute(select(open_requests.scalar_subquery(), deposits.scalar_subquery())).one()
    return MenuCounts(open_requests=int(row[0]), new_deposits=int(row[1]))


# --- requests ---------------------------------------------------------------------------


def message_context(request_id: uuid.UUID, reader_id: uuid.UUID) -> bytes:
    """The HPKE context of a request's message sealed for `reader_id`."""
    return b"vault/request-message|" + request_id.bytes + reader_id.bytes


def request_document(
    db: Session, counsellor: User, person: User, doc_type: str, message: str
) -> DocumentRequest:
    """Ask `person` for a document; the message is sealed to the person and the counsellor.

    It is free text (a reason, an appointment, a court date): not
    classification data, so it is kept in clear nowhere. Sealing needs only
    the two public keys, so the counsellor need not hold the person's key.
    """
    _counsellor_can_see(db, counsellor, person)
    request_id = uuid.uuid4()
    text = message.strip()[:500]
    sealed: dict[str, bytes | None] = {"person": None, "counsellor": None}
    if text:
        for name, reader in (("person", person), ("counsellor", counsellor)):
            sealed[name] = seal(
                load_public_key(reader.public_key),
                text.encode(),
                message_context(request_id, reader.id),
            )
    request = DocumentRequest(
        id=request_id,
        vault_id=person.id,
        counsellor_id=counsellor.id,
        doc_type=doc_type,
        message_for_person=sealed["person"],
        message_for_counsellor=sealed["counsellor"],
    )
    db.add(request)
    db.flush()
    journal.append(
        db,
        vault_id=person.id,
        action="request.created",
        actor=counsellor,
        details={"type": doc_type},
    )
    return request


def request_messages(
    requests: Iterable[DocumentRequest], reader: User, reader_key: bytes
) -> dict[uuid.UUID, str]:
    """The messages of `requests` that `reader` (the person or the counsellor) opens.

    Requests without a message, or not addressed to `reader`, are left out.
    """
    keypair = None
    messages = {}
    for request in requests:
        if reader.id == request.vault_id:
            sealed = request.message_for_person
        elif reader.id == request.counsellor_id:
            sealed = request.message_for_counsellor
        else:
            continue
        if sealed is None:
            continue
        keypair = keypair or derive_keypair(reader_key)
        try:
            text = open_sealed(keypair, sealed, message_context(request.id, reader.id))
        except CryptoError:
            continue
        messages[request.id] = text.decode()
    return messages


def open_request_counts(
    db: Session, counsellor_id: uuid.UUID, person_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Open requests of `counsellor_id` to each person, in one query (the caseload page)."""
    counts = dict.fromkeys(person_ids, 0)
    if not counts:
        return counts
    rows = db.execute(
        select(DocumentRequest.vault_id, func.count())
        .where(
            DocumentRequest.vault_id.in_(list(counts)),
            DocumentRequest.counsellor_id == counsellor_id,
            DocumentRequest.status == "open",
        )
        .group_by(DocumentRequest.vault_id)
    ).all()
    counts.update({vault_id: int(n) for vault_id, n in rows})
    return counts


def open_requests(db: Session, person_id: uuid.UUID) -> list[DocumentRequest]:
    return list(
        db.execute(
            select(DocumentRequest)
            .where(DocumentRequest.vault_id == person_id, DocumentRequest.status == "open")
            .order_by(DocumentRequest.created_at.desc())
        ).scalars()
    )


def answer_request(
    db: Session, ring: KeyRing, owner: Unlocked, request_id: uuid.UUID, document: Document
) -> DocumentRequest:
    """Answer with a document of the owner's vault, which shares it with the requester."""
    request = db.get(DocumentRequest, request_id)
    if request is None or request.vault_id != owner.vault_id or request.status != "open":
        raise NotFound()
    if document.vault_id != owner.vault_id:
        raise NotFound()
    share_document(db, ring, owner, document, request.counsellor_id)
    request.status = "answered"
    request.document_id = document.id
    request.answered_at = utcnow()
    db.flush()
    journal.append(
        db,
        vault_id=owner.vault_id,
        action="request.answered",
        actor=owner.user,
        document_id=document.id,
        details={"type": request.doc_type},
    )
    return request
