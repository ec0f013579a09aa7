"""The language stored on an account (D-152): the switcher's choice follows the person.

Services flush; the view commits.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from vault.core.languages import BY_CODE
from vault.models import User


class UnknownLanguage(ValueError):
    """A code that is not in the registry (vault.core.languages)."""


def choose(db: Session, user: User, code: str) -> None:
    """Store `code` as `user`'s language, for every page and sheet addressed to them."""
    if code not in BY_CODE:
        raise UnknownLanguage(code)
    if user.locale != code:
        user.locale = code
        db.flush()


def adopt_device_choice(db: Session, user: User, code: str | None) -> bool:
    """At sign-in: the device's explicit choice becomes the account's if it has none yet.

    Afterwards the account's choice wins on every device (vault.core.locale).
    """
    if user.locale in BY_CODE or code not in BY_CODE:
        return False
    choose(db, user, code)
    return True
