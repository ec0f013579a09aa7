"""Release and after: administrators' pages (transfer, release, follow-up, networks,
the release checklist) and the person's (my release, closing the vault).

Administrators never see a document here either: the person's page shows
classification data only. Every refusal says what to fix and changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext, to_user_timezone
from flask_babel.speaklater import LazyString
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SelectChoice

from vault.accounts import auth, keys
from vault.accounts import service as accounts
from vault.accounts.views.admin import end_followup
from vault.core.catalog import CATEGORIES, DOCUMENT_TYPES, TYPE_CATEGORY
from vault.core.db import db_session
from vault.core.errors import PolicyError, SignInRefused, Throttled
from vault.core.extensions import get_keyring, get_settings, get_store
from vault.core.forms import EmptyForm
from vault.core.messages import too_many_attempts
from vault.documents import service as documents
from vault.lifecycle import checklist, closing, retention, settings
from vault.lifecycle import service as lifecycle
from vault.lifecycle.forms import (
    CloseVaultForm,
    FollowupForm,
    NetworksForm,
    ReleaseForm,
    TransferForm,
)
from vault.models import Establishment, Lifecycle, Role, User
from vault.models.base import utcnow
from vault.sharing import service as sharing

bp = Blueprint("lifecycle", __name__)

LIFECYCLE_LABELS: dict[str, LazyString] = {
    Lifecycle.DETAINED: _l("Detained"),
    Lifecycle.TRANSFERRED: _l("Detained (transferred)"),
    Lifecycle.RELEASED: _l("Released"),
    Lifecycle.CLOSED: _l("Vault closed"),
}


def today() -> date:
    """Today in the interface's time zone (release dates are local dates)."""
    local: datetime = to_user_timezone(utcnow())
    return local.date()


def _refusal(code: str) -> str:
    messages = {
        "closed": _("This vault is closed. Nothing can be recorded for it any more."),
        "released": _(
            "This person is already released. A transfer or a release is recorded only "
            "during detention."
        ),
        "not_released": _("The follow-up after release can be set once the release is recorded."),
        "same_establishment": _("This person is already at this establishment."),
        "unknown_establishment": _("Choose an establishment from the list."),
        "future_date": _(
            "The date of release cannot be in the future. Record the release on the day it "
            "happens, or after."
        ),
        "too_old": _("This date of release is not possible. Check the year."),
        "no_networks": _(
            "Write at least one network before limiting sign-in to them: otherwise nobody "
            "detained here could sign in."
        ),
        "too_many": ngettext(
            "Write at most %(num)d network.",
            "Write at most %(num)d networks.",
            lifecycle.MAX_NETWORKS,
        ),
    }
    return str(messages.get(code, _("This could not be recorded.")))


# --- the administrator: a person's way ---------------------------------------------------


def _person(db: Session, person_id: uuid.UUID) -> User:
    person = db.get(User, person_id)
    if person is None or person.role != Role.PERSON or person.profile is None:
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
        return _render_person(db, person, transfer_form=form, error=_refusal(e.code), status=400)
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
        return _render_person(db, person, release_form=form, error=_refusal(e.code), status=400)
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
        return _render_person(db, person, followup_form=form, error=_refusal(e.code), status=400)
    db.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("lifecycle.person", person_id=person.id))


@bp.post("/admin/parcours/<uuid:person_id>/suivis/<uuid:assignment_id>/fin")
@auth.role_required(Role.ADMINISTRATOR)
def end_assignment(person_id: uuid.UUID, assignment_id: uuid.UUID) -> BaseResponse:
    db = db_session()
    person = _person(db, person_id)
    end_followup(db, person, assignment_id)
    return redirect(url_for("lifecycle.person", person_id=person.id))


# --- the administrator: establishments' networks -----------------------------------------


@bp.route("/admin/etablissements/<uuid:establishment_id>/reseaux", methods=["GET", "POST"])
@auth.role_required(Role.ADMINISTRATOR)
def networks(establishment_id: uuid.UUID) -> BaseResponse | tuple[str, int]:
    db = db_session()
    place = db.get(Establishment, establishment_id)
    if place is None:
        abort(404)
    form = NetworksForm(data={"networks": place.networks, "restrict": place.restrict_signin})
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            try:
                saved = lifecycle.set_networks(
                    db,
                    place,
                    form.networks.data or "",
                    bool(form.restrict.data),
                    by=auth.signed_in_user(),
                )
            except lifecycle.BadNetwork as e:
                form.networks.errors = [
                    _(
                        "“%(line)s” is not a network. Write one per line, for example "
                        "10.20.0.0/16 or 192.168.1.7.",
                        line=e.line[:60],
                    )
                ]
            except lifecycle.LifecycleRefused as e:
                form.networks.errors = [_refusal(e.code)]
            else:
                db.commit()
                if place.restrict_signin:
                    message = ngettext(
                        "Saved. People detained at %(name)s sign in only from %(num)d network.",
                        "Saved. People detained at %(name)s sign in only from %(num)d networks.",
                        len(saved),
                        name=place.name,
                    )
                else:
                    message = _(
                        "Saved. People detained at %(name)s can sign in from anywhere.",
                        name=place.name,
                    )
                flash(message, "success")
                return redirect(url_for("lifecycle.networks", establishment_id=place.id))
            db.rollback()
    return render_template("lifecycle/networks.html", establishment=place, form=form), status


# --- the administrator: the release checklist ------------------------------------------------

# Rows shown for new items under the current ones.
BLANK_ROWS = 2


def _type_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    return [
        (str(c.label), [(code, str(label)) for code, label in DOCUMENT_TYPES[c.code]])
        for c in CATEGORIES
    ]


def _submitted_entries() -> list[settings.ChecklistEntry]:
    """The rows of the checklist editor, as typed; rows left blank or marked removed are dropped."""
    try:
        rows = int(request.form.get("rows", "0"))
    except ValueError:
        rows = 0
    rows = max(0, min(rows, settings.MAX_ITEMS + BLANK_ROWS))
    entries = []
    for i in range(rows):
        label = request.form.get(f"label-{i}", "")[: settings.LABEL_MAX * 2]
        types = tuple(request.form.getlist(f"types-{i}"))
        if request.form.get(f"remove-{i}") or (not label.strip() and not types):
            continue
        entries.append(settings.ChecklistEntry(request.form.get(f"code-{i}", ""), label, types))
    return entries


def _checklist_problems(codes: list[str]) -> list[str]:
    messages = {
        "empty": _("Keep at least one item in the list."),
        "too_many": ngettext(
            "The list can have at most %(num)d item.",
            "The list can have at most %(num)d items.",
            settings.MAX_ITEMS,
        ),
        "label": ngettext(
            "Each item needs a name of at most %(num)d character.",
            "Each item needs a name of at most %(num)d characters.",
            settings.LABEL_MAX,
        ),
        "types": _("Each item needs at least one type of document."),
        "unknown_type": _("Choose types of document from the list."),
        "duplicate": _("Two items have the same name."),
    }
    return [str(messages.get(code, code)) for code in codes]


@bp.route("/admin/parametres/liste-de-sortie", methods=["GET", "POST"])
@auth.role_required(Role.ADMINISTRATOR)
def checklist_settings() -> BaseResponse | tuple[str, int]:
    db = db_session()
    form = EmptyForm()
    problems: list[str] = []
    status = 200
    if request.method == "POST":
        entries = _submitted_entries()
        if not form.validate_on_submit():
            abort(400)
        try:
            settings.set_checklist(db, entries, by=auth.signed_in_user())
        except PolicyError as e:
            problems = _checklist_problems(e.problems)
            status = 400
        else:
            db.commit()
            flash(_("The release checklist is saved. Everyone sees the new list."), "success")
            return redirect(url_for("lifecycle.checklist_settings"))
    else:
        entries = settings.checklist_entries(db)
    rows = [*entries, *(settings.ChecklistEntry("", "", ()) for _ in range(BLANK_ROWS))]
    return render_template(
        "lifecycle/checklist_settings.html",
        form=form,
        rows=rows,
        groups=_type_groups(),
        problems=problems,
        is_default=settings.checklist_is_default(db),
    ), status


@bp.post("/admin/parametres/liste-de-sortie/par-defaut")
@auth.role_required(Role.ADMINISTRATOR)
def checklist_reset() -> BaseResponse:
    if not EmptyForm().validate_on_submit():
        abort(400)
    db = db_session()
    settings.reset_checklist(db, by=auth.signed_in_user())
    db.commit()
    flash(_("The release checklist is back to the default list."), "success")
    return redirect(url_for("lifecycle.checklist_settings"))


# --- the person: my release, closing my vault ----------------------------------------------


@bp.get("/ma-sortie")
@auth.role_required(Role.PERSON)
def my_release() -> str:
    user = auth.signed_in_user()
    db = db_session()
    years = get_settings().retention_years
    day = today()
    state = checklist.for_person(db, user.id, today=day)
    profile = user.profile
    return render_template(
        "lifecycle/my_release.html",
        checklist=state,
        Status=checklist.Status,
        add_url=_add_url,
        rule=retention.rule_text(years),
        kept_until=retention.kept_until(user, years),
        notice=retention.pending_notice(db, user.id),
        released=profile is not None and profile.lifecycle == Lifecycle.RELEASED,
        profile=profile,
        counsellors=sharing.counsellors_of(db, user.id)
        if lifecycle.counsellor_access_open(user, day)
        else [],
    )


def _add_url(item: checklist.Item) -> str:
    """Where the person adds a paper for a missing item: its first type's category."""
    first = item.doc_types[0] if item.doc_types else ""
    return url_for("documents.add_form", categorie=TYPE_CATEGORY.get(first, "other"))


def _render_close(form: CloseVaultForm, problems: list[str], status: int = 200) -> tuple[str, int]:
    owner = auth.unlocked_vault()
    db = db_session()
    _items, count = documents.list_documents(db, owner, limit=1)
    return render_template(
        "lifecycle/close.html", form=form, problems=problems, count=count
    ), status


@bp.route("/compte/fermer", methods=["GET", "POST"])
@auth.role_required(Role.PERSON)
def close() -> BaseResponse | tuple[str, int]:
    form = CloseVaultForm()
    if request.method == "GET":
        return _render_close(form, [])
    if not form.validate_on_submit():
        return _render_close(form, [], 400)
    owner = auth.unlocked_vault()
    db = db_session()
    try:
        accounts.confirm_passphrase(
            db, get_keyring(), owner, form.passphrase.data or "", action="vault.closed"
        )
    except SignInRefused:
        db.commit()  # the failure count and the journal line
        return _render_close(form, [_("Your secret phrase is not right.")], 400)
    except Throttled as e:
        db.commit()
        return _render_close(form, [too_many_attempts(e.retry_after)], 429)
    except keys.HashingBusy:
        db.rollback()
        return _render_close(form, [_("The vault is busy. Please try again in a minute.")], 503)
    closed = closing.close_vault(db, owner)
    auth.end_session()
    db.commit()
    # After the commit: a blob that fails to go is an orphan for `storage gc`.
    documents.delete_blobs(get_store(), closed.blobs)
    flash(
        _(
            "Your vault is closed and your documents are deleted. Your history is kept. "
            "Thank you for using the vault."
        ),
        "info",
    )
    return redirect(url_for("auth.sign_in"))
