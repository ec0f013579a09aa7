"""Assignments: which counsellor follows which person, and since when.

The first of the three conditions of a counsellor's access (vault.access.grants
holds the other two): an active assignment, whose access has not ended with a
release without follow-up. Ending one revokes its shares, so it lives with them
(`grants.end_assignment`).
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from vault.access.rules import counsellor_access_open
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
        like = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(
            or_(
                User.display_name.ilike(like, escape="\\"),
                PersonProfile.prison_number.ilike(like, escape="\\"),
            )
        )
    today = utcnow().date()
    return [
        person
        for person in db.execute(statement.order_by(User.display_name)).scalars()
        if counsellor_access_open(person, today)
    ]


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
