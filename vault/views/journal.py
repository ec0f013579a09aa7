"""The person's journal, in plain words."""

from __future__ import annotations

import uuid

from flask import Blueprint, render_template
from sqlalchemy import select

from vault import auth
from vault.db import db_session
from vault.models import Document, Role, User
from vault.services import documents, journal
from vault.views.journal_text import describe

bp = Blueprint("journal", __name__, url_prefix="/journal")


@bp.get("/")
@auth.role_required(Role.PERSON)
def index() -> str:
    owner = auth.unlocked_vault()
    db = db_session()
    events = journal.events_for(db, owner.vault_id, limit=200)
    doc_ids = {e.document_id for e in events if e.document_id}
    titles: dict[uuid.UUID, str] = {}
    if doc_ids:
        for doc in db.execute(select(Document).where(Document.id.in_(doc_ids))).scalars():
            if doc.vault_id == owner.vault_id:
                titles[doc.id] = documents.document_meta(owner, doc).title
    actor_ids = {e.actor_id for e in events if e.actor_id}
    actors = (
        {u.id: u for u in db.execute(select(User).where(User.id.in_(actor_ids))).scalars()}
        if actor_ids
        else {}
    )
    lines = [
        describe(e, owner.user, actors.get(e.actor_id) if e.actor_id else None, titles)
        for e in events
    ]
    return render_template("journal/index.html", lines=lines)
