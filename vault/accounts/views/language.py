"""The language switcher's target: every page's header posts here (templates/base.html)."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from vault.accounts import auth
from vault.accounts import language as languages
from vault.core import locale
from vault.core.addresses import local_path
from vault.core.db import db_session
from vault.core.error_pages import render_error
from vault.core.forms import EmptyForm

bp = Blueprint("language", __name__)


@bp.post("/langue")
def choose() -> BaseResponse | tuple[str, int]:
    """Remember the language on this device and, signed in, on the account; back to the page.

    Anyone may choose, signed in or not (the kiosk before sign-in). A code
    outside the registry or a `next` leading off the site is refused whole:
    nothing is stored and the person reads why.
    """
    if not EmptyForm().validate_on_submit():
        abort(400)
    code = locale.registered(request.form.get("lang"))
    if code is None:
        title = _l("Unknown language")
        message = _l("This language is not offered. Nothing was changed.")
        return render_error(400, title, message), 400
    raw_next = request.form.get("next") or "/"
    target = local_path(raw_next)
    if target is None:
        title = _l("Address refused")
        message = _l("This address is not a page of the vault. Nothing was changed.")
        return render_error(400, title, message), 400
    if current_user.is_authenticated:
        db = db_session()
        languages.choose(db, auth.signed_in_user(), code)
        db.commit()
    response = redirect(target, code=303)
    locale.remember(response, code)
    return response
