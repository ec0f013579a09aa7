"""Roles of the authorization matrix and shorthands for their expected answers."""

from __future__ import annotations

ANONYMOUS, OWNER, OTHER, COUNSELLOR, ADMIN = (
    "anonymous",
    "owner",
    "other_person",
    "counsellor",
    "administrator",
)
ROLES = (ANONYMOUS, OWNER, OTHER, COUNSELLOR, ADMIN)


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def signed(anonymous: int, status: int) -> dict[str, int]:
    return {ANONYMOUS: anonymous} | dict.fromkeys(ROLES[1:], status)


def person_only(owner: int, other: int | None = None) -> dict[str, int]:
    """Persons' pages: the owner gets `owner`, another person `other` (default the same)."""
    return {
        ANONYMOUS: 302,
        OWNER: owner,
        OTHER: owner if other is None else other,
        COUNSELLOR: 403,
        ADMIN: 403,
    }


def only(role: str, status: int) -> dict[str, int]:
    return {ANONYMOUS: 302} | {r: (status if r == role else 403) for r in ROLES[1:]}
