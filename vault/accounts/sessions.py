"""Server-side sessions (docs/architecture.md §2.2).

The browser's cookie holds a random token and a random per-session key. The
server stores the SHA-256 of the token and the user key encrypted under the
per-session key: neither half alone reveals the user key, and deleting the row
(sign-out, expiry, "sign out everywhere", passphrase change) destroys it.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session, joinedload

from crypto import CryptoError, unwrap_key, wrap_key
from vault.core.envelope import SESSION_PENDING, SESSION_USER_KEY, UserKey, session_aad
from vault.models import ServerSession, User
from vault.models.base import utcnow

# Writing last_seen on every request would make every page a write; a minute
# of imprecision on a 10-minute idle timeout is acceptable.
TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True)
class SessionTicket:
    """What the cookie carries."""

    token: str
    key: bytes


def session_row_id(token: str) -> str:
    """The row id of the session a cookie's token opens (its SHA-256: never the token)."""
    return hashlib.sha256(token.encode()).hexdigest()


def start(
    db: Session,
    user: User,
    user_key: UserKey,
    *,
    idle_minutes: int,
    absolute_hours: int,
    now: datetime | None = None,
) -> SessionTicket:
    """Open a session for `user` holding `user_key`; return the cookie's half."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    key = secrets.token_bytes(32)
    row_id = session_row_id(token)
    db.add(
        ServerSession(
            id=row_id,
            user_id=user.id,
            sealed_key=wrap_key(key, user_key, session_aad(row_id, SESSION_USER_KEY)),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=absolute_hours),
            idle_minutes=idle_minutes,
        )
    )
    db.flush()
    return SessionTicket(token, key)


@dataclass
class OpenSession:
    row: ServerSession
    user_key: UserKey
    # True when this request wrote last_seen_at (the caller then commits).
    touched: bool = False


def resume(
    db: Session, ticket: SessionTicket, *, now: datetime | None = None
) -> OpenSession | None:
    """The live session for `ticket`, or None (unknown, expired, idle, tampered).

    An expired or idle session is deleted on the way.
    """
    now = now or utcnow()
    # The user (with establishment and profile) comes in the same query:
    # every signed-in request needs both.
    row = db.get(
        ServerSession, session_row_id(ticket.token), options=[joinedload(ServerSession.user)]
    )
    if row is None:
        return None
    if now >= row.expires_at or now - row.last_seen_at > timedelta(minutes=row.idle_minutes):
        db.delete(row)
        db.flush()
        return None
    try:
        user_key = UserKey(
            unwrap_key(ticket.key, row.sealed_key, session_aad(row.id, SESSION_USER_KEY))
        )
    except (CryptoError, ValueError):
        return None
    touched = now - row.last_seen_at > TOUCH_EVERY
    if touched:
        row.last_seen_at = now
        db.flush()
    return OpenSession(row, user_key, touched)


def seconds_left(row: ServerSession, *, now: datetime | None = None) -> int:
    """Seconds before `row` ends for idleness or age, rounded up (0 once ended).

    Rounded up so that a countdown shown from it never ends before the
    server's session does (docs/kiosk.md).
    """
    now = now or utcnow()
    idle_end = row.last_seen_at + timedelta(minutes=row.idle_minutes)
    left = min(idle_end, row.expires_at) - now
    return max(0, math.ceil(left.total_seconds()))


def keep_alive(db: Session, row: ServerSession, *, now: datetime | None = None) -> None:
    """The person says they are still there: the idle time starts again now."""
    row.last_seen_at = now or utcnow()
    db.flush()


def end(db: Session, row_id: str) -> None:
    db.execute(delete(ServerSession).where(ServerSession.id == row_id))
    db.flush()


def end_all(db: Session, user_id: uuid.UUID, *, keep: str | None = None) -> int:
    """End every session of `user_id` (but `keep`); return how many ended."""
    query = delete(ServerSession).where(ServerSession.user_id == user_id)
    if keep is not None:
        query = query.where(ServerSession.id != keep)
    count = cast(CursorResult[Any], db.execute(query)).rowcount
    db.flush()
    return int(count or 0)


def count_for(db: Session, user_id: uuid.UUID) -> int:
    return len(db.execute(select(ServerSession.id).where(ServerSession.user_id == user_id)).all())


def purge_expired(db: Session, *, now: datetime | None = None) -> int:
    now = now or utcnow()
    result = db.execute(delete(ServerSession).where(ServerSession.expires_at <= now))
    count = cast(CursorResult[Any], result).rowcount
    db.flush()
    return int(count or 0)


def set_pending(row: ServerSession, ticket: SessionTicket, data: dict[str, Any]) -> None:
    """Keep short-lived secrets (a code to print) for this session only, encrypted."""
    row.pending = wrap_key(
        ticket.key, json.dumps(data).encode(), session_aad(row.id, SESSION_PENDING)
    )


def get_pending(row: ServerSession, ticket: SessionTicket) -> dict[str, Any]:
    if not row.pending:
        return {}
    try:
        data: dict[str, Any] = json.loads(
            unwrap_key(ticket.key, row.pending, session_aad(row.id, SESSION_PENDING))
        )
    except (CryptoError, ValueError):
        return {}
    return data
