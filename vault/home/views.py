"""Home page and the readiness probe."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template
from flask_login import current_user
from sqlalchemy import text
from werkzeug.wrappers import Response as BaseResponse

from vault.accounts import auth
from vault.core.db import db_session
from vault.core.extensions import get_store
from vault.core.monitoring import HEALTH_PROBE_KEY

bp = Blueprint("main", __name__)


@bp.get("/")
def home() -> str | BaseResponse:
    if current_user.is_authenticated:
        return redirect(auth.home_url(auth.signed_in_user()))
    return render_template("main/home.html")


@bp.get("/health")
def health() -> Response:
    """Readiness: the database answers and the blob store is reachable (else 503)."""
    db_session().execute(text("SELECT 1"))
    get_store().exists(HEALTH_PROBE_KEY)
    return Response("ok\n", mimetype="text/plain")
