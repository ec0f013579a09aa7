"""The counsellor's approval of the external links people make (when their establishment asks).

Routes of the "counsellor" blueprint (counsellor.py): the links waiting, and
approving or refusing one. Only links of people the counsellor follows now
(`link_approvals.pending_for_counsellor`); any other answers 404.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from vault.accounts import auth
from vault.core.catalog import CATEGORY_BY_CODE, TYPE_LABELS
from vault.core.db import db_session
from vault.core.forms import EmptyForm
from vault.models import Document, ExternalLink, Role, User
from vault.models.base import utcnow
from vault.sharing import link_approvals
from vault.sharing.views.counsellor import bp, signed_in_counsellor

RECIPIENT_LABELS: dict[str, LazyString] = {
    "employer": _l("An employer"),
    "lawyer": _l("A lawyer"),
    "landlord": _l("A landlord"),
    "administration": _l("An administration"),
    "other": _l("Someone else"),
}


# --- external links waiting for approval -------------------------------------------------


@dataclass(frozen=True)
class PendingLink:
    link: ExternalLink
    person: User
    category: str
    type_label: str
    expired: bool


@bp.get("/liens", endpoint="links")
@auth.role_required(Role.COUNSELLOR)
def links_page() -> str:
    db = db_session()
    me, _key = signed_in_counsellor()
    now = utcnow()
    rows = []
    waiting = sorted(link_approvals.pending_for_counsellor(db, me), key=lambda k: k.created_at)
    # Their documents in one statement (a few counsellors have hundreds of
    # links waiting); the owners are already in the session.
    ids = {link.document_id for link in waiting}
    documents = (
        {d.id: d for d in db.execute(select(Document).where(Document.id.in_(ids))).scalars()}
        if ids
        else {}
    )
    for link in waiting:
        person = db.get(User, link.vault_id)
        document = documents.get(link.document_id)
        if person is None or document is None:
            continue
        # Clear classification only: the title is the person's, and this
        # counsellor may not have been given the document.
        category = CATEGORY_BY_CODE.get(document.category)
        rows.append(
            PendingLink(
                link=link,
                person=person,
                category=str(category.label) if category else "",
                type_label=str(TYPE_LABELS.get(document.doc_type, "")),
                expired=link.expires_at <= now,
            )
        )
    return render_template(
        "counsellor/links.html",
        rows=rows,
        recipients=RECIPIENT_LABELS,
        form=EmptyForm(),
    )


def _decide(link_id: uuid.UUID, approve: bool) -> BaseResponse:
    if not EmptyForm().validate_on_submit():
        abort(400)
    db = db_session()
    me, _key = signed_in_counsellor()
    link = link_approvals.decide(db, me, link_id, approve=approve)
    person = db.get(User, link.vault_id)
    db.commit()
    name = person.display_name if person else ""
    if approve:
        flash(_("The link of %(name)s is approved. It works now.", name=name), "success")
    else:
        flash(_("The link of %(name)s is refused. It will not work.", name=name), "success")
    return redirect(url_for("counsellor.links"))


@bp.post("/liens/<uuid:link_id>/accepter")
@auth.role_required(Role.COUNSELLOR)
def approve_link(link_id: uuid.UUID) -> BaseResponse:
    return _decide(link_id, approve=True)


@bp.post("/liens/<uuid:link_id>/refuser")
@auth.role_required(Role.COUNSELLOR)
def refuse_link(link_id: uuid.UUID) -> BaseResponse:
    return _decide(link_id, approve=False)
