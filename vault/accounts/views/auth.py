"""Sign-in, activation with the printed sheet, sign-out."""

from __future__ import annotations

from datetime import date, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale, format_date, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from vault.access import networks
from vault.accounts import auth, devices, sessions, sheets
from vault.accounts import language as languages
from vault.accounts import service as accounts
from vault.accounts.opening import RECOVERY_CODE_SHOWN_FOR
from vault.accounts.passphrases import generate_passphrase
from vault.core import kiosk, locale
from vault.core.db import db_session
from vault.core.errors import PolicyError, SignInRefused, Throttled
from vault.core.extensions import get_keyring
from vault.core.forms import ActivationForm, ChoosePassphraseForm, EmptyForm, SignInForm
from vault.core.messages import passphrase_problems, too_many_attempts
from vault.documents.sending import answer_sheet
from vault.lifecycle import retention
from vault.models import AccountStatus, User
from vault.models.base import utcnow

bp = Blueprint("auth", __name__)


def _outside_networks_message() -> str:
    return str(
        _(
            "While you are detained, you can sign in only from the establishment, for "
            "example from a kiosk. After your release, you can sign in from anywhere."
        )
    )


def _kept_message(deletion_on: date) -> str:
    return str(
        _(
            "Your vault was going to be deleted on %(date)s because you had not signed in "
            "for a long time. You signed in: it is kept.",
            date=format_date(deletion_on, "long"),
        )
    )


def _remember_account_language(response: BaseResponse, user: User) -> None:
    """A person's own device then greets them in their language even signed out (D-151).

    Not a kiosk: the next person there must not find the previous one's language.
    """
    if user.locale and not kiosk.from_kiosk():
        locale.remember(response, user.locale)


@bp.route("/connexion", methods=["GET", "POST"])
def sign_in() -> str | BaseResponse | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(auth.home_url(auth.signed_in_user()))
    form = SignInForm()
    error = None
    status = 200
    if form.validate_on_submit():
        db = db_session()
        username = form.username.data or ""
        candidate = accounts.find_user(db, username)
        trusted = candidate is not None and devices.is_trusted(request, candidate)
        try:
            user, key = accounts.sign_in(
                db,
                get_keyring(),
                username,
                form.passphrase.data or "",
                trusted=trusted,
                address=request.remote_addr,
            )
        except Throttled as e:
            error, status = too_many_attempts(e.retry_after), 429
        except SignInRefused:
            error, status = _("This username and secret phrase do not match. Try again."), 200
        except networks.OutsideNetworks:
            error, status = _outside_networks_message(), 403
        except accounts.AccountDisabled:
            error, status = (
                _(
                    "This account is disabled: you can no longer sign in with it. If you think "
                    "this is a mistake, ask an administrator of the vault."
                ),
                403,
            )
        else:
            auth.begin_session(user, key)
            notice = retention.signed_in(db, user)
            languages.adopt_device_choice(db, user, locale.device_choice())
            db.commit()
            if notice is not None:
                # Shown on the next page, which is in the account's language.
                with force_locale(locale.registered(user.locale) or str(get_locale())):
                    flash(_kept_message(notice.deletion_on), "info")
            response = redirect(auth.home_url(user))
            devices.remember(request, response, user)
            _remember_account_language(response, user)
            return response
        db.commit()  # the failure count and the journal line
    elif request.method == "POST":
        status = 400
    return render_template("auth/sign_in.html", form=form, error=error), status


@bp.post("/deconnexion")
def sign_out() -> BaseResponse:
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    get_locale()  # the goodbye below in the person's language, chosen before the session ends
    auth.end_session()
    db_session().commit()
    flash(_("You are signed out. You can leave the terminal."), "info")
    response = redirect(url_for("auth.sign_in"))
    locale.forget_on_kiosk(response)
    return response


@bp.post("/session/encore-la")
@auth.role_required(*auth.HOME_BY_ROLE)
def keep_alive() -> BaseResponse:
    """« Je suis encore là » on a kiosk's idle countdown: the idle time starts again.

    A POST with the page's CSRF token (D-072): a GET that moved the session on
    could be fired by any image or prefetch. static/js/idle.js sends it with
    fetch and reads the seconds left; without the script the countdown is not
    shown, and a plain submission lands on the person's home.
    """
    if not EmptyForm().validate_on_submit():
        abort(400)
    db = db_session()
    opened = auth.open_session()
    sessions.keep_alive(db, opened.row)
    db.commit()
    if request.accept_mimetypes.best == "application/json":
        return jsonify(seconds_left=sessions.seconds_left(opened.row))
    return redirect(auth.home_url(auth.signed_in_user()))


@bp.route("/activer", methods=["GET", "POST"])
def activate() -> str | BaseResponse | tuple[str, int]:
    form = ActivationForm()
    error = None
    status = 200
    if form.validate_on_submit():
        db = db_session()
        try:
            user, key = accounts.check_activation(
                db, get_keyring(), form.username.data or "", form.code.data or ""
            )
        except Throttled as e:
            error, status = too_many_attempts(e.retry_after), 429
        except SignInRefused:
            error = _(
                "This username and activation code do not match, or the code is no longer "
                "valid. Check the sheet, or ask for a new one."
            )
        else:
            auth.begin_session(user, key)
            languages.adopt_device_choice(db, user, locale.device_choice())
            db.commit()
            response = redirect(url_for("auth.choose_passphrase"))
            _remember_account_language(response, user)
            return response
        db.commit()
    elif request.method == "POST":
        status = 400
    return render_template("auth/activate.html", form=form, error=error), status


def _activating() -> tuple[User, sessions.OpenSession]:
    """The pending account whose activation code was just accepted in this browser."""
    ticket = auth.cookie_ticket()
    if ticket is None:
        abort(403)
    db = db_session()
    opened = sessions.resume(db, ticket)
    user = db.get(User, opened.row.user_id) if opened else None
    if (
        opened is None
        or user is None
        or user.status != AccountStatus.PENDING
        or not accounts.matches_public_key(user, opened.user_key)
    ):
        abort(403)
    g.open_session = opened
    return user, opened


@bp.route("/activer/phrase-secrete", methods=["GET", "POST"])
def choose_passphrase() -> str | BaseResponse | tuple[str, int]:
    user, opened = _activating()
    form = ChoosePassphraseForm()
    problems: list[str] = []
    if form.validate_on_submit():
        db = db_session()
        try:
            code = accounts.complete_activation(
                db,
                get_keyring(),
                user,
                opened.user_key,
                form.passphrase.data or "",
                keep_session=opened.row.id,
            )
            # The first sign-in: an account opened after release starts its
            # retention period now, as any sign-in does.
            retention.signed_in(db, user)
        except PolicyError as e:
            problems = passphrase_problems(e.problems)
        except SignInRefused:
            abort(403)
        else:
            sessions.set_pending(
                opened.row,
                auth.current_ticket(),
                {"recovery_code": code, "issued": utcnow().isoformat()},
            )
            db.commit()
            response = redirect(url_for("auth.recovery_kit"))
            devices.remember(request, response, user)
            return response
    status = 400 if request.method == "POST" else 200
    return render_template(
        "auth/choose_passphrase.html",
        form=form,
        user=user,
        problems=problems,
        suggestion=generate_passphrase(),
    ), status


def _pending_recovery_code() -> str | None:
    opened = auth.open_session()
    pending = sessions.get_pending(opened.row, auth.current_ticket())
    code, issued = pending.get("recovery_code"), pending.get("issued")
    if not isinstance(code, str) or not isinstance(issued, str):
        return None
    if utcnow() - datetime.fromisoformat(issued) > RECOVERY_CODE_SHOWN_FOR:
        return None
    return code


@bp.get("/activer/feuille-de-secours")
@auth.role_required(*auth.HOME_BY_ROLE)
def recovery_kit() -> str | BaseResponse:
    code = _pending_recovery_code()
    if code is None:
        return redirect(auth.home_url(auth.signed_in_user()))
    return render_template("auth/recovery_kit.html", code=code, form=EmptyForm())


@bp.get("/activer/feuille-de-secours.pdf")
@auth.role_required(*auth.HOME_BY_ROLE)
def recovery_kit_pdf() -> Response | str:
    code = _pending_recovery_code()
    if code is None:
        abort(404)
    user = auth.signed_in_user()
    return answer_sheet(
        "pdf/recovery_kit.html",
        "feuille-de-secours.pdf",
        back_url=url_for("auth.recovery_kit"),
        **sheets.recovery_sheet_context(user, code, user.activated_at),
    )


@bp.post("/activer/termine")
@auth.role_required(*auth.HOME_BY_ROLE)
def recovery_kit_done() -> BaseResponse:
    if not EmptyForm().validate_on_submit():
        abort(400)
    opened = auth.open_session()
    ticket = auth.current_ticket()
    pending = sessions.get_pending(opened.row, ticket)
    pending.pop("recovery_code", None)
    pending.pop("issued", None)
    renewed = pending.pop("renewed", None) is True
    sessions.set_pending(opened.row, ticket, pending)
    db_session().commit()
    if renewed:
        flash(_("Your new recovery sheet is ready. The old one no longer works."), "success")
    else:
        flash(_("Your vault is ready."), "success")
    return redirect(auth.home_url(auth.signed_in_user()))
