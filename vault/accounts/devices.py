"""Device marks: browsers where a user signed in before are throttled apart.

After a successful sign-in the browser keeps a mark for that user:
HMAC(secret key, user id), unforgeable without the secret and meaningless to
anyone reading the cookie. Failed sign-ins from browsers without the user's
mark count in one bucket, those from marked browsers in another, so a
co-detainee typing wrong phrases on another terminal slows only themselves
(docs/architecture.md §6: no lock-out). A shared kiosk holds the marks of everyone who
signed in there; that is the residual case.
"""

from __future__ import annotations

import hmac

from flask import Request, current_app
from werkzeug.wrappers import Response

from vault.core.envelope import device_mark
from vault.core.extensions import get_settings
from vault.models import User

MAX_MARKS = 8
MARK_DAYS = 365


def cookie_name() -> str:
    return "__Host-vault-device" if get_settings().production else "vault-device"


def _mark(user: User) -> str:
    return device_mark(str(current_app.config["SECRET_KEY"]).encode(), user.id)


def _marks(request: Request) -> list[str]:
    raw = request.cookies.get(cookie_name(), "")
    return [m for m in raw.split(".") if len(m) == 32][:MAX_MARKS]


def is_trusted(request: Request, user: User) -> bool:
    mark = _mark(user)
    return any(hmac.compare_digest(mark, m) for m in _marks(request))


def remember(request: Request, response: Response, user: User) -> None:
    """Add `user`'s mark to the browser's (most recent first, a few at most)."""
    mark = _mark(user)
    marks = [mark] + [m for m in _marks(request) if m != mark]
    secure = get_settings().production
    response.set_cookie(
        cookie_name(),
        ".".join(marks[:MAX_MARKS]),
        max_age=MARK_DAYS * 24 * 3600,
        secure=secure,
        httponly=True,
        samesite="Lax",
        path="/",
    )
