"""The sign-in throttle's secret: the HMAC key its rows are keyed by.

Derived here, in core, because the app factory binds it to every database
session (`vault.core.db.Database(info=...)`) before any feature is loaded;
the throttling rules themselves belong to the accounts feature.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vault.core.envelope import THROTTLE_KEY_INFO


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
