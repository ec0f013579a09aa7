"""Deposits: a counsellor or an administrator adds a document to a person's vault.

The file is encrypted while it streams in and sealed to the vault's public key
(vault.documents.deposits): once the request ends, the depositor can no longer
open it, unless the person shares it with them. Like the person's own upload,
it goes through the one intake (vault.documents.intake): the same streaming,
the same full CSRF check, cleaned title, sniffed type and quota under a lock.
"""

from __future__ import annotations

import logging
import uuid

from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from vault.access.assignments import active_assignment
from vault.accounts import auth
from vault.core.catalog import CATEGORIES, DOCUMENT_TYPES, OTHER_TYPE, preselected
from vault.core.db import db_session
from vault.core.errors import owned_or_404
from vault.core.extensions import get_keyring, get_settings, get_store
from vault.core.forms import DocumentDetailsForm
from vault.documents.intake import Intake, IntakeRefused
from vault.documents.views.library import ACCEPT, UPLOAD_MESSAGES, after_upload, upload_limits
from vault.models import Lifecycle, Role, User

log = logging.getLogger(__name__)

bp = Blueprint("deposits", __name__, url_prefix="/depots")

# The person's upload messages, except where the depositor is not the owner.
MESSAGES = UPLOAD_MESSAGES | {
    "quota": lambda: _("This person's vault is full. Nothing was deposited."),
}


def _target(db: Session, depositor: User, person_id: uuid.UUID) -> User:
    """The person whose vault receives the deposit; 404 unless the depositor may deposit."""
    person = owned_or_404(db, User, person_id, role=Role.PERSON)
    # A closed vault has lost its keys: nobody could ever open a deposit there.
    if person.profile is not None and person.profile.lifecycle == Lifecycle.CLOSED:
        abort(404)
    if depositor.role == Role.COUNSELLOR and active_assignment(db, person.id, depositor.id) is None:
        abort(404)
    return person


def _back_url(depositor: User, person: User) -> str:
    if depositor.role == Role.COUNSELLOR:
        return url_for("counsellor.person", person_id=person.id)
    return url_for("admin.account", user_id=person.id)


def _render(person: User, form: DocumentDetailsForm, errors: list[str] | None = None) -> str:
    depositor = auth.signed_in_user()
    return render_template(
        "deposits/add.html",
        person=person,
        form=form,
        errors=errors or [],
        accept=ACCEPT,
        max_mb=get_settings().max_upload_bytes // (1024 * 1024),
        categories=CATEGORIES,
        document_types=DOCUMENT_TYPES,
        other_types=OTHER_TYPE,
        back_url=_back_url(depositor, person),
    )


@bp.get("/<uuid:person_id>")
@auth.role_required(Role.COUNSELLOR, Role.ADMINISTRATOR)
def form(person_id: uuid.UUID) -> str:
    person = _target(db_session(), auth.signed_in_user(), person_id)
    details = DocumentDetailsForm(formdata=None)
    # A requested type brings its category: the intake would otherwise file it
    # as the "other" type of whatever category was checked (D-080).
    details.category.data, details.doc_type.data = preselected(
        request.args.get("type", ""), request.args.get("categorie", "")
    )
    return _render(person, details)


@bp.post("/<uuid:person_id>")
@auth.role_required(Role.COUNSELLOR, Role.ADMINISTRATOR)
def upload(person_id: uuid.UUID) -> BaseResponse | tuple[str, int]:
    db = db_session()
    depositor = auth.signed_in_user()
    person = _target(db, depositor, person_id)
    details = DocumentDetailsForm(meta={"csrf": False}, formdata=None)
    try:
        intake = Intake.open(request, db, get_store(), get_keyring(), person.id, upload_limits())
        # The details come before the file: checked before a byte is stored.
        intake.read_details(details)
        intake.receive_file()
        document = intake.deposit(depositor, person)
    # NotFound (the assignment ended between the check above and now) is the
    # core handler's 404.
    except IntakeRefused as refused:
        db.rollback()
        return _render(person, details, [MESSAGES[refused.code]()]), refused.status
    intake.commit()
    log.info("deposit %s into vault %s by %s", document.id, person.id, depositor.id)
    flash(
        _(
            "The document is deposited in the vault of %(name)s. You cannot open it: "
            "only %(name)s can, and they may share it with you.",
            name=person.display_name,
        ),
        "success",
    )
    return after_upload(_back_url(depositor, person))
