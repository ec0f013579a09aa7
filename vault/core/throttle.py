"""Slowing down whoever guesses secrets: per-name delays and a bound on Argon2id runs.

Two throttles, both shared by every feature that checks a secret (sign-in,
activation, a passphrase change, a recovery code, a link's PIN):

- Failures are counted per typed username (or account), in one database row
  keyed by an HMAC, with growing delays and no hard lock-out: a co-detainee
  must not be able to lock a person out. The rows are locked through the
  Argon2id run, so parallel guesses cannot share one free attempt.
- Each Argon2id run takes 64 MiB and a few tenths of a second of CPU: a
  process runs a few at once at most (`hashing_slot`), and a flood gets
  `HashingBusy` (a "try again" page) rather than exhausting a worker's memory.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.core.envelope import THROTTLE_KEY_INFO
from vault.core.errors import Throttled
from vault.models import SignInThrottle

# --- Argon2id runs per process ------------------------------------------------------------

# Process-wide by nature (it bounds this process's memory), hence module level.
_HASHING = threading.BoundedSemaphore(2)

# A flood of sign-ins waits at most this long for a hashing slot, then gets a
# "try again" page rather than holding every worker thread.
HASHING_WAIT_SECONDS = 20


class HashingBusy(Exception):
    """Too many passphrase checks at once in this process; try again shortly."""


@contextmanager
def hashing_slot() -> Iterator[None]:
    """Hold one of the process's few Argon2id slots; HashingBusy if none frees up in time."""
    if not _HASHING.acquire(timeout=HASHING_WAIT_SECONDS):
        raise HashingBusy()
    try:
        yield
    finally:
        _HASHING.release()


# --- failures per typed name --------------------------------------------------------------

FREE_FAILURES = 3
MAX_DELAY_SECONDS = 300

# Failures older than this are forgotten: a person is never held back by an
# attack that stopped.
FORGET_AFTER = timedelta(hours=1)


def derive_throttle_secret(secret_key: str) -> bytes:
    """The HMAC key of throttle rows, derived from the app's secret key (VAULT_SECRET_KEY).

    Not the server key ring: its keys never leave crypto's KeyRing, and a ring
    rotation (routine, to re-wrap rows) should not reset every throttle. A new
    secret key already ends every session; it also starts throttling afresh,
    which is harmless (failures are forgotten after an hour anyway).
    """
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=THROTTLE_KEY_INFO).derive(
        secret_key.encode()
    )


def throttle_secret(db: Session) -> bytes:
    """The throttle HMAC key bound to this session (by `vault.core.db.db_session`)."""
    secret = db.info.get("throttle_secret")
    if not isinstance(secret, bytes):
        raise RuntimeError("the session carries no throttle secret (use vault.core.db.db_session)")
    return secret


def throttle_key(secret: bytes, scope: str, username: str, bucket: str = "untrusted") -> str:
    """The throttle row of one typed username, in one scope and bucket.

    A keyed HMAC, not a plain hash: what people type as a username (sometimes
    their passphrase, by mistake) must not be recoverable from a database dump
    by hashing guesses.

    Buckets: browsers where this user signed in before carry a device mark
    (see vault/accounts/devices.py) and are throttled apart from every other
    browser, so a co-detainee typing wrong phrases elsewhere cannot lock the
    owner out.
    """
    name = username.strip().casefold()
    message = f"{scope}|{bucket}|{name}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def delay_after(failures: int) -> int:
    """Seconds to wait after `failures` consecutive failures: 0, 0, 0, 2, 4, 8... 300."""
    if failures <= FREE_FAILURES:
        return 0
    return int(min(2 ** (failures - FREE_FAILURES), MAX_DELAY_SECONDS))


def lock_throttle(db: Session, key: str, now: datetime) -> SignInThrottle:
    """The throttle row of `key`, created if needed and locked until the transaction ends.

    Holding the lock through the Argon2id run serialises attempts on one
    username, so parallel guesses cannot all pass one free slot, and no
    failure is lost to a read-modify-write race.
    """
    table = SignInThrottle  # the mapped class works as an insert target
    values = {"key": key, "failures": 0, "last_failure_at": now}
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        db.execute(pg_insert(table).values(**values).on_conflict_do_nothing())
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        db.execute(sqlite_insert(table).values(**values).on_conflict_do_nothing())
    row = db.execute(
        select(SignInThrottle)
        .where(SignInThrottle.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if row.failures and now - row.last_failure_at > FORGET_AFTER:
        row.failures = 0
    return row


def check_throttle(row: SignInThrottle, now: datetime) -> None:
    """Raise Throttled while the row's last failure is younger than its delay."""
    if not row.failures:
        return
    wait = row.last_failure_at + timedelta(seconds=delay_after(row.failures)) - now
    if wait > timedelta(0):
        raise Throttled(int(wait.total_seconds()) + 1)


def count_failure(row: SignInThrottle, now: datetime) -> None:
    """One more failure on a locked row (the caller flushes or commits)."""
    row.failures += 1
    row.last_failure_at = now
