"""Administrators' establishments: the list, and each one's rule for external links."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from vault.accounts import auth
from vault.accounts.views.admin.blueprint import bp
from vault.core.db import db_session
from vault.core.errors import owned_or_404
from vault.core.forms import EXTERNAL_LINK_POLICIES, EstablishmentForm, LinkPolicyForm
from vault.models import Establishment, Lifecycle, LinkPolicy, PersonProfile, Role, User

LINK_POLICY_LABELS: dict[str, LazyString] = {
    LinkPolicy.OFF: _l("Not allowed"),
    LinkPolicy.APPROVAL: _l("With the approval of a counsellor"),
    LinkPolicy.ON: _l("Allowed"),
}


def _establishment_exists(db: Session, name: str) -> bool:
    found = db.execute(
        select(Establishment.id).where(func.lower(Establishment.name) == name.lower()).limit(1)
    ).first()
    return found is not None


@bp.route("/etablissements", methods=["GET", "POST"])
@auth.role_required(Role.ADMINISTRATOR)
def establishments() -> tuple[str, int] | BaseResponse:
    db = db_session()
    form = EstablishmentForm()
    status = 200
    if form.validate_on_submit():
        name = " ".join((form.name.data or "").split())
        if _establishment_exists(db, name):
            form.name.errors = [_("An establishment with this name already exists.")]
        else:
            try:
                # A savepoint: if another administrator adds the same name at
                # the same moment, only this insert is undone.
                with db.begin_nested():
                    db.add(Establishment(name=name))
            except IntegrityError:
                form.name.errors = [_("An establishment with this name already exists.")]
            else:
                db.commit()
                flash(_("Establishment “%(name)s” added.", name=name), "success")
                return redirect(url_for("admin.establishments"))
        status = 400
    elif request.method == "POST":
        status = 400
    counts = dict(
        db.execute(
            select(User.establishment_id, func.count(User.id)).group_by(User.establishment_id)
        ).all()
    )
    rows = db.execute(select(Establishment).order_by(Establishment.name)).scalars().all()
    return render_template(
        "admin/establishments.html",
        form=form,
        establishments=[(e, counts.get(e.id, 0)) for e in rows],
        policies=LINK_POLICY_LABELS,
    ), status


@bp.route("/etablissements/<uuid:establishment_id>", methods=["GET", "POST"])
@auth.role_required(Role.ADMINISTRATOR)
def establishment(establishment_id: uuid.UUID) -> tuple[str, int] | BaseResponse:
    db = db_session()
    place = owned_or_404(db, Establishment, establishment_id)
    form = LinkPolicyForm(data={"external_links": place.external_links})
    status = 200
    if request.method == "POST":
        if form.validate_on_submit() and form.external_links.data in EXTERNAL_LINK_POLICIES:
            place.external_links = LinkPolicy(form.external_links.data)
            db.commit()
            # Links already waiting for approval stay so: a counsellor decides them.
            flash(
                _(
                    "Saved. External links for people detained at %(name)s: %(policy)s.",
                    name=place.name,
                    policy=LINK_POLICY_LABELS[place.external_links],
                ),
                "success",
            )
            return redirect(url_for("admin.establishment", establishment_id=place.id))
        if form.external_links.data not in EXTERNAL_LINK_POLICIES:
            form.external_links.errors = [_("Choose one of the three rules.")]
        status = 400
    detained = db.execute(
        select(func.count(User.id))
        .join(PersonProfile, PersonProfile.user_id == User.id)
        .where(
            User.establishment_id == place.id,
            PersonProfile.lifecycle.in_([Lifecycle.DETAINED, Lifecycle.TRANSFERRED]),
        )
    ).scalar_one()
    return render_template(
        "admin/establishment.html",
        establishment=place,
        form=form,
        detained=detained,
        policies=LINK_POLICY_LABELS,
    ), status
