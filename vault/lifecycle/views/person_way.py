"""An administrator's page of a person's way: transfer, release, follow-up after release.

Administrators never see a document here: the page shows classification
data only. Every refusal says what to fix and changes nothing.
"""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SelectChoice

from vault.accounts import auth, followups
from vault.core.db import db_session
from vault.core.errors import owned_or_404
from vault.core.extensions import get_settings
from vault.core.forms import EmptyForm
from vault.lifecycle import service as lifecycle
from vault.lifecycle.forms import FollowupForm, ReleaseForm, TransferForm
from vault.lifecycle.views.common import LIFECYCLE_LABELS, bp, refusal, today
from vault.models import Establishment, Lifecycle, Role, User
from vault.sharing import service as sharing


def _person(db: Session, person_id: uuid.UUID) -> User:
    person = owned_or_404(db, User, person_id, role=Role.PERSON)
    if person.profile is None:
        abort(404)
    return person


def _other_establishments(db: Session, person: User) -> list[Establishment]:
    return list(
        db.execute(
            select(Establishment)
            .where(Establishment.id != person.establishment_id)
            .order_by(Establishment.name)
        ).scalars()
    )


def _names(db: Session, ids: set[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = db.execute(select(User.id, User.display_name).where(User.id.in_(wanted)))
    return {row.id: row.display_name for row in rows}


def _render_person(
    db: Session,
    person: User,
    *,
    transfer_form: TransferForm | None = None,
    release_form: ReleaseForm | None = None,
    followup_form: FollowupForm | None = None,
    error: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    profile = person.profile
    assert profile is not None
    places = _other_establishments(db, person)
    transfer_form = transfer_form or TransferForm(formdata=None)
    transfer_form.establishment.choices = [
        SelectChoice("", _("Choose an establishment")),
        *(SelectChoice(str(p.id), p.name) for p in places),
    ]
    release_form = release_form or ReleaseForm(formdata=None, data={"released_on": today()})
    followup_form = followup_form or FollowupForm(
        formdata=None, data={"followup": "yes" if profile.followup_continues else "no"}
    )
    current = [a for a in sharing.assignment_history(db, person.id) if a.ended_at is None]
    transfers = lifecycle.transfers_of(db, person.id)
    place_names = dict(db.execute(select(Establishment.id, Establishment.name)).all())
    return render_template(
        "lifecycle/person.html",
        person=person,
        profile=profile,
        state=LIFECYCLE_LABELS.get(profile.lifecycle, profile.lifecycle),
        detained=profile.lifecycle in lifecycle.DETAINED,
        released=profile.lifecycle == Lifecycle.RELEASED,
        access_open=lifecycle.counsellor_access_open(person, today()),
        current=current,
        transfers=transfers,
        names=_names(db, {*(a.counsellor_id for a in current), *(t.by_id for t in transfers)}),
        place_names=place_names,
        transfer_form=transfer_form,
        release_form=release_form,
        followup_form=followup_form,
        grace_days=get_settings().counsellor_grace_days,
        error=error,
        just_transferred=request.args.get("transfert") == "1",
    ), status


@bp.get("/admin/parcours/<uuid:person_id>")
@auth.role_required(Role.ADMINISTRATOR)
def person(person_id: uuid.UUID) -> tuple[str, int]:
    db = db_session()
    return _render_person(db, _person(db, person_id))


@bp.post("/admin/parcours/<uuid:person_id>/transfert")
@auth.role_required(Role.ADMINISTRATOR)
def transfer(person_id: uuid.UUID) -> BaseResponse | tuple[str, int]:
    db = db_session()
    person = _person(db, person_id)
    form = TransferForm()
    # Checked below, with a clearer message than WTForms' "Not a valid choice".
    form.establishment.validate_choice = False
    if not form.validate_on_submit():
        return _render_person(db, person, transfer_form=form, status=400)
    try:
        target = uuid.UUID(form.establishment.data or "")
    except ValueError:
        form.establishment.errors = [_("Choose an establishment from the list.")]
        return _render_person(db, person, transfer_form=form, status=400)
    try:
        lifecycle.record_transfer(db, person, target, by=auth.signed_in_user())
    except lifecycle.LifecycleRefused as e:
        db.rollback()
        person = _person(db, person_id)
        return _render_person(db, person, transfer_form=form, error=refusal(e.code), status=400)
    db.commit()
    assert person.establishment is not None
    flash(
        _(
            "The transfer of %(name)s to %(place)s is recorded. Check below which "
            "counsellors should keep following them.",
            name=person.display_name,
            place=person.establishment.name,
        ),
        "success",
    )
    return redirect(url_for("lifecycle.person", person_id=person.id, transfert="1"))


@bp.post("/admin/parcours/<uuid:person_id>/sortie")
@auth.role_required(Role.ADMINISTRATOR)
def release(person_id: uuid.UUID) -> BaseResponse | tuple[str, int]:
    db = db_session()
    person = _person(db, person_id)
    form = ReleaseForm()
    if not form.validate_on_submit():
        return _render_person(db, person, release_form=form, status=400)
    assert form.released_on.data is not None
    try:
        lifecycle.record_release(
            db,
            person,
            form.released_on.data,
            followup_continues=form.followup.data == "yes",
            by=auth.signed_in_user(),
            grace_days=get_settings().counsellor_grace_days,
            today=today(),
        )
    except lifecycle.LifecycleRefused as e:
        db.rollback()
        person = _person(db, person_id)
        return _render_person(db, person, release_form=form, error=refusal(e.code), status=400)
    db.commit()
    flash(
        _(
            "The release of %(name)s is recorded. From now on they can sign in from anywhere.",
            name=person.display_name,
        ),
        "success",
    )
    return redirect(url_for("lifecycle.person", person_id=person.id))


@bp.post("/admin/parcours/<uuid:person_id>/suivi")
@auth.role_required(Role.ADMINISTRATOR)
def followup(person_id: uuid.UUID) -> BaseResponse | tuple[str, int]:
    db = db_session()
    person = _person(db, person_id)
    form = FollowupForm()
    if not form.validate_on_submit():
        return _render_person(db, person, followup_form=form, status=400)
    try:
        lifecycle.set_followup(
            db,
            person,
            form.followup.data == "yes",
            by=auth.signed_in_user(),
            grace_days=get_settings().counsellor_grace_days,
        )
    except lifecycle.LifecycleRefused as e:
        db.rollback()
        person = _person(db, person_id)
        return _render_person(db, person, followup_form=form, error=refusal(e.code), status=400)
    db.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("lifecycle.person", person_id=person.id))


@bp.post("/admin/parcours/<uuid:person_id>/suivis/<uuid:assignment_id>/fin")
@auth.role_required(Role.ADMINISTRATOR)
def end_assignment(person_id: uuid.UUID, assignment_id: uuid.UUID) -> BaseResponse:
    db = db_session()
    person = _person(db, person_id)
    assignment = followups.followup_of(db, person, assignment_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    message, category = followups.end_followup(db, person, assignment, by=auth.signed_in_user())
    db.commit()
    flash(message, category)
    return redirect(url_for("lifecycle.person", person_id=person.id))
