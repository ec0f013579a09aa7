"""The person's side of their counsellors' requests: the list, and answering with a document.

Routes of the "sharing" blueprint (person.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from vault.accounts import auth
from vault.accounts.keys import Unlocked
from vault.core.catalog import CATEGORY_BY_CODE, TYPE_CATEGORY, TYPE_LABELS
from vault.core.db import db_session
from vault.core.errors import owned_or_404
from vault.core.extensions import get_keyring
from vault.documents import service as documents
from vault.documents.opened import own_document, unlocked_vault
from vault.documents.service import Listed
from vault.models import Document, DocumentRequest, RequestStatus, Role
from vault.sharing import service as sharing
from vault.sharing.forms import AnswerForm
from vault.sharing.views.person import bp, document_title, users_by_id

ANSWERED_SHOWN = 20


def _own_request(owner: Unlocked, request_id: uuid.UUID) -> DocumentRequest:
    found = owned_or_404(db_session(), DocumentRequest, request_id, vault_id=owner.vault_id)
    return found


@dataclass(frozen=True)
class RequestRow:
    request: DocumentRequest
    counsellor: str
    type_label: str
    category: str
    document_title: str | None
    still_followed: bool
    # The counsellor's message, opened with the person's key ("" if none).
    message: str


def _request_rows(owner: Unlocked, found: list[DocumentRequest]) -> list[RequestRow]:
    db = db_session()
    names = users_by_id({r.counsellor_id for r in found})
    messages = sharing.request_messages(found, owner.user, owner.key)
    followed = {c.id for c in sharing.counsellors_of(db, owner.vault_id)}
    rows = []
    for r in found:
        title = None
        if r.document_id is not None:
            document = db.get(Document, r.document_id)
            title = document_title(owner, document) if document else None
        rows.append(
            RequestRow(
                r,
                names[r.counsellor_id].display_name if r.counsellor_id in names else "",
                str(TYPE_LABELS.get(r.doc_type, "")),
                TYPE_CATEGORY.get(r.doc_type, "other"),
                title,
                r.counsellor_id in followed,
                messages.get(r.id, ""),
            )
        )
    return rows


@bp.get("/demandes/")
@auth.role_required(Role.PERSON)
def requests_index() -> str:
    owner = unlocked_vault()
    db = db_session()
    answered = list(
        db.execute(
            select(DocumentRequest)
            .where(
                DocumentRequest.vault_id == owner.vault_id,
                DocumentRequest.status != RequestStatus.OPEN,
            )
            .order_by(DocumentRequest.answered_at.desc())
            .limit(ANSWERED_SHOWN)
        ).scalars()
    )
    return render_template(
        "sharing/requests.html",
        open_rows=_request_rows(owner, sharing.open_requests(db, owner.vault_id)),
        answered_rows=_request_rows(owner, answered),
    )


def _choices(owner: Unlocked, wanted: DocumentRequest) -> list[Listed]:
    """The person's documents, those of the asked type first, then its category."""
    items, _total = documents.list_documents(db_session(), owner, limit=500)
    category = TYPE_CATEGORY.get(wanted.doc_type)

    def rank(item: Listed) -> int:
        if item.doc_type == wanted.doc_type:
            return 0
        return 1 if item.category == category else 2

    return sorted(items, key=rank)


def _render_answer(owner: Unlocked, found: DocumentRequest, form: AnswerForm) -> str:
    (row,) = _request_rows(owner, [found])
    return render_template(
        "sharing/answer.html",
        row=row,
        form=form,
        items=_choices(owner, found),
        category_by_code=CATEGORY_BY_CODE,
        type_labels=TYPE_LABELS,
    )


@bp.get("/demandes/<uuid:request_id>")
@auth.role_required(Role.PERSON)
def answer_form(request_id: uuid.UUID) -> str | BaseResponse:
    owner = unlocked_vault()
    found = _own_request(owner, request_id)
    if found.status != RequestStatus.OPEN:
        flash(_("This request is already answered."), "info")
        return redirect(url_for("sharing.requests_index"))
    return _render_answer(owner, found, AnswerForm())


@bp.post("/demandes/<uuid:request_id>")
@auth.role_required(Role.PERSON)
def answer(request_id: uuid.UUID) -> BaseResponse | tuple[str, int]:
    owner = unlocked_vault()
    found = _own_request(owner, request_id)
    form = AnswerForm()
    if found.status != RequestStatus.OPEN:
        flash(_("This request is already answered."), "info")
        return redirect(url_for("sharing.requests_index"))
    if not form.validate_on_submit():
        return _render_answer(owner, found, form), 400
    try:
        document_id = uuid.UUID(form.document.data)
    except ValueError:
        abort(404)
    document = own_document(owner, document_id)
    db = db_session()
    if sharing.active_assignment(db, owner.vault_id, found.counsellor_id) is None:
        flash(_("This counsellor no longer follows you. Nothing was shared."), "error")
        return redirect(url_for("sharing.requests_index"))
    sharing.answer_request(db, get_keyring(), owner, found.id, document)
    db.commit()
    flash(_("Your counsellor can now open this document."), "success")
    return redirect(url_for("sharing.requests_index"))
