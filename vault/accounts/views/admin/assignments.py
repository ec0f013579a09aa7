"""Administrators assign counsellors to a person and end follow-ups."""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from vault.accounts import auth, followups
from vault.accounts.views.admin.account_pages import assignable, render_account
from vault.accounts.views.admin.blueprint import bp
from vault.core.db import db_session
from vault.core.errors import owned_or_404
from vault.core.forms import AssignCounsellorsForm, EmptyForm
from vault.models import Role, User
from vault.sharing import service as sharing


def _person(db: Session, user_id: uuid.UUID) -> User:
    person = owned_or_404(db, User, user_id, role=Role.PERSON)
    return person


@bp.post("/comptes/<uuid:user_id>/suivis")
@auth.role_required(Role.ADMINISTRATOR)
def assign(user_id: uuid.UUID) -> BaseResponse | tuple[str, int]:
    db = db_session()
    person = _person(db, user_id)
    form = AssignCounsellorsForm()
    allowed = {str(c.id): c for c in assignable(db, person)}
    chosen = form.counsellors.data or []
    valid = form.validate_on_submit()
    if valid and not chosen:
        form.counsellors.errors = [_("Choose at least one counsellor.")]
        valid = False
    elif any(value not in allowed for value in chosen):
        # An unknown id, someone who is not a counsellor, or one already
        # assigned (another administrator was quicker): nothing is done.
        form.counsellors.errors = [_("Choose counsellors from the list.")]
        valid = False
    if not valid:
        return render_account(db, person, form), 400
    admin = auth.signed_in_user()
    for value in dict.fromkeys(chosen):
        sharing.assign(db, person, allowed[value], by=admin)
    db.commit()
    flash(
        ngettext(
            "%(num)d counsellor now follows %(name)s.",
            "%(num)d counsellors now follow %(name)s.",
            len(set(chosen)),
            name=person.display_name,
        ),
        "success",
    )
    return redirect(url_for("admin.account", user_id=person.id))


@bp.post("/comptes/<uuid:user_id>/suivis/<uuid:assignment_id>/fin")
@auth.role_required(Role.ADMINISTRATOR)
def end_assignment(user_id: uuid.UUID, assignment_id: uuid.UUID) -> BaseResponse:
    db = db_session()
    person = _person(db, user_id)
    assignment = followups.followup_of(db, person, assignment_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    message, category = followups.end_followup(db, person, assignment, by=auth.signed_in_user())
    db.commit()
    flash(message, category)
    return redirect(url_for("admin.account", user_id=person.id))
