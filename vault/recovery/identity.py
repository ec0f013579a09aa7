"""What a recovery officer records and searches: identity checks, never documents.

An officer sees identity data only (names, usernames, prison numbers) and
records which kind of ID document they saw, when, and its last 4 characters,
sealed to the escrow public key: no copy of any document is ever kept.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import CryptoError, KeyPair, PublicKey, open_sealed, seal
from vault.accounts import search
from vault.core.envelope import escrow_identity_context
from vault.core.errors import owned_or_404
from vault.models import RecoveryRequest, Role, User

# Identity documents an officer may record (kind only, never a copy).
ID_DOCUMENTS = ("id_card", "passport", "residence_permit", "driving_licence", "other")


SEARCH_LIMIT = 20


@dataclass(frozen=True)
class IdentityCheck:
    """What an officer saw: the kind of ID document, its last 4 characters, the date.

    Text only: no copy of the document is ever taken or stored. The last 4
    characters identify a person's document: they are sealed to the escrow
    public key (`seal_last4`), never kept in clear.
    """

    document: str
    last4: str
    seen_on: date

    def to_text(self, officer: User) -> str:
        """The part kept in clear: the kind of document, the date, the officer."""
        return json.dumps(
            {
                "document": self.document,
                "seen_on": self.seen_on.isoformat(),
                "officer": str(officer.id),
            },
            sort_keys=True,
        )


def seal_last4(escrow: PublicKey, request: RecoveryRequest, last4: str) -> bytes:
    """The last 4 characters, readable only with the escrow secret (at `escrow recover`)."""
    return seal(escrow, last4.encode(), escrow_identity_context(request.id, request.user_id))


def open_last4(keypair: KeyPair, request: RecoveryRequest) -> str | None:
    """The last 4 characters an officer recorded, or None (older request, or unreadable)."""
    if request.identity_sealed is None:
        return None
    try:
        sealed = open_sealed(
            keypair, request.identity_sealed, escrow_identity_context(request.id, request.user_id)
        )
    except CryptoError:
        return None
    return sealed.decode()


def identity_of(request: RecoveryRequest) -> dict[str, str]:
    """The recorded identity check as plain strings (empty for a kit request)."""
    try:
        data = json.loads(request.identity_check or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def search_people(db: Session, query: str) -> list[User]:
    """Persons by name, username or prison number, for an officer (identity data only).

    The administrators' rule and indexes (vault.accounts.search).
    """
    needle = query.strip()
    if len(needle) < 2:
        return []
    return list(
        db.execute(
            select(User)
            .where(User.role == Role.PERSON, User.id.in_(search.matching_ids(db, needle)))
            .order_by(User.display_name)
            .limit(SEARCH_LIMIT)
        ).scalars()
    )


def escrow_person(db: Session, person_id: uuid.UUID) -> User:
    """A person an officer may open an escrow request for (404 for anything else)."""
    person = owned_or_404(db, User, person_id, role=Role.PERSON)
    return person
