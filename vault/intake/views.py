"""Administrators' intake page: upload an establishment's list, read the report, print the sheets.

The same plan and services as `vault intake import` (docs/intake.md). The file
is read from the request stream into memory (never a temporary file,
vault/core/http.py), within csvfile.MAX_BYTES; the view is exempt from the
automatic CSRF check and runs the same check on the fields sent before the file.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, abort, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response as BaseResponse

from vault.accounts import auth, sheets
from vault.core.db import db_session
from vault.core.extensions import get_escrow_key, get_keyring, get_settings
from vault.core.http import StreamingUpload, UploadError, check_csrf
from vault.documents.sending import send_sheet
from vault.intake import keysource, messages
from vault.intake import service as intake
from vault.intake.csvfile import MAX_BYTES, MAX_LINES, FileRefused
from vault.intake.service import LineReport
from vault.models import AccountStatus, Role, User
from vault.models.base import utcnow

bp = Blueprint("intake", __name__, url_prefix="/admin/import")

UPLOAD_ERRORS = {
    "too_large": "too_large",
    "empty": "empty",
    "missing_file": "empty",
}


def _page(
    reports: list[LineReport] | None = None,
    error: str | None = None,
    *,
    dry_run: bool = False,
    status: int = 200,
) -> tuple[str, int]:
    counts = intake.summary(reports or [])
    return (
        render_template(
            "intake/import.html",
            reports=reports,
            counts=counts,
            error=error,
            dry_run=dry_run,
            outcome_label=lambda outcome: str(messages.OUTCOMES[outcome]),
            reason_text=messages.report_text,
            max_mb=MAX_BYTES // (1024 * 1024),
            max_lines=MAX_LINES,
            sheets_count=sum(1 for r in reports or [] if r.activation_code),
        ),
        status,
    )


def _read_file() -> tuple[bytes, dict[str, str]]:
    """The file's bytes and the fields sent with it; UploadError or CSRFError."""
    upload = StreamingUpload.from_request(request, max_file_bytes=MAX_BYTES)
    check_csrf(upload)
    part = upload.require_file()
    data = b"".join(part.chunks())
    upload.finish()
    return data, upload.fields


@bp.get("/")
@auth.role_required(Role.ADMINISTRATOR)
def form() -> tuple[str, int]:
    return _page()


@bp.post("/")
@auth.role_required(Role.ADMINISTRATOR)
def upload() -> tuple[str, int] | BaseResponse:
    try:
        data, fields = _read_file()
    except UploadError as e:
        code = UPLOAD_ERRORS.get(e.code, "unreadable")
        status = 413 if code == "too_large" else 400
        return _page(error=messages.file_error_text(FileRefused(code)), status=status)
    dry_run = fields.get("dry_run") == "1"
    db = db_session()
    today = utcnow().date()
    try:
        the_plan = intake.plan(db, data, today=today)
    except FileRefused as e:
        return _page(error=messages.file_error_text(e), dry_run=dry_run, status=400)
    by = auth.signed_in_user()
    settings = get_settings()
    ctx = intake.Context(
        get_keyring(),
        get_escrow_key(),
        by,
        settings.activation_days,
        settings.counsellor_grace_days,
        today,
    )
    if dry_run:
        reports = the_plan.reports()
    else:
        reports = sorted(
            [*the_plan.refused, *intake.apply(db, the_plan, ctx, keysource.in_process())],
            key=lambda r: r.number,
        )
    intake.journal_import(db, ctx, intake.summary(reports), dry_run=dry_run)
    new = [(str(r.user_id), r.activation_code) for r in reports if r.activation_code]
    if new:
        sheets.remember_batch(new)
    try:
        db.commit()
    except SQLAlchemyError:
        db.rollback()
        return _page(
            error=_("Nothing was saved: the database did not answer. Try again."), status=503
        )
    return _page(reports, dry_run=dry_run)


@bp.get("/feuilles-activation.pdf")
@auth.role_required(Role.ADMINISTRATOR)
def activation_sheets() -> Response:
    pairs = sheets.remembered_batch()
    db = db_session()
    ids = [uuid.UUID(user_id) for user_id, _code in pairs]
    users = {u.id: u for u in db.execute(select(User).where(User.id.in_(ids))).scalars()}
    # Only accounts still waiting for their first sign-in: a used code prints nothing.
    ready = [
        (users[uid], code)
        for uid, (_user_id, code) in zip(ids, pairs, strict=True)
        if uid in users and users[uid].status == AccountStatus.PENDING
    ]
    if not ready:
        abort(404)
    return send_sheet(sheets.activation_sheets(ready), "feuilles-activation.pdf")
