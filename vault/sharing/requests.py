"""Document requests: a counsellor asks the person for a document; the person answers.

The request's message is free text (a reason, an appointment, a court date),
sealed to the person and to the counsellor; answering shares the chosen
document with the counsellor (vault.sharing.shares).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ScalarSelect, func, literal, select
from sqlalchemy.orm import Session

from crypto import CryptoError, KeyRing, derive_keypair, load_public_key, open_sealed, seal
from vault.access.assignments import check_counsellor_sees
from vault.accounts.keys import Unlocked
from vault.core.envelope import request_message_context
from vault.core.errors import NotFound
from vault.journal import service as journal
from vault.models import Document, DocumentRequest, RequestStatus, User
from vault.models.base import utcnow
from vault.sharing.shares import share_document


@dataclass(frozen=True)
class MenuCounts:
    open_requests: int
    new_deposits: int


def menu_counts(db: Session, vault_id: uuid.UUID, since: datetime | None) -> MenuCounts:
    """What every page of a person shows, in one query: open requests, and the
    documents deposited since `since` (the previous sign-in; every deposit if None)."""
    open_requests = select(func.count()).where(
        DocumentRequest.vault_id == vault_id, DocumentRequest.status == RequestStatus.OPEN
    )
    deposits = select(func.count()).where(
        Document.vault_id == vault_id, Document.deposited_by_id.is_not(None)
    )
    if since is not None:
        deposits = deposits.where(Document.created_at > since)
    row = db.execute(select(open_requests.scalar_subquery(), deposits.scalar_subquery())).one()
    return MenuCounts(open_requests=int(row[0]), new_deposits=int(row[1]))


def request_document(
    db: Session, counsellor: User, person: User, doc_type: str, message: str
) -> DocumentRequest:
    """Ask `person` for a document; the message is sealed to the person and the counsellor.

    It is free text (a reason, an appointment, a court date): not
    classification data, so it is kept in clear nowhere. Sealing needs only
    the two public keys, so the counsellor need not hold the person's key.
    """
    check_counsellor_sees(db, counsellor, person)
    request_id = uuid.uuid4()
    text = message.strip()[:500]
    sealed: dict[str, bytes | None] = {"person": None, "counsellor": None}
    if text:
        for name, reader in (("person", person), ("counsellor", counsellor)):
            sealed[name] = seal(
                load_public_key(reader.public_key),
                text.encode(),
                request_message_context(request_id, reader.id),
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
            text = open_sealed(keypair, sealed, request_message_context(request.id, reader.id))
        except CryptoError:
            continue
        messages[request.id] = text.decode()
    return messages


def open_requests_count(counsellor_id: uuid.UUID) -> ScalarSelect[int]:
    """How many requests of `counsellor_id` to the enclosing query's `users` row are open.

    A column for a query over users: the counsellor's home reads it with its
    page of people in one statement (D-204).
    """
    return (
        select(func.count())
        .where(
            DocumentRequest.vault_id == User.id,
            DocumentRequest.counsellor_id == counsellor_id,
            # Written into the statement: a generic plan can then use the
            # partial index of open requests (D-207).
            DocumentRequest.status == literal(RequestStatus.OPEN.value, literal_execute=True),
        )
        .scalar_subquery()
    )


def open_requests(db: Session, person_id: uuid.UUID) -> list[DocumentRequest]:
    return list(
        db.execute(
            select(DocumentRequest)
            .where(
                DocumentRequest.vault_id == person_id, DocumentRequest.status == RequestStatus.OPEN
            )
            .order_by(DocumentRequest.created_at.desc())
        ).scalars()
    )


def answer_request(
    db: Session, ring: KeyRing, owner: Unlocked, request_id: uuid.UUID, document: Document
) -> DocumentRequest:
    """Answer with a document of the owner's vault, which shares it with the requester."""
    request = db.get(DocumentRequest, request_id)
    if (
        request is None
        or request.vault_id != owner.vault_id
        or request.status != RequestStatus.OPEN
    ):
        raise NotFound()
    if document.vault_id != owner.vault_id:
        raise NotFound()
    share_document(db, ring, owner, document, request.counsellor_id)
    request.status = RequestStatus.ANSWERED
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
