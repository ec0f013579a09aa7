"""The release checklist: which papers a person will need on the day they leave.

Each item is a group of document types from `vault.core.catalog`: any one of them
fulfils the item (an identity card, a passport or a residence permit all prove
identity). The checklist reads only the classification metadata kept in clear
(type and expiry date, docs/architecture.md §2.2), so a counsellor or an administrator
sees what is present or missing without being able to open a document.

The list is plain data on purpose: administrators replace it in the app
(lifecycle/settings.py), and `for_people` uses their list unless given one.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.orm import Session

from vault.core.catalog import TYPE_LABELS
from vault.core.sqldates import iso_date
from vault.models import Document, Setting, User
from vault.models.base import utcnow

log = logging.getLogger(__name__)

# The `settings` row holding an administrator's list (lifecycle/settings.py writes it).
CHECKLIST_KEY = "release_checklist"

# An expiry date this close (or closer) counts as "expiring": renewing an
# identity card or a residence permit takes weeks, longer from detention.
EXPIRING_WITHIN = timedelta(days=90)


@dataclass(frozen=True)
class Item:
    """One line of the checklist: fulfilled by a document of any of `doc_types`."""

    code: str
    label: LazyString
    # In order of preference: the first is the one to ask for when missing.
    doc_types: tuple[str, ...]


RELEASE_CHECKLIST: tuple[Item, ...] = (
    Item(
        "identity",
        _l("Identity card, passport or residence permit"),
        ("id_card", "passport", "residence_permit"),
    ),
    Item(
        "social_security",
        _l("Social security card or certificate"),
        ("social_security_card", "social_security_certificate"),
    ),
    Item("bank_details", _l("Bank details (RIB)"), ("bank_details",)),
    Item(
        "address",
        _l("Proof of address or accommodation"),
        ("proof_of_address", "accommodation_certificate"),
    ),
    Item("release_certificate", _l("Release certificate"), ("release_certificate",)),
    Item("cv", _l("CV"), ("cv",)),
    Item(
        "qualifications",
        _l("Diplomas or training certificates"),
        ("diploma", "training_certificate"),
    ),
    Item(
        "employment_registration",
        _l("Employment service registration"),
        ("employment_registration",),
    ),
)


class Status(StrEnum):
    # Ordered from best to worst: an item takes the best status of its documents.
    PRESENT = "present"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    MISSING = "missing"


_RANK = {status: rank for rank, status in enumerate(Status)}


@dataclass(frozen=True)
class ItemState:
    item: Item
    status: Status
    # The expiry date behind an "expiring" or "expired" status (the latest
    # one among the item's documents), for the page to show.
    expiry_date: date | None = None


@dataclass(frozen=True)
class Checklist:
    items: tuple[ItemState, ...]

    @property
    def done(self) -> int:
        """Items the person has a valid document for (expiring soon still counts)."""
        return sum(1 for s in self.items if s.status in (Status.PRESENT, Status.EXPIRING))

    @property
    def total(self) -> int:
        return len(self.items)

    def count(self, status: Status) -> int:
        return sum(1 for s in self.items if s.status == status)


def document_status(expiry_date: date | None, today: date) -> Status:
    """The status one document gives its item. A paper is valid on its expiry day."""
    if expiry_date is None:
        return Status.PRESENT
    if expiry_date < today:
        return Status.EXPIRED
    if expiry_date <= today + EXPIRING_WITHIN:
        return Status.EXPIRING
    return Status.PRESENT


def evaluate(
    documents: Iterable[tuple[str, date | None]],
    *,
    today: date,
    items: Sequence[Item] = RELEASE_CHECKLIST,
) -> Checklist:
    """The checklist for `documents`, given as (document type, expiry date) pairs."""
    by_type: dict[str, list[date | None]] = defaultdict(list)
    for doc_type, expiry_date in documents:
        by_type[doc_type].append(expiry_date)
    states = []
    for item in items:
        best: tuple[Status, date | None] = (Status.MISSING, None)
        for doc_type in item.doc_types:
            for expiry_date in by_type.get(doc_type, ()):
                status = document_status(expiry_date, today)
                if _RANK[status] < _RANK[best[0]] or (
                    status == best[0] and _later(expiry_date, best[1])
                ):
                    best = (status, expiry_date)
        status, expiry_date = best
        shown = expiry_date if status in (Status.EXPIRING, Status.EXPIRED) else None
        states.append(ItemState(item, status, shown))
    return Checklist(tuple(states))


def _later(candidate: date | None, current: date | None) -> bool:
    return candidate is not None and (current is None or candidate > current)


# --- the list in force ------------------------------------------------------------------


@dataclass(frozen=True)
class ChecklistEntry:
    """One item as an administrator writes it: a label and the document types that fulfil it."""

    code: str
    label: str
    doc_types: tuple[str, ...]


def get_checklist(db: Session) -> tuple[Item, ...]:
    """The release checklist in force: the administrators' one (lifecycle/settings.py), else
    the default."""
    row = db.get(Setting, CHECKLIST_KEY)
    return from_setting(None if row is None else row.value)


def setting_column() -> ScalarSelect[str | None]:
    """The text of the checklist setting, as a column of any query (NULL when unset).

    The counsellor's home reads it with its page, one statement for the page
    (D-207); `from_setting` makes the list of it.
    """
    return (
        select(Setting.value).where(Setting.key == CHECKLIST_KEY).correlate(None).scalar_subquery()
    )


def from_setting(value: str | None) -> tuple[Item, ...]:
    """The list in force given the setting's text: the default when unset or damaged."""
    if value is None:
        return RELEASE_CHECKLIST
    try:
        entries = _parse(value)
    except ValueError:
        # Damaged outside the app: the default list is better than no page.
        log.warning("setting %s is not a valid checklist; using the default", CHECKLIST_KEY)
        return RELEASE_CHECKLIST
    return tuple(Item(e.code, _fixed(e.label), e.doc_types) for e in entries)


def _fixed(text: str) -> LazyString:
    # An administrator's label is already in the interface's language; wrapping
    # it keeps Item one type for default and configured items.
    return LazyString(str, text)


def _parse(value: str) -> list[ChecklistEntry]:
    data = json.loads(value)
    if not isinstance(data, list):
        raise ValueError("not a list")
    entries = []
    for item in data:
        if not isinstance(item, dict):
            raise ValueError("not an item")
        code, label, types = item.get("code"), item.get("label"), item.get("types")
        if not isinstance(code, str) or not isinstance(label, str) or not isinstance(types, list):
            raise ValueError("bad item")
        # A type removed from the catalog since simply stops counting.
        known = tuple(t for t in types if isinstance(t, str) and t in TYPE_LABELS)
        if known:
            entries.append(ChecklistEntry(code, label, known))
    return entries


def for_people(
    db: Session,
    person_ids: Sequence[uuid.UUID],
    *,
    today: date | None = None,
    items: Sequence[Item] | None = None,
) -> dict[uuid.UUID, Checklist]:
    """The checklist of each person, from every document of their vault, in one query.

    Deposits not yet taken in count too: their type and expiry are in clear
    like any other document's. Without `items`, the list in force: the
    administrators' (`get_checklist`) or the default.
    """
    if items is None:
        items = get_checklist(db)
    today = today or utcnow().date()
    wanted = sorted({t for item in items for t in item.doc_types})
    found: dict[uuid.UUID, list[tuple[str, date | None]]] = defaultdict(list)
    if person_ids:
        rows = db.execute(
            select(Document.vault_id, Document.doc_type, Document.expiry_date).where(
                Document.vault_id.in_(person_ids), Document.doc_type.in_(wanted)
            )
        ).all()
        for vault_id, doc_type, expiry_date in rows:
            found[vault_id].append((doc_type, expiry_date))
    return {pid: evaluate(found.get(pid, ()), today=today, items=items) for pid in person_ids}


# Separators of `documents_column`'s text; no document type contains them.
_PAIR, _ITEM = "=", ";"


def documents_column() -> ScalarSelect[str | None]:
    """The (type, expiry) of every document of the enclosing query's `users` row.

    A column for a query over users: the counsellor's home reads it with its
    page of people, one statement for the page (D-207). One text for the
    person, "type=YYYY-MM-DD" or "type=" (no expiry) joined by ";", NULL
    when there is none; `from_documents_column` reads it back. Every type,
    not those of the checklist: a list of types here would make PostgreSQL
    descend the (vault, type, expiry) index once per type and person.
    """
    pair = Document.doc_type + _PAIR + func.coalesce(iso_date(Document.expiry_date), "")
    return (
        select(func.aggregate_strings(pair, _ITEM))
        .where(Document.vault_id == User.id)
        .scalar_subquery()
    )


def from_documents_column(value: str | None, *, today: date, items: Sequence[Item]) -> Checklist:
    """The checklist from a value of `documents_column()`."""
    documents = []
    for entry in value.split(_ITEM) if value else ():
        doc_type, _, expiry = entry.partition(_PAIR)
        documents.append((doc_type, date.fromisoformat(expiry) if expiry else None))
    return evaluate(documents, today=today, items=items)


def for_person(
    db: Session,
    person_id: uuid.UUID,
    *,
    today: date | None = None,
    items: Sequence[Item] | None = None,
) -> Checklist:
    return for_people(db, [person_id], today=today, items=items)[person_id]
