"""The administrators' overview page (counts only: vault.overview.service)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from vault.accounts import auth
from vault.accounts.labels import ROLE_LABELS
from vault.core.db import db_session
from vault.models import Role
from vault.models.base import utcnow
from vault.overview import service

bp = Blueprint("overview", __name__, url_prefix="/admin/tableau-de-bord")

STATUS_LABELS: dict[str, LazyString] = {
    "pending": _l("Waiting for activation"),
    "active": _l("Active"),
    "disabled": _l("Disabled"),
}
LIFECYCLE_LABELS: dict[str, LazyString] = {
    "detained": _l("Detained"),
    "transferred": _l("Transferred"),
    "released": _l("Released"),
    "closed": _l("Closed"),
}
JOB_LABELS: dict[str, LazyString] = {
    "retention": _l("Retention notices and deletions"),
    "shares": _l("Keys of ended shares"),
    "links": _l("Keys of expired links"),
    "activations": _l("Expired activation codes"),
    "sessions": _l("Expired sessions"),
    "storage": _l("Storage clean-up"),
}


@bp.get("/")
@auth.role_required(Role.ADMINISTRATOR)
def index() -> str:
    figures = service.overview(db_session(), today=utcnow().date())
    return render_template(
        "overview/index.html",
        o=figures,
        roles=[(role.value, ROLE_LABELS[role]) for role in Role],
        statuses=STATUS_LABELS,
        steps=LIFECYCLE_LABELS,
        job_labels=JOB_LABELS,
    )
