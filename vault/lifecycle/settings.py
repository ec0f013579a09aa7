"""Configuration administrators change in the app, kept as JSON in the `settings` table.

For now one setting: the release checklist. Without a row, the default list of
`vault.lifecycle.checklist` applies; an administrator's list replaces it for everyone
(counsellors' pages, the person's page, the export summary), since all of them
call `get_checklist`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from sqlalchemy.orm import Session

from vault.core.catalog import TYPE_LABELS
from vault.core.errors import PolicyError
from vault.journal import service as journal
from vault.lifecycle import checklist

# Reading the list in force is the checklist's own (it must not import this
# module back); the names stay reachable here for the settings page.
from vault.lifecycle.checklist import CHECKLIST_KEY as CHECKLIST_KEY
from vault.lifecycle.checklist import ChecklistEntry as ChecklistEntry
from vault.lifecycle.checklist import get_checklist as get_checklist
from vault.models import Setting, User
from vault.models.base import utcnow

MAX_ITEMS = 30
LABEL_MAX = 120
_CODE = re.compile(r"^[a-z0-9_-]{1,40}$")


def checklist_entries(db: Session) -> list[ChecklistEntry]:
    """The checklist in force as editable entries (labels as shown)."""
    return [
        ChecklistEntry(item.code, str(item.label), tuple(item.doc_types))
        for item in get_checklist(db)
    ]


def checklist_is_default(db: Session) -> bool:
    return db.get(Setting, CHECKLIST_KEY) is None


def check_entries(entries: Sequence[ChecklistEntry]) -> list[str]:
    """Problem codes of a list an administrator submitted (empty: it can be saved).

    "empty" (no item), "too_many", "label" (an item without a label or with
    one too long), "types" (an item without a document type), "unknown_type",
    "duplicate" (two items with the same label).
    """
    problems: list[str] = []

    def problem(code: str) -> None:
        if code not in problems:
            problems.append(code)

    if not entries:
        problem("empty")
    if len(entries) > MAX_ITEMS:
        problem("too_many")
    labels: set[str] = set()
    for entry in entries:
        label = " ".join(entry.label.split())
        if not label or len(label) > LABEL_MAX:
            problem("label")
        if label.casefold() in labels:
            problem("duplicate")
        labels.add(label.casefold())
        if not entry.doc_types:
            problem("types")
        if any(t not in TYPE_LABELS for t in entry.doc_types):
            problem("unknown_type")
    return problems


def _codes(entries: Sequence[ChecklistEntry]) -> list[str]:
    """Keep each item's code (links and tests name items by it); new items get one."""
    codes: list[str] = []
    for entry in entries:
        code = entry.code if _CODE.match(entry.code) and entry.code not in codes else ""
        if not code:
            n = len(codes) + 1
            while f"item-{n}" in codes or any(e.code == f"item-{n}" for e in entries):
                n += 1
            code = f"item-{n}"
        codes.append(code)
    return codes


def set_checklist(db: Session, entries: Sequence[ChecklistEntry], by: User) -> None:
    """Replace the release checklist. Raises PolicyError with `check_entries`'s codes."""
    problems = check_entries(entries)
    if problems:
        raise PolicyError(problems)
    value = json.dumps(
        [
            {
                "code": code,
                "label": " ".join(entry.label.split()),
                "types": list(dict.fromkeys(entry.doc_types)),
            }
            for code, entry in zip(_codes(entries), entries, strict=True)
        ],
        ensure_ascii=False,
    )
    row = db.get(Setting, CHECKLIST_KEY)
    if row is None:
        db.add(Setting(key=CHECKLIST_KEY, value=value, updated_at=utcnow(), updated_by_id=by.id))
    else:
        row.value, row.updated_at, row.updated_by_id = value, utcnow(), by.id
    db.flush()
    _journal(db, by, items=len(entries))


def reset_checklist(db: Session, by: User) -> None:
    """Back to the default list of `vault.lifecycle.checklist`."""
    row = db.get(Setting, CHECKLIST_KEY)
    if row is None:
        return
    db.delete(row)
    db.flush()
    _journal(db, by, items=len(checklist.RELEASE_CHECKLIST), default=True)


def _journal(db: Session, by: User, *, items: int, default: bool = False) -> None:
    # No person's chain concerns the whole service: the administrator's own records it.
    journal.append(
        db,
        vault_id=by.id,
        action="settings.checklist",
        actor=by,
        details={"items": items, "default": default},
    )
