"""Recovery: the person with their kit, the counsellor's approval, the recovery officers.

The person is anonymous here (they cannot sign in). Between "code accepted"
and "new passphrase chosen" the user key is held like a session's: encrypted
under a random key that only this browser's cookie carries (under names the
sign-in loader never reads, so it is no sign-in). Officers see identity data
and requests only; the escrow secret never reaches the web app
(`vault escrow recover`, run offline by an operator).
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from vault.accounts import auth, devices, sessions, sheets
from vault.accounts import service as accounts
from vault.accounts.opening import RECOVERY_CODE_SHOWN_FOR
from vault.accounts.passphrases import generate_passphrase
from vault.core.db import db_session
from vault.core.envelope import UserKey
from vault.core.errors import PolicyError, SignInRefused, Throttled
from vault.core.extensions import get_escrow_key, get_keyring
from vault.core.forms import ChoosePassphraseForm, EmptyForm
from vault.core.messages import passphrase_problems, too_many_attempts
from vault.core.throttle import HashingBusy
from vault.documents.opened import unlocked_vault
from vault.documents.sending import answer_sheet
from vault.models import RecoveryRequest, Role, User
from vault.models.base import utcnow
from vault.recovery import service as recovery
from vault.recovery.forms import (
    ID_DOCUMENT_LABELS,
    IdentityCheckForm,
    OfficerSearchForm,
    RecoveryForm,
    RenewKitForm,
)
from vault.sharing import service as sharing

bp = Blueprint("recovery", __name__, url_prefix="/recuperation")

# Cookie names of the held key; distinct from the sign-in session's ("t", "k").
HELD_TOKEN, HELD_KEY = "rt", "rk"
# The new passphrase is chosen right away; a page left open is forgotten soon.
HELD_IDLE_MINUTES = 15
HELD_ABSOLUTE_HOURS = 1


# --- the person with their recovery kit -------------------------------------------------


def _hold_key(db: Session, user: User, user_key: UserKey) -> None:
    ticket = sessions.start(
        db,
        user,
        user_key,
        idle_minutes=HELD_IDLE_MINUTES,
        absolute_hours=HELD_ABSOLUTE_HOURS,
    )
    session[HELD_TOKEN] = ticket.token
    session[HELD_KEY] = base64.b64encode(ticket.key).decode()


def _held(db: Session) -> tuple[User, sessions.OpenSession] | None:
    ticket = auth.cookie_ticket(HELD_TOKEN, HELD_KEY)
    opened = sessions.resume(db, ticket) if ticket is not None else None
    if opened is None:
        return None
    return opened.row.user, opened


def _drop_held(db: Session) -> None:
    token = session.pop(HELD_TOKEN, None)
    session.pop(HELD_KEY, None)
    if isinstance(token, str):
        sessions.end(db, sessions.session_row_id(token))


@bp.route("", methods=["GET", "POST"])
def start() -> str | BaseResponse | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(auth.home_url(auth.signed_in_user()))
    form = RecoveryForm()
    error = None
    status = 200
    if form.validate_on_submit():
        db = db_session()
        username = form.username.data or ""
        candidate = accounts.find_user(db, username)
        trusted = candidate is not None and devices.is_trusted(request, candidate)
        try:
            check = recovery.check_kit(
                db, get_keyring(), username, form.code.data or "", trusted=trusted
            )
        except recovery.Mistyped:
            error = _(
                "This recovery code is mistyped: a digit is wrong or missing. Look at your "
                "sheet and type the code again. This try does not count."
            )
        except Throttled as e:
            error, status = too_many_attempts(e.retry_after), 429
            db.commit()
        except SignInRefused:
            error = _(
                "This username and recovery code do not match, or the code was already used. "
                "Check your recovery sheet."
            )
            db.commit()  # the failure count and the journal line
        else:
            if check.user_key is not None:
                _drop_held(db)
                _hold_key(db, check.user, check.user_key)
                db.commit()
                return redirect(url_for("recovery.choose_passphrase"))
            counsellors = sharing.counsellors_of(db, check.user.id)
            db.commit()
            return render_template(
                "recovery/requested.html",
                created=check.created,
                counsellors=[c.display_name for c in counsellors],
            )
    elif request.method == "POST":
        status = 400
    return render_template("recovery/start.html", form=form, error=error), status


@bp.route("/nouvelle-phrase", methods=["GET", "POST"])
def choose_passphrase() -> str | BaseResponse | tuple[str, int]:
    db = db_session()
    held = _held(db)
    if held is None:
        flash(_("Type your username and your recovery code again."), "info")
        return redirect(url_for("recovery.start"))
    user, opened = held
    form = ChoosePassphraseForm()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            code = recovery.complete_kit(
                db, get_keyring(), user, opened.user_key, form.passphrase.data or ""
            )
        except PolicyError as e:
            problems = passphrase_problems(e.problems)
        except SignInRefused:
            _drop_held(db)
            db.commit()
            flash(_("This recovery is no longer approved. Start again."), "error")
            return redirect(url_for("recovery.start"))
        else:
            # Every session ended in complete_kit, the held one too; this
            # browser gets a fresh sign-in session to show the new kit.
            new_session = auth.begin_session(user, opened.user_key)
            sessions.set_pending(
                new_session.row,
                auth.current_ticket(),
                {"recovery_code": code, "issued": utcnow().isoformat()},
            )
            db.commit()
            return redirect(url_for("recovery.kit"))
    db.commit()
    status = 400 if request.method == "POST" else 200
    return render_template(
        "recovery/choose_passphrase.html",
        form=form,
        user=user,
        problems=problems,
        suggestion=generate_passphrase(),
    ), status


def _pending_kit() -> tuple[str, datetime] | None:
    pending = sessions.get_pending(auth.open_session().row, auth.current_ticket())
    code, issued = pending.get("recovery_code"), pending.get("issued")
    if not isinstance(code, str) or not isinstance(issued, str):
        return None
    when = datetime.fromisoformat(issued)
    if utcnow() - when > RECOVERY_CODE_SHOWN_FOR:
        return None
    return code, when


@bp.get("/feuille-de-secours")
@auth.role_required(Role.PERSON)
def kit() -> str | BaseResponse:
    pending = _pending_kit()
    if pending is None:
        return redirect(auth.home_url(auth.signed_in_user()))
    renewed = sessions.get_pending(auth.open_session().row, auth.current_ticket()).get("renewed")
    return render_template("recovery/kit.html", code=pending[0], renewed=renewed is True)


@bp.route("/nouvelle-feuille", methods=["GET", "POST"])
@auth.role_required(Role.PERSON)
def renew() -> str | BaseResponse | tuple[str, int]:
    """A new recovery sheet when the person asks for one: the only way, besides a recovery,
    that the code changes (an export leaves it alone, D-090)."""
    form = RenewKitForm()
    problems: list[str] = []
    status = 200
    if form.validate_on_submit():
        owner = unlocked_vault()
        db = db_session()
        try:
            # Fresh sign-in: an unattended session must not replace the sheet.
            accounts.confirm_passphrase(
                db,
                get_keyring(),
                owner,
                form.passphrase.data or "",
                action="recovery_kit.issued",
            )
        except SignInRefused:
            db.commit()  # the failure count and the journal line
            problems, status = [_("Your secret phrase is not right.")], 400
        except Throttled as e:
            db.commit()
            problems, status = [too_many_attempts(e.retry_after)], 429
        except HashingBusy:
            db.rollback()
            problems = [_("The vault is busy. Please try again in a minute.")]
            status = 503
        else:
            # A person's user key is their vault key (accounts.keys.vault_key_of).
            code = accounts.issue_recovery_kit(db, get_keyring(), owner.user, UserKey(owner.key))
            # Added to what the session keeps already (a link's address to show).
            opened, ticket = auth.open_session(), auth.current_ticket()
            pending = sessions.get_pending(opened.row, ticket)
            pending |= {"recovery_code": code, "issued": utcnow().isoformat(), "renewed": True}
            sessions.set_pending(opened.row, ticket, pending)
            db.commit()
            return redirect(url_for("recovery.kit"))
    elif request.method == "POST":
        status = 400
    return render_template("recovery/renew.html", form=form, problems=problems), status


@bp.get("/feuille-de-secours.pdf")
@auth.role_required(Role.PERSON)
def kit_pdf() -> Response | str:
    pending = _pending_kit()
    if pending is None:
        abort(404)
    user = auth.signed_in_user()
    return answer_sheet(
        "pdf/recovery_kit.html",
        "feuille-de-secours.pdf",
        back_url=url_for("recovery.kit"),
        **sheets.recovery_sheet_context(user, pending[0], pending[1]),
    )


# --- the counsellor's approval ----------------------------------------------------------


@bp.get("/approbations")
@auth.role_required(Role.COUNSELLOR)
def approvals() -> str:
    rows = recovery.approvals_for(db_session(), auth.signed_in_user())
    return render_template("recovery/approvals.html", rows=rows, form=EmptyForm())


def _decide(request_id: uuid.UUID, *, approve: bool) -> BaseResponse:
    if not EmptyForm().validate_on_submit():
        abort(400)
    db = db_session()
    decided = recovery.decide_kit(db, auth.signed_in_user(), request_id, approve=approve)
    person = db.get(User, decided.user_id)
    db.commit()
    name = person.display_name if person else ""
    if approve:
        flash(
            _(
                "You approved the recovery of %(name)s. They have 48 hours to type their "
                "recovery code again and choose a new secret phrase.",
                name=name,
            ),
            "success",
        )
    else:
        flash(_("You declined the recovery of %(name)s.", name=name), "info")
    return redirect(url_for("recovery.approvals"))


@bp.post("/approbations/<uuid:request_id>/approuver")
@auth.role_required(Role.COUNSELLOR)
def approve(request_id: uuid.UUID) -> BaseResponse:
    return _decide(request_id, approve=True)


@bp.post("/approbations/<uuid:request_id>/refuser")
@auth.role_required(Role.COUNSELLOR)
def decline(request_id: uuid.UUID) -> BaseResponse:
    return _decide(request_id, approve=False)


# --- recovery officers (escrow) ---------------------------------------------------------


def _people_of(db: Session, requests: list[RecoveryRequest]) -> dict[uuid.UUID, User]:
    ids = {r.user_id for r in requests} | {
        i for r in requests for i in (r.approved_by_id, r.second_officer_id) if i
    }
    found = (db.get(User, i) for i in ids)
    return {u.id: u for u in found if u is not None}


@bp.get("/agents/")
@auth.role_required(Role.RECOVERY_OFFICER)
def officer_index() -> str:
    db = db_session()
    form = OfficerSearchForm(request.args)
    query = (form.q.data or "").strip() if form.validate() else ""
    results = recovery.search_people(db, query) if query else []
    open_requests = recovery.open_escrow_requests(db)
    return render_template(
        "recovery/officer_index.html",
        form=form,
        q=query,
        results=results,
        requests=open_requests,
        people=_people_of(db, open_requests),
    )


@bp.route("/agents/personnes/<uuid:person_id>", methods=["GET", "POST"])
@auth.role_required(Role.RECOVERY_OFFICER)
def officer_person(person_id: uuid.UUID) -> str | BaseResponse | tuple[str, int]:
    db = db_session()
    person = recovery.escrow_person(db, person_id)
    form = IdentityCheckForm()
    error = None
    if form.validate_on_submit():
        check = recovery.IdentityCheck(
            document=form.document.data,
            last4=(form.last4.data or "").strip().upper(),
            seen_on=form.seen_on.data,
        )
        try:
            opened = recovery.open_escrow_request(
                db, get_escrow_key(), auth.signed_in_user(), person, check
            )
        except PolicyError:
            error = _("This person already has a recovery request in progress.")
        else:
            db.commit()
            flash(_("Request opened. A second recovery officer must now confirm it."), "success")
            return redirect(url_for("recovery.officer_request", request_id=opened.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "recovery/officer_person.html", person=person, form=form, error=error
    ), status


@bp.get("/agents/demandes/<uuid:request_id>")
@auth.role_required(Role.RECOVERY_OFFICER)
def officer_request(request_id: uuid.UUID) -> str:
    db = db_session()
    found = recovery.get_escrow_request(db, request_id)
    identity = recovery.identity_of(found)
    document = ID_DOCUMENT_LABELS.get(identity.get("document", ""))
    return render_template(
        "recovery/officer_request.html",
        req=found,
        people=_people_of(db, [found]),
        identity=identity,
        document_label=str(document) if document else "",
        me=auth.signed_in_user(),
        form=EmptyForm(),
    )


@bp.post("/agents/demandes/<uuid:request_id>/confirmer")
@auth.role_required(Role.RECOVERY_OFFICER)
def confirm(request_id: uuid.UUID) -> BaseResponse:
    if not EmptyForm().validate_on_submit():
        abort(400)
    db = db_session()
    try:
        recovery.confirm_escrow_request(db, auth.signed_in_user(), request_id)
    except PolicyError:
        flash(_("You opened this request: another recovery officer must confirm it."), "error")
    else:
        db.commit()
        flash(
            _("Request confirmed. The operator with the escrow key can now carry it out."),
            "success",
        )
    return redirect(url_for("recovery.officer_request", request_id=request_id))


@bp.post("/agents/demandes/<uuid:request_id>/annuler")
@auth.role_required(Role.RECOVERY_OFFICER)
def cancel(request_id: uuid.UUID) -> BaseResponse:
    if not EmptyForm().validate_on_submit():
        abort(400)
    db = db_session()
    recovery.cancel_escrow_request(db, auth.signed_in_user(), request_id)
    db.commit()
    flash(_("Request cancelled."), "info")
    return redirect(url_for("recovery.officer_index"))
