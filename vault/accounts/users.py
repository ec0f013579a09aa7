"""Finding accounts by their username, and choosing a free one for a new account."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vault.models import Role, User


def find_user(db: Session, username: str) -> User | None:
    name = username.strip().casefold()
    if not name or len(name) > 64:
        return None
    return db.execute(select(User).where(func.lower(User.username) == name)).scalar_one_or_none()


def make_username(db: Session, first: str, last: str = "") -> str:
    """A readable, unique, ASCII username: "prenom.nom", then "prenom.nom2"..."""

    def fold(text: str) -> str:
        ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        return re.sub(r"[^a-z0-9]+", "", ascii_text.lower())

    base = ".".join(part for part in (fold(first), fold(last)) if part)[:40] or "compte"
    candidate, n = base, 1
    while db.execute(select(User.id).where(User.username == candidate)).first():
        n += 1
        candidate = f"{base}{n}"
    return candidate


# Two administrators opening "Camille Martin" at once both see the name free;
# the second insert fails on the unique index and tries the next suffix.
USERNAME_ATTEMPTS = 20


def insert_with_free_username(
    db: Session, user: User, username: str | None, first: str, last: str
) -> None:
    """Insert `user` under `username`, or the first free name made from first and last.

    Each try runs in a savepoint, so a name taken meanwhile by another
    transaction undoes only that insert. An explicit `username` is not changed.
    """
    for attempt in range(1, USERNAME_ATTEMPTS + 1):
        user.username = username or make_username(db, first, last)
        try:
            with db.begin_nested():
                db.add(user)
                db.flush()
        except IntegrityError:
            if username is not None or attempt == USERNAME_ATTEMPTS:
                raise
        else:
            return


def administrators_exist(db: Session) -> bool:
    return (
        db.execute(select(User.id).where(User.role == Role.ADMINISTRATOR).limit(1)).first()
        is not None
    )
