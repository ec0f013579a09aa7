"""Reminders for the person's first screen: papers out of date, soon out of date, or missing.

Read from the classification metadata kept in clear (type and expiry date,
docs/architecture.md §2.2), as the release checklist reads it: no key is
needed and no title is opened. Two sources:

- expiry: for each document type, the paper that lasts longest decides. An
  identity card that expired is no reminder once a newer one is in the vault;
  the newest one expired, or expiring within the checklist's 90 days, is, with
  the document to replace.
- the release checklist in force (`checklist.get_checklist`): an item with no
  document at all is a paper to add, in the category of its first type.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from flask_babel.speaklater import LazyString
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vault.core.catalog import TYPE_CATEGORY, TYPE_LABELS
from vault.lifecycle import checklist
from vault.lifecycle.checklist import Status, document_status
from vault.models import Document

# Missing papers shown on the first screen; the others are one link away (the
# release page's checklist): eight lines of "missing" for a new vault would push
# the person's own documents off a phone's screen.
MISSING_SHOWN = 3


class Kind(StrEnum):
    # In the order the panel shows them: what is already late first.
    EXPIRED = "expired"
    EXPIRING = "expiring"
    MISSING = "missing"


@dataclass(frozen=True)
class Reminder:
    kind: Kind
    # The type the sentence names (expiry) or the first type of the checklist
    # item (missing), and its category: the add form opens there.
    doc_type: str
    category: str
    label: LazyString | str
    expiry_date: date | None = None
    # The paper to replace (expired or expiring ones).
    document_id: uuid.UUID | None = None
    # Days left before the expiry date (0 on the day, negative once past).
    days: int | None = None


def for_person(db: Session, person_id: uuid.UUID, *, today: date) -> list[Reminder]:
    """The reminders of `person_id`'s vault on `today` (the interface's day), in panel order.

    Every first page of the documents list asks for them: one grouped query
    (a row per document type, whatever the size of the vault), then the few
    late papers' ids.
    """
    # Per type, the paper valid longest: no expiry date beats any date, so a
    # type with an undated paper is never late.
    per_type = db.execute(
        select(
            Document.doc_type,
            func.max(Document.expiry_date),
            func.count() - func.count(Document.expiry_date),
        )
        .where(Document.vault_id == person_id)
        .group_by(Document.doc_type)
    ).all()
    late: dict[str, date] = {}
    for doc_type, latest, undated in per_type:
        valid_longest = latest if undated == 0 else None
        if valid_longest and document_status(valid_longest, today) != Status.PRESENT:
            late[doc_type] = valid_longest
    dated: list[Reminder] = []
    if late:
        papers = db.execute(
            select(Document.id, Document.doc_type, Document.category, Document.expiry_date)
            .where(Document.vault_id == person_id, Document.doc_type.in_(sorted(late)))
            .order_by(Document.id)
        ).all()
        chosen: dict[str, tuple[uuid.UUID, str]] = {}
        for document_id, doc_type, category, expiry_date in papers:
            if expiry_date == late[doc_type] and doc_type not in chosen:
                chosen[doc_type] = (document_id, category)
        for doc_type, (document_id, category) in chosen.items():
            expiry_date = late[doc_type]
            expired = document_status(expiry_date, today) == Status.EXPIRED
            dated.append(
                Reminder(
                    kind=Kind.EXPIRED if expired else Kind.EXPIRING,
                    doc_type=doc_type,
                    category=category,
                    label=TYPE_LABELS.get(doc_type, doc_type),
                    expiry_date=expiry_date,
                    document_id=document_id,
                    days=(expiry_date - today).days,
                )
            )
    dated.sort(key=lambda r: (r.kind != Kind.EXPIRED, r.expiry_date))
    # Presence is all a missing item depends on: one pair per type present.
    present = [(doc_type, None) for doc_type, _latest, _undated in per_type]
    state = checklist.evaluate(present, today=today, items=checklist.get_checklist(db))
    missing = [
        Reminder(
            kind=Kind.MISSING,
            doc_type=item.item.doc_types[0],
            category=TYPE_CATEGORY.get(item.item.doc_types[0], "other"),
            label=item.item.label,
        )
        for item in state.items
        if item.status == Status.MISSING and item.item.doc_types
    ]
    return dated + missing


def first_screen(reminders: list[Reminder]) -> tuple[list[Reminder], int]:
    """The reminders the panel shows (every dated one, the first missing ones) and how
    many missing papers it leaves to the release page."""
    missing = [r for r in reminders if r.kind == Kind.MISSING]
    dated = [r for r in reminders if r.kind != Kind.MISSING]
    return dated + missing[:MISSING_SHOWN], max(0, len(missing) - MISSING_SHOWN)
