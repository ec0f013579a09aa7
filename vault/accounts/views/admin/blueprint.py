"""The administrators' blueprint and what its route modules share."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort
from sqlalchemy.orm import Session

from vault.models import User

bp = Blueprint("admin", __name__, url_prefix="/admin")


def get_user(db: Session, user_id: uuid.UUID) -> User:
    user = db.get(User, user_id)
    if user is None:
        abort(404)
    return user
