"""The person's side of release: my release (checklist, retention), closing my vault."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from vault.accounts import auth
from vault.accounts import service as accounts
from vault.core.catalog import TYPE_CATEGORY
from vault.core.db import db_session
from vault.core.errors import SignInRefused, Throttled
from vault.core.extensions import get_keyring, get_settings, get_store
from vault.core.messages import too_many_attempts
from vault.core.throttle import HashingBusy
from vault.documents import service as documents
from vault.documents.opened import unlocked_vault
from vault.lifecycle import checklist, closing, retention
from vault.lifecycle import service as lifecycle
from vault.lifecycle.forms import CloseVaultForm
from vault.lifecycle.views.common import bp, today
from vault.models import Lifecycle, Role
from vault.sharing import service as sharing


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
    owner = unlocked_vault()
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
    owner = unlocked_vault()
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
    except HashingBusy:
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
