"""The administrators' blueprint and what its route modules share."""

from __future__ import annotations

import uuid

from flask import Blueprint
from sqlalchemy.orm import Session

from vault.core.errors import owned_or_404
from vault.models import User

bp = Blueprint("admin", __name__, url_prefix="/admin")


def get_user(db: Session, user_id: uuid.UUID) -> User:
    user = owned_or_404(db, User, user_id)
    return user
