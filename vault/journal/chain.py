"""The journal's canonical form and chain hash: one definition for the app and the verifier.

Pure standard library on purpose: `vault export verify` recomputes the chain of
an exported journal on any machine, without the app, its database or
SQLAlchemy, and must hash exactly as `vault.journal.service.append` did.

An event's hash is SHA-256 of the previous event's hash (hex, ASCII) followed
by the JSON of its `CHAIN_FIELDS`: keys sorted, no spaces, UTF-8. The first
event of a chain follows `GENESIS`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

GENESIS = "0" * 64
# The fields of an event that its hash covers, as they appear in the canonical JSON.
CHAIN_FIELDS = ("seq", "time", "vault", "actor", "role", "action", "document", "outcome", "details")


def canonical(fields: Mapping[str, Any]) -> bytes:
    """The bytes an event's hash covers: its `CHAIN_FIELDS` (others ignored) as canonical JSON."""
    body = {name: fields.get(name) for name in CHAIN_FIELDS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, fields: Mapping[str, Any]) -> str:
    """The hash of the event `fields` that follows the event hashed `prev_hash`."""
    return hashlib.sha256(prev_hash.encode() + canonical(fields)).hexdigest()
