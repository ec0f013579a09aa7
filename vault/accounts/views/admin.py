"""Administrators: accounts, activation sheets, assignments, establishments.

Administrators open accounts, print activation sheets, assign counsellors and
set each establishment's rule for external links; they never see a document
or anything encrypted (DESIGN.md §3). A fresh activation code lives
only in the administrator's own server session, encrypted (accounts/sessions.py),
long enough to print the sheet; it is never logged nor written in clear.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SelectChoice

from vault.accounts import auth, sessions
from vault.accounts import service as accounts
from vault.accounts.views.auth import pdf_response
from vault.core.db import db_session
from vault.core.errors import NotFound, PolicyError
from vault.core.extensions import get_escrow_key, get_keyring, get_settings
from vault.core.forms import (
    EXTERNAL_LINK_POLICIES,
    AssignCounsellorsForm,
    EmptyForm,
    EstablishmentForm,
    LinkPolicyForm,
    NewAccountForm,
)
from vault.core.pdf.render import render_pdf
from vault.models import (
    AccountStatus,
    Assignment,
    Establishment,
    Lifecycle,
    PersonProfile,
    Role,
    User,
)
from vault.models.base import utcnow
from vault.sharing import service as sharing

bp = Blueprint("admin", __name__, url_prefix="/admin")

# The account list shows this many rows at most; the search narrows it.
LIST_LIMIT = 200
SEARCH_MAX = 100
# Activation codes kept per administrator session: an intake session may open
# dozens of accounts, but the encrypted session row must not grow without end.
MAX_SHEETS = 50

ROLE_LABELS: dict[str, LazyString] = {
    Role.PERSON: _l("Vault holder"),
    Role.COUNSELLOR: _l("Counsellor"),
    Role.ADMINISTRATOR: _l("Administrator"),
    Role.RECOVERY_OFFICER: _l("Recovery officer"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


def status_label(user: User) -> tuple[str, str]:
    """(CSS modifier, French label) of the account's status."""
    if user.status == AccountStatus.PENDING:
        expires = user.activation_expires_at
        if expires is not None and expires < utcnow():
            return "expired", _("Activation code expired")
        return "pending", _("Waiting for activation")
    if user.status == AccountStatus.ACTIVE:
        return "active", _("Active")
    return "disabled", _("Disabled")


# --- activation codes in the administrator's session ------------------------------------


def _sheets(data: dict[str, Any]) -> dict[str, str]:
    """The codes to print, by user id, from the session's pending data."""
    sheets = data.get("sheets")
    if not isinstance(sheets, dict):
        return {}
    return {k: v for k, v in sheets.items() if isinstance(k, str) and isinstance(v, str)}


def _remember_code(user_id: uuid.UUID, code: str) -> None:
    """Keep `code` for printing, next to whatever else is pending (a recovery code)."""
    opened = auth.open_session()
    ticket = auth.current_ticket()
    data = sessions.get_pending(opened.row, ticket)
    sheets = _sheets(data)
    sheets.pop(str(user_id), None)  # re-inserted last: the newest are kept
    sheets[str(user_id)] = code
    while len(sheets) > MAX_SHEETS:
        sheets.pop(next(iter(sheets)))
    data["sheets"] = sheets
    sessions.set_pending(opened.row, ticket, data)


def _code_for(user: User) -> str | None:
    """The code to print for `user`, if this session holds one still worth printing."""
    if user.status != AccountStatus.PENDING:
        return None
    pending = sessions.get_pending(auth.open_session().row, auth.current_ticket())
    return _sheets(pending).get(str(user.id))


def _get_user(db: Session, user_id: uuid.UUID) -> User:
    user = db.get(User, user_id)
    if user is None:
        abort(404)
    return user


# --- accounts ---------------------------------------------------------------------------


@bp.get("/")
@auth.role_required(Role.ADMINISTRATOR)
def index() -> str:
    db = db_session()
    q = request.args.get("q", "").strip()[:SEARCH_MAX]
    query = (
        select(User)
        .outerjoin(PersonProfile, PersonProfile.user_id == User.id)
        .order_by(func.lower(User.display_name), User.username)
    )
    if q:
        query = query.where(
            or_(
                User.display_name.icontains(q, autoescape=True),
                User.username.icontains(q, autoescape=True),
                PersonProfile.prison_number.icontains(q, autoescape=True),
            )
        )
    users = list(db.execute(query.limit(LIST_LIMIT + 1)).scalars().unique())
    return render_template(
        "admin/index.html",
        users=users[:LIST_LIMIT],
        truncated=len(users) > LIST_LIMIT,
        q=q,
        role_label=role_label,
        status_label=status_label,
    )


def _establishment_choices(db: Session) -> list[tuple[str, str]]:
    rows = db.execute(select(Establishment.id, Establishment.name).order_by(Establishment.name))
    return [(str(row.id), row.name) for row in rows]


def _check_new_account(form: NewAccountForm, choices: list[tuple[str, str]]) -> bool:
    """Rules the form cannot express alone; errors are added to the fields."""
    ok = True
    if form.role.data == Role.RECOVERY_OFFICER:
        # Two officers must be two people: an administrator who could open
        # officer accounts could open two and be both.
        form.role.errors = [
            _(
                "Recovery officers are opened by the operator of the vault "
                "(command vault recovery create-officer), not on this page."
            )
        ]
        ok = False
    elif form.role.data not in {r.value for r in Role}:
        form.role.errors = [_("Choose a kind of account from the list.")]
        ok = False
    known = {value for value, _label in choices}
    chosen = form.establishment.data or ""
    if chosen and chosen not in known:
        form.establishment.errors = [_("Choose an establishment from the list.")]
        ok = False
    elif not chosen and form.role.data == Role.PERSON and known:
        form.establishment.errors = [_("Choose the establishment where this person is held.")]
        ok = False
    birth = form.birth_date.data
    if (
        form.role.data == Role.PERSON
        and birth
        and not (birth.year >= 1900 and birth <= utcnow().date())
    ):
        form.birth_date.errors = [_("This date is not possible.")]
        ok = False
    return ok


@bp.route("/comptes/nouveau", methods=["GET", "POST"])
@auth.role_required(Role.ADMINISTRATOR)
def new_account() -> tuple[str, int] | BaseResponse:
    db = db_session()
    form = NewAccountForm()
    choices = _establishment_choices(db)
    form.establishment.choices = [
        SelectChoice("", _("No establishment")),
        *(SelectChoice(value, label) for value, label in choices),
    ]
    # Checked below with clearer messages than WTForms' "Not a valid choice".
    form.role.validate_choice = False
    form.establishment.validate_choice = False
    if request.method == "POST":
        valid = form.validate()
        # Run our checks even when WTForms already found a problem: every
        # mistake is shown at once.
        if _check_new_account(form, choices) and valid:
            role = Role(form.role.data)
            is_person = role == Role.PERSON
            chosen = form.establishment.data
            prison_number = (form.prison_number.data or "").strip() if is_person else ""
            new = accounts.open_account(
                db,
                get_keyring(),
                get_escrow_key(),
                role=role,
                first_name=(form.first_name.data or "").strip(),
                last_name=(form.last_name.data or "").strip(),
                created_by=auth.signed_in_user(),
                establishment_id=uuid.UUID(chosen) if chosen else None,
                birth_date=form.birth_date.data if is_person else None,
                prison_number=prison_number or None,
                activation_days=get_settings().activation_days,
            )
            _remember_code(new.user.id, new.activation_code)
            db.commit()
            flash(
                _(
                    "The account of %(name)s is open. Print the activation sheet now and "
                    "give it to them in person.",
                    name=new.user.display_name,
                ),
                "success",
            )
            return redirect(url_for("admin.account", user_id=new.user.id))
        return render_template("admin/new_account.html", form=form), 400
    return render_template("admin/new_account.html", form=form), 200


@bp.get("/comptes/<uuid:user_id>")
@auth.role_required(Role.ADMINISTRATOR)
def account(user_id: uuid.UUID) -> str:
    db = db_session()
    user = _get_user(db, user_id)
    return _render_account(db, user)


def _render_account(
    db: Session, user: User, assign_form: AssignCounsellorsForm | None = None
) -> str:
    context: dict[str, Any] = {}
    if user.role == Role.PERSON:
        history = sharing.assignment_history(db, user.id)
        form = assign_form or AssignCounsellorsForm(formdata=None)
        form.counsellors.choices = [
            SelectChoice(str(c.id), c.display_name) for c in _assignable(db, user)
        ]
        context = {
            "current": [a for a in history if a.ended_at is None],
            "history": history,
            "names": _names(db, history),
            "assign_form": form,
        }
    elif user.role == Role.COUNSELLOR:
        context = {"followed": sharing.people_of(db, user.id)}
    return render_template(
        "admin/account.html",
        user=user,
        has_code=_code_for(user) is not None,
        status=status_label(user),
        role=role_label(user.role),
        form=EmptyForm(),
        **context,
    )


@bp.post("/comptes/<uuid:user_id>/nouveau-code")
@auth.role_required(Role.ADMINISTRATOR)
def reissue(user_id: uuid.UUID) -> BaseResponse:
    db = db_session()
    user = _get_user(db, user_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if user.role == Role.RECOVERY_OFFICER:
        # A new code would let an administrator activate, as themselves, an
        # officer the operator opened: the operator's command is the only way.
        flash(
            _(
                "A recovery officer's activation code comes from the operator of the vault "
                "(command vault recovery create-officer), never from this page."
            ),
            "error",
        )
        return redirect(url_for("admin.account", user_id=user.id))
    try:
        code = accounts.reissue_activation(
            db,
            get_keyring(),
            get_escrow_key(),
            user,
            by=auth.signed_in_user(),
            activation_days=get_settings().activation_days,
        )
    except NotFound:
        flash(_("This account is already activated: it no longer needs a code."), "error")
    except PolicyError:
        flash(
            _(
                "Documents were already deposited in this vault: a new code would make them "
                "unreadable. Ask a recovery officer."
            ),
            "error",
        )
    else:
        _remember_code(user.id, code)
        db.commit()
        flash(_("A new activation code is ready. The previous sheet no longer works."), "success")
    return redirect(url_for("admin.account", user_id=user.id))


# --- off-boarding staff -----------------------------------------------------------------


def _staff_refusal(code: str) -> str:
    messages = {
        "not_staff": _(
            "Only staff accounts can be disabled here. The accounts of people who hold a "
            "vault follow their release and closing (page “Transfer, release and follow-up”)."
        ),
        "self": _("You cannot disable your own account. Ask another administrator."),
        "last_administrator": _(
            "This is the last active administrator: the vault would have nobody to run it. "
            "Open or activate another administrator account first."
        ),
        "already_disabled": _("This account is already disabled."),
        "not_disabled": _("This account is not disabled."),
    }
    return str(messages.get(code) or _("This is not possible."))


@bp.post("/comptes/<uuid:user_id>/desactiver")
@auth.role_required(Role.ADMINISTRATOR)
def disable(user_id: uuid.UUID) -> BaseResponse:
    db = db_session()
    user = _get_user(db, user_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        done = accounts.disable_account(db, user, by=auth.signed_in_user())
    except accounts.StaffRefused as e:
        db.rollback()
        flash(_staff_refusal(e.code), "error")
    else:
        db.commit()
        message = _(
            "The account of %(name)s is disabled: they are signed out everywhere and can no "
            "longer sign in.",
            name=user.display_name,
        )
        if done.followups_ended:
            message += " " + ngettext(
                "%(num)d follow-up ended; what that person shared with them is no longer shared.",
                "%(num)d follow-ups ended; what those people shared with them is no longer shared.",
                done.followups_ended,
            )
        flash(message, "success")
    return redirect(url_for("admin.account", user_id=user.id))


@bp.post("/comptes/<uuid:user_id>/reactiver")
@auth.role_required(Role.ADMINISTRATOR)
def enable(user_id: uuid.UUID) -> BaseResponse:
    db = db_session()
    user = _get_user(db, user_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        accounts.enable_account(db, user, by=auth.signed_in_user())
    except accounts.StaffRefused as e:
        db.rollback()
        flash(_staff_refusal(e.code), "error")
    else:
        db.commit()
        flash(_("The account of %(name)s is enabled again.", name=user.display_name), "success")
    return redirect(url_for("admin.account", user_id=user.id))


@bp.get("/comptes/<uuid:user_id>/feuille-activation.pdf")
@auth.role_required(Role.ADMINISTRATOR)
def activation_sheet(user_id: uuid.UUID) -> Response:
    user = _get_user(db_session(), user_id)
    code = _code_for(user)
    if code is None:
        abort(404)
    activation_url = url_for("auth.activate", _external=True)
    digits = accounts.normalize_activation_code(code)
    # In the fragment, which browsers never send: the code stays out of the
    # server's and any proxy's logs when the QR code is scanned.
    qr_payload = f"{activation_url}#u={quote(user.username, safe='')}&c={digits}"
    pdf = render_pdf(
        "pdf/activation_sheet.html",
        display_name=user.display_name,
        username=user.username,
        activation_code=code,
        activation_url=activation_url,
        qr_payload=qr_payload,
        expires_on=format_date(user.activation_expires_at, "long")
        if user.activation_expires_at
        else "",
        establishment=user.establishment.name if user.establishment else None,
        role_label=role_label(user.role),
    )
    return pdf_response(pdf, f"feuille-activation-{user.username}.pdf")


# --- assignments ------------------------------------------------------------------------


def _assignable(db: Session, person: User) -> list[User]:
    """Counsellor accounts that may be assigned to `person` now (not already, not disabled)."""
    current = select(Assignment.counsellor_id).where(
        Assignment.person_id == person.id, Assignment.ended_at.is_(None)
    )
    return list(
        db.execute(
            select(User)
            .where(
                User.role == Role.COUNSELLOR,
                User.status != AccountStatus.DISABLED,
                User.id.not_in(current),
            )
            .order_by(func.lower(User.display_name), User.username)
        ).scalars()
    )


def _names(db: Session, assignments: list[Assignment]) -> dict[uuid.UUID, str]:
    """Display names of everyone an assignment history mentions, in one query."""
    ids = {
        i
        for a in assignments
        for i in (a.counsellor_id, a.assigned_by_id, a.ended_by_id)
        if i is not None
    }
    if not ids:
        return {}
    rows = db.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {row.id: row.display_name for row in rows}


def _person(db: Session, user_id: uuid.UUID) -> User:
    person = _get_user(db, user_id)
    if person.role != Role.PERSON:
        abort(404)
    return person


@bp.post("/comptes/<uuid:user_id>/suivis")
@auth.role_required(Role.ADMINISTRATOR)
def assign(user_id: uuid.UUID) -> BaseResponse | tuple[str, int]:
    db = db_session()
    person = _person(db, user_id)
    form = AssignCounsellorsForm()
    allowed = {str(c.id): c for c in _assignable(db, person)}
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
        return _render_account(db, person, form), 400
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
    end_followup(db, person, assignment_id)
    return redirect(url_for("admin.account", user_id=person.id))


def end_followup(db: Session, person: User, assignment_id: uuid.UUID) -> None:
    """End one of `person`'s follow-ups and say so (from this page and the lifecycle one).

    404 for another person's assignment, 400 without the form's token.
    """
    assignment = db.get(Assignment, assignment_id)
    if assignment is None or assignment.person_id != person.id:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if assignment.ended_at is not None:
        flash(_("This follow-up had already ended."), "info")
        return
    sharing.end_assignment(db, assignment, by=auth.signed_in_user())
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


# --- establishments ---------------------------------------------------------------------

LINK_POLICY_LABELS: dict[str, LazyString] = {
    "off": _l("Not allowed"),
    "approval": _l("With the approval of a counsellor"),
    "on": _l("Allowed"),
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
    place = db.get(Establishment, establishment_id)
    if place is None:
        abort(404)
    form = LinkPolicyForm(data={"external_links": place.external_links})
    status = 200
    if request.method == "POST":
        if form.validate_on_submit() and form.external_links.data in EXTERNAL_LINK_POLICIES:
            place.external_links = form.external_links.data
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
