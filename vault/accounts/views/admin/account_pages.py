"""Administrators' account pages: the list, opening an account, its page, activation sheets.

A fresh activation code lives only in the administrator's own server session,
encrypted (accounts/sessions.py), long enough to print the sheet; it is never
logged nor written in clear.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SelectChoice

from vault.accounts import auth, search, sessions, sheets
from vault.accounts import service as accounts
from vault.accounts.labels import role_label, status_label
from vault.accounts.views.admin.blueprint import bp, get_user
from vault.core.db import db_session
from vault.core.errors import NotFound, PolicyError
from vault.core.extensions import get_escrow_key, get_keyring, get_settings
from vault.core.forms import AssignCounsellorsForm, EmptyForm, NewAccountForm
from vault.core.languages import CODES
from vault.documents.sending import answer_sheet
from vault.models import (
    AccountStatus,
    Assignment,
    Establishment,
    Role,
    User,
)
from vault.models.base import utcnow
from vault.sharing import service as sharing

# The account list shows this many rows at most; the search narrows it.
LIST_LIMIT = 200


SEARCH_MAX = 100


# Activation codes kept per administrator session: an intake session may open
# dozens of accounts, but the encrypted session row must not grow without end.
MAX_SHEETS = 50


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


def search_accounts(db: Session, q: str) -> list[User]:
    """The accounts `q` finds (vault.accounts.search), LIST_LIMIT + 1 at most.

    Apart from the view so that bench/scale.py times exactly this query.
    """
    query = select(User).order_by(func.lower(User.display_name), User.username)
    if q:
        query = query.where(User.id.in_(search.matching_ids(db, q)))
    return list(db.execute(query.limit(LIST_LIMIT + 1)).scalars().unique())


@bp.get("/")
@auth.role_required(Role.ADMINISTRATOR)
def index() -> str:
    db = db_session()
    q = request.args.get("q", "").strip()[:SEARCH_MAX]
    users = search_accounts(db, q)
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
    if form.locale.data not in CODES:
        form.locale.errors = [_("Choose a language from the list.")]
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
    form.locale.validate_choice = False
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
                locale=form.locale.data,
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
    user = get_user(db, user_id)
    return render_account(db, user)


def render_account(
    db: Session, user: User, assign_form: AssignCounsellorsForm | None = None
) -> str:
    context: dict[str, Any] = {}
    if user.role == Role.PERSON:
        history = sharing.assignment_history(db, user.id)
        form = assign_form or AssignCounsellorsForm(formdata=None)
        form.counsellors.choices = [
            SelectChoice(str(c.id), c.display_name) for c in assignable(db, user)
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
    user = get_user(db, user_id)
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
        flash(
            _("A new activation sheet is ready: print it now. The previous sheet no longer works."),
            "success",
        )
    return redirect(url_for("admin.account", user_id=user.id))


@bp.get("/comptes/<uuid:user_id>/feuille-activation.pdf")
@auth.role_required(Role.ADMINISTRATOR)
def activation_sheet(user_id: uuid.UUID) -> Response | str:
    user = get_user(db_session(), user_id)
    code = _code_for(user)
    if code is None:
        abort(404)
    return answer_sheet(
        "pdf/activation_sheet.html",
        f"feuille-activation-{user.username}.pdf",
        back_url=url_for("admin.account", user_id=user.id),
        **sheets.sheet_context(user, code),
    )


def assignable(db: Session, person: User) -> list[User]:
    """Counsellor accounts that may be assigned to `person` now (not already, not disabled).

    Only counsellors of the person's establishment, and those attached to none
    (a service or an association working across establishments): a list of
    every counsellor of the country invites the wrong name (D-103). A person
    with no establishment (released, or none recorded) may get any counsellor.
    """
    current = select(Assignment.counsellor_id).where(
        Assignment.person_id == person.id, Assignment.ended_at.is_(None)
    )
    query = select(User).where(
        User.role == Role.COUNSELLOR,
        User.status != AccountStatus.DISABLED,
        User.id.not_in(current),
    )
    if person.establishment_id is not None:
        query = query.where(
            or_(
                User.establishment_id == person.establishment_id,
                User.establishment_id.is_(None),
            )
        )
    return list(db.execute(query.order_by(func.lower(User.display_name), User.username)).scalars())


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
