"""Every associated-data label and key-wrapping convention of the vault, in one table.

A key or a ciphertext is bound to its row by the associated data it was sealed
with: move a wrapped key to another row, another vault or another version and
it no longer opens. The bytes below are stored data's contract: each builder
must keep returning exactly what the code before it wrote (the known-answer
test in ``tests/unit/core/test_envelope.py`` pins every one), and no label may
be a prefix of another (also tested), so that no two builders can ever produce
the same bytes.

``crypto/`` owns its own labels (key derivation, the seal, the ring); these are
the application's, one per place a key or a ciphertext is bound to a row.

Typed keys (``NewType``) let mypy catch swapped arguments: a function that
wants a vault key does not accept a document's data key.

Decision D-062 in docs/decisions.md.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime
from typing import NewType

from crypto import blob_aad

VaultKey = NewType("VaultKey", bytes)
"""A person's vault key: it wraps every data key of their documents."""

DataKey = NewType("DataKey", bytes)
"""One document version's data encryption key (DEK)."""

LinkKey = NewType("LinkKey", bytes)
"""The key derived from an external link's token."""

UserKey = NewType("UserKey", bytes)
"""An account's user key, wrapped by its passphrase slots."""


# label -> where it binds. The order is the documentation's (docs/architecture.md §2.3).
LABELS: dict[str, bytes] = {
    "slot": b"vault/slot|",
    "escrow": b"escrow|",
    "session": b"vault/session|",
    "meta": b"vault/meta|",
    "dek": b"vault/dek|",
    "version_dek": b"vault/version-dek|",
    "title_index": b"vault/title-index|",
    "share": b"vault/share|",
    "deposit": b"vault/deposit|",
    "deposit_dek": b"vault/deposit-dek|",
    "request_message": b"vault/request-message|",
    "escrow_identity": b"vault/escrow-identity|",
    "journal_head": b"vault/journal-head|",
    "link": b"vault/link|",
    "link_key": b"vault/link-key|",
    "link_id": b"vault/link-id|",
    "device": b"vault/device|",
    "limit": b"limit|",
    "signin_throttle": b"vault/signin-throttle",
    "cv_draft": b"vault/cv-draft|",
}

PREVIEW_SUFFIX = b"|preview"
"""Appended to a blob's associated data for its preview (a preview is not the document)."""


def _u32(value: int) -> bytes:
    return value.to_bytes(4, "big")


# --- accounts ---------------------------------------------------------------------------


def slot_aad(user_id: uuid.UUID, kind: str) -> bytes:
    """A passphrase slot (or recovery slot) of an account's user key."""
    return LABELS["slot"] + user_id.bytes + b"|" + kind.encode()


def escrow_context(user_id: uuid.UUID) -> bytes:
    """The HPKE context of a user key sealed for the escrow."""
    return LABELS["escrow"] + user_id.bytes


SESSION_USER_KEY = b"key"
"""What a session row wraps under its cookie's key: the account's user key..."""
SESSION_PENDING = b"pending"
"""...and what waits between two steps of a form (an activation, a recovery)."""


def session_aad(row_id: str, what: bytes) -> bytes:
    """A key held by a session row (`what`: SESSION_USER_KEY or SESSION_PENDING)."""
    return LABELS["session"] + row_id.encode() + b"|" + what


def device_mark(secret_key: bytes, user_id: uuid.UUID) -> str:
    """The trusted-device mark a browser carries for an account (an HMAC, 32 hex)."""
    message = LABELS["device"] + user_id.bytes
    return hmac.new(secret_key, message, hashlib.sha256).hexdigest()[:32]


def limit_message(subject: str) -> bytes:
    """What the rate limiter's keyed hash covers: the subject typed, never stored."""
    return LABELS["limit"] + subject.encode()


THROTTLE_KEY_INFO = LABELS["signin_throttle"]
"""HKDF info of the sign-in throttle's HMAC key, derived from the app's secret key."""


# --- documents --------------------------------------------------------------------------


def meta_aad(vault_id: uuid.UUID, document_id: uuid.UUID) -> bytes:
    """A document's sealed metadata (title, type, name)."""
    return LABELS["meta"] + vault_id.bytes + document_id.bytes


def dek_aad(vault_id: uuid.UUID, document_id: uuid.UUID, version: int) -> bytes:
    """A version's data key wrapped under the vault key."""
    return LABELS["dek"] + vault_id.bytes + document_id.bytes + _u32(version)


def version_dek_aad(version_id: uuid.UUID) -> bytes:
    """A version's data key sealed under the server key ring."""
    return LABELS["version_dek"] + version_id.bytes


def content_aad(vault_id: uuid.UUID, document_id: uuid.UUID, version: int) -> bytes:
    """A document version's blob: crypto's own builder, named here beside the others."""
    return blob_aad(vault_id, document_id, version)


def preview_aad(vault_id: uuid.UUID, document_id: uuid.UUID, version: int) -> bytes:
    """A version's preview blob."""
    return blob_aad(vault_id, document_id, version) + PREVIEW_SUFFIX


def title_index_aad(vault_id: uuid.UUID) -> bytes:
    """A vault's sealed title index."""
    return LABELS["title_index"] + vault_id.bytes


# --- sharing ----------------------------------------------------------------------------


def share_until(expires_at: datetime | None) -> str:
    """The end of a share as its context binds it: ISO 8601, or "release" for "until release"."""
    return expires_at.isoformat() if expires_at else "release"


def share_context(
    share_id: uuid.UUID, document_id: uuid.UUID, counsellor_id: uuid.UUID, until: str
) -> bytes:
    """The HPKE context of a data key shared with a counsellor until `until` ("release" or ISO)."""
    return (
        LABELS["share"]
        + share_id.bytes
        + document_id.bytes
        + counsellor_id.bytes
        + b"|"
        + until.encode()
    )


DEPOSIT_META = b"meta"
"""A deposit's sealed metadata (title, file name), sealed for the person..."""
DEPOSIT_DEK = b"dek"
"""...and its data key, until the person's next request takes it in."""


def deposit_context(document_id: uuid.UUID, version: int, what: bytes) -> bytes:
    """The HPKE context of a counsellor's deposit (`what`: DEPOSIT_META or DEPOSIT_DEK)."""
    return LABELS["deposit"] + what + b"|" + document_id.bytes + _u32(version)


def deposit_dek_aad(document_id: uuid.UUID) -> bytes:
    """A deposit's data key under the server key ring, until the person accepts it."""
    return LABELS["deposit_dek"] + document_id.bytes


def request_message_context(request_id: uuid.UUID, reader_id: uuid.UUID) -> bytes:
    """The HPKE context of a request's message sealed for `reader_id`."""
    return LABELS["request_message"] + request_id.bytes + reader_id.bytes


def link_aad(link_id: uuid.UUID) -> bytes:
    """Every layer of an external link's key (also the ring rotation's)."""
    return LABELS["link"] + link_id.bytes


def link_key(token: str) -> LinkKey:
    """The key a link's token opens. The token is 256 random bits: a labelled hash is sound."""
    return LinkKey(hashlib.sha256(LABELS["link_key"] + token.encode()).digest())


def link_id(token: str) -> str:
    """The row id a link's token is looked up by (never the token itself)."""
    return hashlib.sha256(LABELS["link_id"] + token.encode()).hexdigest()


# --- recovery and journal ---------------------------------------------------------------


def escrow_identity_context(request_id: uuid.UUID, person_id: uuid.UUID) -> bytes:
    """The HPKE context of the identity proof attached to an escrow request."""
    return LABELS["escrow_identity"] + request_id.bytes + person_id.bytes


def journal_head_aad(vault_id: uuid.UUID, seq: int, digest: str) -> bytes:
    """A vault journal's sealed head (its last sequence number and hash)."""
    return LABELS["journal_head"] + vault_id.bytes + seq.to_bytes(8, "big") + digest.encode()


# --- CV and cover letter ----------------------------------------------------------------


def cv_draft_aad(vault_id: uuid.UUID, draft_id: uuid.UUID, kind: str) -> bytes:
    """A CV or cover-letter draft (`kind`) sealed under the vault key (D-131)."""
    return LABELS["cv_draft"] + vault_id.bytes + draft_id.bytes + b"|" + kind.encode()
