"""Links waiting for a counsellor's approval: which, how many, and the decision.

An establishment's policy can make a person's new external link wait until
one of their counsellors approves it (links.create_link). The counsellor
sees the links waiting over everyone they follow now, and decides on each;
anyone else gets 404.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import ColumnElement, ScalarSelect, func, literal, select
from sqlalchemy.orm import Session

from vault.access.assignments import active_assignment, followed_ids, users_by_id
from vault.access.rules import counsellor_access_open
from vault.core.errors import NotFound
from vault.journal import service as journal
from vault.models import ExternalLink, LinkStatus, User
from vault.models.base import utcnow


def _waiting(counsellor_id: uuid.UUID, today: date) -> list[ColumnElement[bool]]:
    """Links waiting for approval, of the people `counsellor_id` follows now.

    The status is written into the statement, not bound: only then can a
    prepared statement's generic plan use the partial index of the links
    waiting (D-207).
    """
    return [
        ExternalLink.vault_id.in_(followed_ids(counsellor_id, today)),
        ExternalLink.status == literal(LinkStatus.PENDING.value, literal_execute=True),
        ExternalLink.revoked_at.is_(None),
    ]


def pending_for_counsellor(db: Session, counsellor: User) -> list[ExternalLink]:
    """Links waiting for `counsellor`'s approval, over everyone they follow now.

    Through the active assignments (`followed_ids`), not the caseload's rows
    (D-203).
    """
    today = utcnow().date()
    found = list(db.execute(select(ExternalLink).where(*_waiting(counsellor.id, today))).scalars())
    # The access rule itself on each owner, read at once (most homes have no
    # link waiting, and a join read every followed account first).
    owners = users_by_id(db, {link.vault_id for link in found})
    return [
        link
        for link in found
        if link.vault_id in owners and counsellor_access_open(owners[link.vault_id], today)
    ]


def pending_count(counsellor_id: uuid.UUID, today: date) -> ScalarSelect[int]:
    """How many links wait for `counsellor_id`'s approval, as a column of any query.

    The counsellor's home reads it with its page (D-207). Like the caseload's
    own count, it takes the access day from the assignments' copy (D-200);
    the list above also asks the rule of each owner.
    """
    return (
        select(func.count())
        .select_from(ExternalLink)
        .where(*_waiting(counsellor_id, today))
        .correlate(None)
        .scalar_subquery()
    )


def decide(db: Session, counsellor: User, link_id: uuid.UUID, *, approve: bool) -> ExternalLink:
    """A counsellor of the person approves or refuses a pending link."""
    link = db.get(ExternalLink, link_id)
    if (
        link is None
        or link.status != LinkStatus.PENDING
        or active_assignment(db, link.vault_id, counsellor.id) is None
    ):
        raise NotFound()
    link.status = LinkStatus.ACTIVE if approve else LinkStatus.REFUSED
    link.approved_by_id = counsellor.id
    db.flush()
    journal.append(
        db,
        vault_id=link.vault_id,
        action="link.approved" if approve else "link.refused",
        actor=counsellor,
        document_id=link.document_id,
    )
    return link
