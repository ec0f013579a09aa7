"""Administrators off-board staff: disabling an account at once, enabling it again."""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response as BaseResponse

from vault.accounts import auth
from vault.accounts import service as accounts
from vault.accounts.views.admin.blueprint import bp, get_user
from vault.core.db import db_session
from vault.core.forms import EmptyForm
from vault.models import Role


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
    user = get_user(db, user_id)
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
    user = get_user(db, user_id)
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
