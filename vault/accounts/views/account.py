"""The signed-in user's own account: passphrase change, sessions, sign out everywhere."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from vault.accounts import auth, sessions
from vault.accounts import service as accounts
from vault.accounts.passphrases import generate_passphrase
from vault.core import locale
from vault.core.db import db_session
from vault.core.errors import PolicyError, SignInRefused, Throttled
from vault.core.extensions import get_keyring
from vault.core.forms import ChangePassphraseForm, EmptyForm
from vault.core.messages import passphrase_problems, too_many_attempts
from vault.journal import service as journal

bp = Blueprint("account", __name__, url_prefix="/compte")
EVERYONE = tuple(auth.HOME_BY_ROLE)


@bp.get("/")
@auth.role_required(*EVERYONE)
def index() -> str:
    user = auth.signed_in_user()
    count = sessions.count_for(db_session(), user.id)
    return render_template("account/index.html", user=user, sessions=count, form=EmptyForm())


@bp.route("/phrase-secrete", methods=["GET", "POST"])
@auth.role_required(*EVERYONE)
def change_passphrase() -> str | BaseResponse | tuple[str, int]:
    user = auth.signed_in_user()
    form = ChangePassphraseForm()
    problems: list[str] = []
    if form.validate_on_submit():
        db = db_session()
        opened = auth.open_session()
        try:
            accounts.change_passphrase(
                db,
                get_keyring(),
                user,
                opened.user_key,
                form.current.data or "",
                form.passphrase.data or "",
            )
        except SignInRefused:
            db.commit()  # the failure count and the journal line
            problems = [_("Your current secret phrase is not right.")]
        except Throttled as e:
            db.commit()
            problems = [too_many_attempts(e.retry_after)]
        except PolicyError as e:
            problems = passphrase_problems(e.problems)
        else:
            # Whoever knew the old passphrase is signed out everywhere else.
            sessions.end_all(db, user.id, keep=opened.row.id)
            db.commit()
            flash(_("Your secret phrase is changed. Other sessions were ended."), "success")
            return redirect(url_for("account.index"))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "account/passphrase.html",
        form=form,
        problems=problems,
        suggestion=generate_passphrase(),
    ), status


@bp.post("/deconnexion-partout")
@auth.role_required(*EVERYONE)
def sign_out_everywhere() -> BaseResponse:
    if not EmptyForm().validate_on_submit():
        abort(400)
    user = auth.signed_in_user()
    get_locale()  # the goodbye below in the person's language, chosen before the session ends
    db = db_session()
    sessions.end_all(db, user.id)
    journal.append(db, vault_id=user.id, action="signout.everywhere", actor=user)
    auth.end_session()
    db.commit()
    flash(_("You are signed out on every device."), "info")
    response = redirect(url_for("auth.sign_in"))
    locale.forget_on_kiosk(response)
    return response
