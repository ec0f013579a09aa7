"""Assignments: which counsellor follows which person, and since when.

The first of the three conditions of a counsellor's access (vault.access.grants
holds the other two): an active assignment, whose access has not ended with a
release without follow-up. Ending one revokes its shares, so it lives with them
(`grants.end_assignment`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, or_, select, update
from sqlalchemy.orm import Session

from vault.access.rules import counsellor_access_open
from vault.core import like
from vault.core.errors import NotFound
from vault.journal import service as journal
from vault.models import Assignment, Lifecycle, PersonProfile, Role, User
from vault.models.base import utcnow


def current_assignment(
    db: Session, person_id: uuid.UUID, counsellor_id: uuid.UUID
) -> Assignment | None:
    """The assignment not ended, even if its access ended (a release without follow-up)."""
    return db.execute(
        select(Assignment).where(
            Assignment.person_id == person_id,
            Assignment.counsellor_id == counsellor_id,
            Assignment.ended_at.is_(None),
        )
    ).scalar_one_or_none()


def active_assignment(
    db: Session, person_id: uuid.UUID, counsellor_id: uuid.UUID
) -> Assignment | None:
    assignment = current_assignment(db, person_id, counsellor_id)
    # After a release without follow-up, counsellors' access ends with the grace period.
    person = db.get(User, person_id) if assignment is not None else None
    if person is not None and not counsellor_access_open(person, utcnow().date()):
        return None
    return assignment


def assign(db: Session, person: User, counsellor: User, *, by: User | None) -> Assignment:
    """Assign `counsellor` to `person` (idempotent while an assignment is active)."""
    if person.role != Role.PERSON or counsellor.role != Role.COUNSELLOR:
        raise NotFound()
    # Not active_assignment: an assignment whose access ended is still the current one.
    existing = current_assignment(db, person.id, counsellor.id)
    if existing is not None:
        return existing
    assignment = Assignment(
        person_id=person.id,
        counsellor_id=counsellor.id,
        assigned_by_id=by.id if by else None,
        # An already released person: the sweep must find this one too.
        access_until=_released_access_until(person),
        person_name=person.display_name,
    )
    db.add(assignment)
    db.flush()
    journal.append(
        db,
        vault_id=person.id,
        action="assignment.started",
        actor=by,
        details={"counsellor": str(counsellor.id)},
    )
    return assignment


def _released_access_until(person: User) -> date | None:
    profile = person.profile
    if profile is None or profile.lifecycle != Lifecycle.RELEASED:
        return None
    return profile.counsellor_access_until


def set_access_until(db: Session, person: User, until: date | None) -> None:
    """Set the person's `counsellor_access_until`, and its copy on the active assignments.

    The only writer of both (D-200): the retention sweep finds the
    assignments whose access is over by the copy, through a small partial
    index, instead of joining every released person with every assignment.
    Call it after the profile's lifecycle is set: only a released person's
    day is copied (None otherwise).
    """
    profile = person.profile
    assert profile is not None
    profile.counsellor_access_until = until
    db.execute(
        update(Assignment)
        .where(Assignment.person_id == person.id, Assignment.ended_at.is_(None))
        .values(access_until=_released_access_until(person))
    )


def counsellors_of(db: Session, person_id: uuid.UUID) -> list[User]:
    return list(
        db.execute(
            select(User)
            .join(Assignment, Assignment.counsellor_id == User.id)
            .where(Assignment.person_id == person_id, Assignment.ended_at.is_(None))
            .order_by(User.display_name)
        ).scalars()
    )


def people_of(db: Session, counsellor_id: uuid.UUID, query: str = "") -> list[User]:
    statement = (
        select(User)
        .join(Assignment, Assignment.person_id == User.id)
        .outerjoin(PersonProfile, PersonProfile.user_id == User.id)
        .where(Assignment.counsellor_id == counsellor_id, Assignment.ended_at.is_(None))
    )
    needle = query.strip().lower()
    if needle:
        pattern = like.contains(needle)
        statement = statement.where(
            or_(
                User.display_name.ilike(pattern, escape=like.ESCAPE),
                PersonProfile.prison_number.ilike(pattern, escape=like.ESCAPE),
            )
        )
    today = utcnow().date()
    return [
        person
        for person in db.execute(statement.order_by(User.display_name)).scalars()
        if counsellor_access_open(person, today)
    ]


def _following(counsellor_id: uuid.UUID, today: date) -> list[ColumnElement[bool]]:
    """The assignments through which `counsellor_id` follows someone now: active, access open.

    From the assignments' copy of the access day (D-200), so no profile is
    read. A closed vault's assignments are ended.
    """
    return [
        Assignment.counsellor_id == counsellor_id,
        Assignment.ended_at.is_(None),
        or_(Assignment.access_until.is_(None), Assignment.access_until >= today),
    ]


def followed_ids(counsellor_id: uuid.UUID, today: date) -> Select[uuid.UUID]:
    """The people `counsellor_id` follows now, as a subquery (`_following`).

    The counsellor's home counts the links and recoveries waiting over the
    whole caseload with it.
    """
    return select(Assignment.person_id).where(*_following(counsellor_id, today))


def users_by_id(db: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, User]:
    """The accounts of `ids` in one statement (none when `ids` is empty)."""
    if not ids:
        return {}
    return {u.id: u for u in db.execute(select(User).where(User.id.in_(ids))).scalars()}


@dataclass(frozen=True)
class CaseloadPage:
    people: list[User]
    total: int
    # Each person's values of the `figures` asked for, in their order.
    figures: dict[uuid.UUID, tuple[Any, ...]]
    # The values of the `totals` asked for, in their order.
    totals: tuple[Any, ...] = ()


def caseload_page(
    db: Session,
    counsellor_id: uuid.UUID,
    *,
    offset: int,
    limit: int,
    query: str = "",
    figures: Sequence[ColumnElement[Any]] = (),
    totals: Sequence[ColumnElement[Any]] = (),
) -> CaseloadPage:
    """One page of the people `counsellor_id` follows now, in name order, and how many in all.

    Read through the caseload index (counsellor, name, person, access day;
    D-203): a page costs its own rows, not the whole caseload's. `query`: a
    part of the name or of the prison number, as `people_of`. `figures`:
    columns over the person's `users` row (correlated subqueries from the
    packages that own each figure), read in the same statement: each
    statement costs a round trip (D-204). `totals`: uncorrelated columns over
    the whole caseload (what waits for the counsellor), read once with the
    page too (D-207), or with the count when the page is empty. The access
    rule is asked again of each person read: a copy of the access day out of
    step could only leave a line out.
    """
    today = utcnow().date()
    conditions = _following(counsellor_id, today)
    needle = query.strip()
    if needle:
        pattern = like.contains(needle)
        conditions.append(
            or_(
                Assignment.person_name.ilike(pattern, escape=like.ESCAPE),
                Assignment.person_id.in_(
                    select(PersonProfile.user_id).where(
                        PersonProfile.prison_number.ilike(pattern, escape=like.ESCAPE)
                    )
                ),
            )
        )
    # The page and the count in one statement: the count is a window over
    # the index entries before the page is cut, each statement costing a
    # round trip (D-204). A page beyond the end has no row to carry it.
    page = (
        select(
            Assignment.person_id,
            Assignment.person_name,
            func.count().over().label("total"),
        )
        .where(*conditions)
        .order_by(Assignment.person_name, Assignment.person_id)
        .offset(offset)
        .limit(limit)
        .subquery()
    )
    rows = db.execute(
        select(User, page.c.total, *totals, *figures)
        .join(page, page.c.person_id == User.id)
        .order_by(page.c.person_name, page.c.person_id)
    ).all()
    first_figure = 2 + len(totals)
    if rows:
        total, found_totals = rows[0].total, tuple(rows[0][2:first_figure])
    elif not (offset or totals):
        total, found_totals = 0, ()
    else:
        # No row to carry them: the count (none on a first page) and the totals apart.
        counted = db.execute(
            select(
                select(func.count()).select_from(Assignment).where(*conditions).scalar_subquery()
                if offset
                else literal(0),
                *totals,
            )
        ).one()
        total, found_totals = counted[0], tuple(counted[1:])
    shown = [row for row in rows if counsellor_access_open(row[0], today)]
    return CaseloadPage(
        [row[0] for row in shown],
        total,
        {row[0].id: tuple(row[first_figure:]) for row in shown},
        found_totals,
    )


def assignment_history(db: Session, person_id: uuid.UUID) -> list[Assignment]:
    return list(
        db.execute(
            select(Assignment)
            .where(Assignment.person_id == person_id)
            .order_by(Assignment.started_at.desc())
        ).scalars()
    )


def check_counsellor_sees(db: Session, counsellor: User, person: User) -> None:
    """NotFound unless `counsellor` is actively assigned to `person` (a person)."""
    if person.role != Role.PERSON or active_assignment(db, person.id, counsellor.id) is None:
        raise NotFound()
