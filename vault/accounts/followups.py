"""Ending one of a person's follow-ups, and what to tell the administrator.

Two features' pages end a follow-up (the administrator's account page and the
lifecycle page); both call this and flash the sentence it returns.
"""

from __future__ import annotations

import uuid

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from vault.access import grants
from vault.core.errors import owned_or_404
from vault.models import Assignment, User


def followup_of(db: Session, person: User, assignment_id: uuid.UUID) -> Assignment:
    """One of `person`'s follow-ups; NotFound for anyone else's."""
    return owned_or_404(db, Assignment, assignment_id, person_id=person.id)


def end_followup(db: Session, person: User, assignment: Assignment, *, by: User) -> tuple[str, str]:
    """End `assignment` (flushed, not committed); the sentence to show and its category."""
    if assignment.ended_at is not None:
        return _("This follow-up had already ended."), "info"
    grants.end_assignment(db, assignment, by=by)
    counsellor = db.get(User, assignment.counsellor_id)
    message = _(
        "%(counsellor)s no longer follows %(name)s. The documents %(name)s "
        "shared with them are no longer shared.",
        counsellor=counsellor.display_name if counsellor else "",
        name=person.display_name,
    )
    return message, "success"
