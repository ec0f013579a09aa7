"""The person's journal, in plain words, filtered by who acted and on what."""

from __future__ import annotations

import uuid

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from vault.accounts import auth
from vault.accounts.keys import Unlocked
from vault.core.db import db_session
from vault.documents import service as documents
from vault.documents.opened import unlocked_vault
from vault.journal.text import ACTION_GROUPS, describe, details_of, people_in
from vault.models import Document, JournalEvent, Role, User

bp = Blueprint("journal", __name__, url_prefix="/journal")

LIMIT = 200
# GET parameters (French, as in the other URLs) and their labels.
WHO = {"moi": _l("Me"), "conseillers": _l("My counsellors"), "autres": _l("Others")}
WHAT = {
    "documents": _l("Documents"),
    "partages": _l("Sharing and links"),
    "connexions": _l("Sign-ins and account"),
}
_WHAT_GROUP = {"documents": "documents", "partages": "sharing", "connexions": "account"}


def _who_filter(who: str, owner_id: uuid.UUID) -> ColumnElement[bool] | None:
    if who == "moi":
        return JournalEvent.actor_id == owner_id
    if who == "conseillers":
        return JournalEvent.actor_role == Role.COUNSELLOR.value
    if who == "autres":
        # Administrators, the system, anonymous visitors of a link, failed sign-ins.
        return or_(
            JournalEvent.actor_id.is_(None),
            and_(
                JournalEvent.actor_id != owner_id,
                JournalEvent.actor_role != Role.COUNSELLOR.value,
            ),
        )
    return None


def _what_filter(what: str) -> ColumnElement[bool] | None:
    group = _WHAT_GROUP.get(what)
    if group is None:
        return None
    prefixes = ACTION_GROUPS[group]
    # "signin" is both an action and a prefix ("signin.password"); "recovery" covers
    # "recovery.*" and "recovery_kit.*".
    return or_(*(JournalEvent.action.startswith(p, autoescape=True) for p in prefixes))


def page_events(
    db: Session, owner: Unlocked, who: str, what: str
) -> tuple[list[JournalEvent], dict[uuid.UUID, str], dict[uuid.UUID, User]]:
    """The page's newest events, the titles of their documents and the people they name.

    Apart from the view so that bench/scale.py times exactly these queries.
    """
    query = select(JournalEvent).where(JournalEvent.vault_id == owner.vault_id)
    for condition in (_who_filter(who, owner.vault_id), _what_filter(what)):
        if condition is not None:
            query = query.where(condition)
    events = list(db.execute(query.order_by(JournalEvent.seq.desc()).limit(LIMIT)).scalars())

    doc_ids = {e.document_id for e in events if e.document_id}
    titles: dict[uuid.UUID, str] = {}
    if doc_ids:
        for doc in db.execute(select(Document).where(Document.id.in_(doc_ids))).scalars():
            if doc.vault_id == owner.vault_id:
                titles[doc.id] = documents.document_meta(owner, doc).title
    user_ids = {e.actor_id for e in events if e.actor_id}
    for event in events:
        user_ids |= people_in(details_of(event))
    users = (
        {u.id: u for u in db.execute(select(User).where(User.id.in_(user_ids))).scalars()}
        if user_ids
        else {}
    )
    return events, titles, users


@bp.get("/")
@auth.role_required(Role.PERSON)
def index() -> str:
    owner = unlocked_vault()
    db = db_session()
    who = request.args.get("qui", "")
    what = request.args.get("quoi", "")
    who = who if who in WHO else ""
    what = what if what in WHAT else ""
    events, titles, users = page_events(db, owner, who, what)
    lines = [
        describe(e, owner.user, users.get(e.actor_id) if e.actor_id else None, titles, users)
        for e in events
    ]
    return render_template(
        "journal/index.html",
        lines=lines,
        who=who,
        what=what,
        who_choices=WHO,
        what_choices=WHAT,
        limit=LIMIT,
    )
