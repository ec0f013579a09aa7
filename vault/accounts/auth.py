"""Who is asking: the server-side session behind the cookie and the roles.

Flask-Login's request loader resumes the server session named by the cookie
(never a user id in the cookie alone); `g.open_session` keeps the session row
and the user key for the request. Views declare who may enter with
`@role_required(...)`; the authorization matrix test checks each route.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, abort, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import LoginManager, current_user
from werkzeug.wrappers import Response

from vault.accounts import sessions
from vault.accounts.sessions import OpenSession, SessionTicket
from vault.core import kiosk, locale
from vault.core.db import db_session
from vault.core.envelope import UserKey
from vault.core.extensions import get_settings
from vault.models import Role, User

F = TypeVar("F", bound=Callable[..., Any])

TOKEN, KEY = "t", "k"


def init_app(app: Flask) -> None:
    manager = LoginManager(app)
    manager.request_loader(_load_user)
    manager.unauthorized_handler(_unauthorized)
    # The session cookie is renewed at sign-in by clearing it (see sign_in);
    # Flask-Login's own "remember me" cookie is never used.
    manager.session_protection = None

    @app.after_request
    def forget_kiosk_language(response: Response) -> Response:
        # A session that timed out on a kiosk: its language goes with it (D-151).
        if g.get("session_expired"):
            locale.forget_on_kiosk(response)
        return response

    @app.context_processor
    def idle_context() -> dict[str, int | None]:
        # Read by base.html's countdown on kiosk networks (docs/kiosk.md).
        if not request or not current_user.is_authenticated:  # loads the session
            return {"idle_seconds_left": None}
        return {"idle_seconds_left": idle_seconds_left()}


def cookie_ticket(token_field: str = TOKEN, key_field: str = KEY) -> SessionTicket | None:
    """The session ticket the cookie holds under these names, if well formed."""
    token, key = session.get(token_field), session.get(key_field)
    if not isinstance(token, str) or not isinstance(key, str):
        return None
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        return None
    return SessionTicket(token, raw) if len(raw) == 32 else None


def _load_user(_request: object) -> User | None:
    ticket = cookie_ticket()
    if ticket is None:
        return None
    db = db_session()
    opened = sessions.resume(db, ticket)
    if opened is None:
        # Expired or ended elsewhere: forget the cookie and say so once.
        session.clear()
        g.session_expired = True
        db.commit()
        return None
    user = opened.row.user
    if not user.is_active:
        return None
    if opened.touched:
        db.commit()
    g.open_session = opened
    return user


def _unauthorized() -> Response:
    if g.get("session_expired"):
        flash(_("Your session has ended. Please sign in again."), "info")
    return redirect(url_for("auth.sign_in"))


def idle_minutes_for(address: str | None) -> int:
    """Shorter idle timeout on kiosk networks (shared terminals in detention)."""
    settings = get_settings()
    if kiosk.in_kiosk_networks(address, settings.kiosk_networks):
        return settings.kiosk_idle_minutes
    return settings.session_idle_minutes


def idle_seconds_left() -> int | None:
    """Seconds before the signed-in session's idle sign-out, or None when nobody is signed in.

    Counted from the session's own last_seen_at, as `sessions.resume` counts:
    the countdown a kiosk shows (static/js/idle.js) ends when the server's
    session does, not when the page was loaded (last_seen_at moves only every
    TOUCH_EVERY).
    """
    opened: OpenSession | None = g.get("open_session")
    if opened is None:
        return None
    return sessions.seconds_left(opened.row)


def begin_session(user: User, user_key: UserKey) -> OpenSession:
    """Start a fresh server session and a fresh cookie (session id renewed at sign-in)."""
    db = db_session()
    old = cookie_ticket()
    if old is not None:
        sessions.end(db, sessions.session_row_id(old.token))
    session.clear()
    ticket = sessions.start(
        db,
        user,
        user_key,
        idle_minutes=idle_minutes_for(request.remote_addr),
        absolute_hours=get_settings().session_absolute_hours,
    )
    session[TOKEN] = ticket.token
    session[KEY] = base64.b64encode(ticket.key).decode()
    opened = sessions.resume(db, ticket)
    assert opened is not None
    g.open_session = opened
    return opened


def end_session() -> None:
    ticket = cookie_ticket()
    if ticket is not None:
        sessions.end(db_session(), sessions.session_row_id(ticket.token))
    session.clear()


def current_ticket() -> SessionTicket:
    ticket = cookie_ticket()
    if ticket is None:
        abort(401)
    return ticket


def open_session() -> OpenSession:
    opened: OpenSession | None = g.get("open_session")
    if opened is None:
        abort(401)
    return opened


def signed_in_user() -> User:
    return cast(User, current_user._get_current_object())


def role_required(*roles: Role) -> Callable[[F], F]:
    """Signed in (else to the sign-in page) with one of `roles` (else 403)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return _unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorator


HOME_BY_ROLE = {
    Role.PERSON: "documents.index",
    Role.COUNSELLOR: "counsellor.index",
    Role.ADMINISTRATOR: "admin.index",
    Role.RECOVERY_OFFICER: "recovery.officer_index",
}


def home_url(user: User) -> str:
    return url_for(HOME_BY_ROLE.get(Role(user.role), "account.index"))
