"""The counsellor's side: the people they follow, what each shares, requests, link approvals.

A counsellor reaches a person only through an active assignment, and a
document only through an active share whose key was sealed to them
(sharing/service.py); everything else answers 404, never a hint. Reading a
shared document is written on the person's own journal, so they read who
opened what.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone
from flask_babel.speaklater import LazyString
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from vault.accounts import auth
from vault.core.catalog import CATEGORY_BY_CODE, TYPE_CATEGORY, TYPE_LABELS
from vault.core.db import db_session
from vault.core.extensions import get_store
from vault.core.forms import DocumentRequestForm
from vault.documents import pages
from vault.documents.downloads import Recipient
from vault.documents.sending import send_document
from vault.journal import service as journal
from vault.lifecycle import checklist
from vault.models import (
    Document,
    DocumentRequest,
    RequestStatus,
    Role,
    Share,
    ShareKey,
    User,
)
from vault.models.base import utcnow
from vault.recovery import service as recovery
from vault.sharing import link_approvals
from vault.sharing import service as sharing

bp = Blueprint("counsellor", __name__, url_prefix="/suivi")

SEARCH_MAX = 100
# The home shows the caseload twenty people at a time, in name order, as the
# documents list does (D-203).
PAGE_SIZE = 20
# Beyond any caseload, and a SQL offset that fits.
MAX_PAGE = 100_000


REQUEST_STATUS_LABELS: dict[RequestStatus, LazyString] = {
    RequestStatus.OPEN: _l("Waiting for an answer"),
    RequestStatus.ANSWERED: _l("Answered"),
}


def today() -> date:
    """Today where the service runs (the interface's time zone), for expiry dates."""
    local: datetime = to_user_timezone(utcnow())
    return local.date()


def signed_in_counsellor() -> tuple[User, bytes]:
    """The signed-in counsellor and their user key (what their shares are sealed to)."""
    return auth.signed_in_user(), auth.open_session().user_key


def _followed(db: Session, counsellor: User, person_id: uuid.UUID) -> User:
    """The person if `counsellor` follows them now; 404 otherwise, whatever the reason."""
    person = db.get(User, person_id)
    if (
        person is None
        or person.role != Role.PERSON
        or sharing.active_assignment(db, person.id, counsellor.id) is None
    ):
        abort(404)
    return person


def _my_requests(db: Session, counsellor: User, person_id: uuid.UUID) -> list[DocumentRequest]:
    return list(
        db.execute(
            select(DocumentRequest)
            .where(
                DocumentRequest.vault_id == person_id,
                DocumentRequest.counsellor_id == counsellor.id,
            )
            .order_by(DocumentRequest.created_at.desc())
        ).scalars()
    )


@dataclass(frozen=True)
class Followed:
    """One line of the counsellor's home."""

    person: User
    shared: int
    open_requests: int
    checklist: checklist.Checklist
    last_activity: datetime | None


@dataclass(frozen=True)
class Caseload:
    """The counsellor's home: a page of the people they follow, and what waits for them."""

    rows: list[Followed]
    total: int
    pending_links: int
    pending_recoveries: int


@bp.get("/")
@auth.role_required(Role.COUNSELLOR)
def index() -> str:
    db = db_session()
    me = auth.signed_in_user()
    query = request.args.get("q", "").strip()[:SEARCH_MAX]
    try:
        page = min(max(1, int(request.args.get("page", "1"))), MAX_PAGE)
    except ValueError:
        page = 1
    home = caseload(db, me, query, page=page)
    pages = max(1, (home.total + PAGE_SIZE - 1) // PAGE_SIZE)
    if page > pages:
        # A page beyond the end (the caseload shrank since the link): the last one.
        page = pages
        home = caseload(db, me, query, page=page)
    return render_template(
        "counsellor/index.html",
        rows=home.rows,
        total=home.total,
        page=page,
        pages=pages,
        q=query,
        pending_links=home.pending_links,
        pending_recoveries=home.pending_recoveries,
        Status=checklist.Status,
    )


def caseload(db: Session, me: User, query: str, *, page: int = 1) -> Caseload:
    """One page of the home's lines, and the links and recoveries waiting for this counsellor.

    A page at a time (D-203): each line's figures cost a few index reads, and
    a whole caseload of 130 to 330 people cost 30 ms at a national size
    (docs/benchmarks.md). The waiting links and recoveries are counted over
    the whole caseload, in the page's statement (D-207). Apart from the view
    so that bench/scale.py times exactly these queries.
    """
    now = utcnow()
    found = sharing.caseload_page(
        db,
        me.id,
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
        query=query,
        figures=[
            sharing.shared_count(me.id, now),
            sharing.open_requests_count(me.id),
            journal.last_own_event(),
            checklist.documents_column(),
        ],
        totals=[
            link_approvals.pending_count(me.id, now.date()),
            recovery.approvals_count(me.id, now),
            checklist.setting_column(),
        ],
    )
    pending_links, pending_recoveries, setting = found.totals
    items, day = checklist.from_setting(setting), today()
    rows = []
    for person in found.people:
        shared, open_requests, last_activity, documents = found.figures[person.id]
        rows.append(
            Followed(
                person=person,
                shared=shared,
                open_requests=open_requests,
                checklist=checklist.from_documents_column(documents, today=day, items=items),
                last_activity=last_activity,
            )
        )
    return Caseload(rows, found.total, pending_links, pending_recoveries)


@bp.get("/<uuid:person_id>/")
@auth.role_required(Role.COUNSELLOR)
def person(person_id: uuid.UUID) -> str:
    db = db_session()
    me, key = signed_in_counsellor()
    return render_template(
        "counsellor/person.html",
        **person_page(db, me, key, person_id),
        Status=checklist.Status,
        type_labels=TYPE_LABELS,
        category_by_code=CATEGORY_BY_CODE,
        request_status=REQUEST_STATUS_LABELS,
    )


def person_page(db: Session, me: User, key: bytes, person_id: uuid.UUID) -> dict[str, Any]:
    """What the page of one followed person shows (404 unless followed now).

    Apart from the view so that bench/scale.py times exactly these queries.
    """
    followed = db.get(User, person_id)
    if followed is None or followed.role != Role.PERSON:
        abort(404)
    # shared_with checks the assignment as _followed would (NotFound, the
    # same 404): once, where the page read it twice (docs/benchmarks.md).
    shared = sharing.shared_with(db, me, key, followed)
    requests = _my_requests(db, me, followed.id)
    shared_ids = {s.document.id for s in shared}
    # What this counsellor deposited and may not open (the person has not
    # shared it): shown by type and date only, so they know it arrived.
    deposits = [
        d
        for d in db.execute(
            select(Document)
            .where(Document.vault_id == followed.id, Document.deposited_by_id == me.id)
            .order_by(Document.created_at.desc())
        ).scalars()
        if d.id not in shared_ids
    ]
    return {
        "person": followed,
        "shared": shared,
        "deposits": deposits,
        "checklist": checklist.for_person(db, followed.id, today=today()),
        "requests": requests,
        "messages": sharing.request_messages(requests, me, key),
    }


def _opened(person_id: uuid.UUID, document_id: uuid.UUID) -> tuple[User, User, sharing.OpenedShare]:
    db = db_session()
    me, key = signed_in_counsellor()
    followed = _followed(db, me, person_id)
    return me, followed, sharing.open_shared(db, me, key, followed, document_id)


def _share_until(
    db: Session, counsellor: User, person: User, document_id: uuid.UUID
) -> Share | None:
    """The active share giving this document to the counsellor that lasts longest."""
    shares = [
        share
        for share in db.execute(
            select(Share)
            .join(ShareKey, ShareKey.share_id == Share.id)
            .where(
                ShareKey.document_id == document_id,
                Share.vault_id == person.id,
                Share.counsellor_id == counsellor.id,
            )
        ).scalars()
        if sharing.share_is_active(share, person)
    ]
    # "Until release" (no date) outlasts any date.
    return max(shares, key=lambda s: (s.expires_at is None, s.expires_at or utcnow()), default=None)


@bp.get("/<uuid:person_id>/documents/<uuid:document_id>")
@auth.role_required(Role.COUNSELLOR)
def document(person_id: uuid.UUID, document_id: uuid.UUID) -> str:
    me, followed, opened = _opened(person_id, document_id)
    db = db_session()
    doc = opened.document
    # This line stands for the pages shown below too, which are not journaled one by one.
    journal.append(db, vault_id=followed.id, action="document.viewed", actor=me, document_id=doc.id)
    db.commit()
    depositor = db.get(User, doc.deposited_by_id) if doc.deposited_by_id else None
    return render_template(
        "counsellor/document.html",
        person=followed,
        document=doc,
        version=opened.version,
        title=opened.title,
        share=_share_until(db, me, followed, doc.id),
        depositor=depositor,
        category=CATEGORY_BY_CODE.get(doc.category),
        type_label=TYPE_LABELS.get(doc.doc_type, ""),
        pages=pages.pages_of(
            get_store(), opened.version, opened.dek, vault_id=followed.id, viewer=me
        ),
    )


@bp.get("/<uuid:person_id>/documents/<uuid:document_id>/page/<int:number>")
@auth.role_required(Role.COUNSELLOR)
def page(person_id: uuid.UUID, document_id: uuid.UUID, number: int) -> Response | tuple[str, int]:
    """One page of a shared document, shown inline: only through an active share (D-101)."""
    me, followed, opened = _opened(person_id, document_id)
    return pages.send_page(
        db_session(),
        get_store(),
        opened.version,
        opened.dek,
        recipient=Recipient(followed.id, opened.document.id, me, "document.viewed"),
        number=number,
        journal_first_page=False,
    )


@bp.get("/<uuid:person_id>/documents/<uuid:document_id>/telecharger")
@auth.role_required(Role.COUNSELLOR)
def download(person_id: uuid.UUID, document_id: uuid.UUID) -> Response | tuple[str, int]:
    me, followed, opened = _opened(person_id, document_id)
    db = db_session()
    journal.append(
        db,
        vault_id=followed.id,
        action="document.downloaded",
        actor=me,
        document_id=opened.document.id,
    )
    return send_document(
        db,
        get_store(),
        opened.version,
        opened.dek,
        title=opened.title,
        recipient=Recipient(followed.id, opened.document.id, me),
    )


# --- requests ---------------------------------------------------------------------------


def _render_request(person: User, form: DocumentRequestForm) -> str:
    return render_template("counsellor/request.html", person=person, form=form)


@bp.get("/<uuid:person_id>/demander")
@auth.role_required(Role.COUNSELLOR)
def request_form(person_id: uuid.UUID) -> str:
    me, _key = signed_in_counsellor()
    followed = _followed(db_session(), me, person_id)
    form = DocumentRequestForm(formdata=None)
    wanted = request.args.get("type", "")
    if wanted in TYPE_LABELS:
        form.doc_type.data = wanted
    return _render_request(followed, form)


@bp.post("/<uuid:person_id>/demander")
@auth.role_required(Role.COUNSELLOR)
def send_request(person_id: uuid.UUID) -> BaseResponse | tuple[str, int]:
    db = db_session()
    me, _key = signed_in_counsellor()
    followed = _followed(db, me, person_id)
    form = DocumentRequestForm()
    valid = form.validate_on_submit()
    doc_type = form.doc_type.data or ""
    if doc_type not in TYPE_CATEGORY:
        form.doc_type.errors = [*form.doc_type.errors, _("Choose a document from the list.")]
        valid = False
    if not valid:
        return _render_request(followed, form), 400
    sharing.request_document(db, me, followed, doc_type, form.message.data or "")
    db.commit()
    flash(
        _(
            "Your request is sent. %(name)s will see it in their vault.",
            name=followed.display_name,
        ),
        "success",
    )
    return redirect(url_for("counsellor.person", person_id=followed.id))
