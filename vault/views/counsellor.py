"""The counsellor's home: the people they follow (sharing comes with assignments)."""

from __future__ import annotations

from flask import Blueprint, render_template

from vault import auth
from vault.models import Role

bp = Blueprint("counsellor", __name__, url_prefix="/suivi")


@bp.get("/")
@auth.role_required(Role.COUNSELLOR)
def index() -> str:
    return render_template("counsellor/index.html", people=[])
