"""Ending one of a person's follow-ups from a page, with what to tell the administrator.

Shared by the administrator's account page and the lifecycle page (views of
two features), hence here rather than in either one's views.
"""

from __future__ import annotations

import uuid

from flask import abort, flash
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from vault.access import grants
from vault.accounts import auth
from vault.core.errors import owned_or_404
from vault.core.forms import EmptyForm
from vault.models import Assignment, User


def end_followup(db: Session, person: User, assignment_id: uuid.UUID) -> None:
    """End one of `person`'s follow-ups and say so (administrator's account page, lifecycle page).

    404 for another person's assignment, 400 without the form's token.
    """
    assignment = owned_or_404(db, Assignment, assignment_id, person_id=person.id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if assignment.ended_at is not None:
        flash(_("This follow-up had already ended."), "info")
        return
    grants.end_assignment(db, assignment, by=auth.signed_in_user())
    db.commit()
    counsellor = db.get(User, assignment.counsellor_id)
    flash(
        _(
            "%(counsellor)s no longer follows %(name)s. The documents %(name)s "
            "shared with them are no longer shared.",
            counsellor=counsellor.display_name if counsellor else "",
            name=person.display_name,
        ),
        "success",
    )
