"""Getting back into a vault without the passphrase (docs/architecture.md §2.2 and §3,
issue 6 item 4).

Two paths, both ending with the same user key, so every document still opens:

(a) **Recovery kit + counsellor approval** (recovery/kit.py). The person types
    their username and the recovery code of their printed sheet; an assigned
    counsellor approves; the person comes back with the same code and chooses
    a new passphrase.

(b) **Escrow** (recovery/escrow.py, recovery/identity.py, recovery/shamir.py).
    For someone who lost the sheet too: two recovery officers check identity
    and confirm, then an operator holding the offline escrow secret runs
    `vault escrow recover`, which re-enrols the account.

Every step goes into the person's journal. This module re-exports the names
under their historical home; new code imports the focused modules.
"""

from __future__ import annotations

from vault.accounts.recovery_requests import (
    APPROVED,
    CANCELLED,
    COMPLETED,
    ESCROW,
    KIT,
    PENDING,
    REFUSED,
)
from vault.recovery.escrow import (
    ESCROW_REQUEST_VALID,
    EscrowRefused,
    OfficerAccount,
    Reenrolment,
    WrongEscrowSecret,
    cancel_escrow_request,
    check_escrow_request,
    confirm_escrow_request,
    escrow_recover,
    get_escrow_request,
    officers_of,
    open_escrow_request,
    open_escrow_requests,
    open_officer,
)
from vault.recovery.identity import (
    ID_DOCUMENTS,
    SEARCH_LIMIT,
    IdentityCheck,
    escrow_person,
    identity_of,
    open_last4,
    seal_last4,
    search_people,
)
from vault.recovery.kit import (
    APPROVAL_VALID,
    KIT_REQUEST_VALID,
    THROTTLE_SCOPE,
    KitCheck,
    Mistyped,
    PendingApproval,
    approvals_count,
    approvals_for,
    check_kit,
    complete_kit,
    decide_kit,
    live_kit_request,
)
from vault.recovery.shamir import (
    SHARES,
    THRESHOLD,
    WrongShares,
    combine_escrow_shares,
    split_escrow_secret,
)

__all__ = [
    "APPROVAL_VALID",
    "APPROVED",
    "CANCELLED",
    "COMPLETED",
    "ESCROW",
    "ESCROW_REQUEST_VALID",
    "ID_DOCUMENTS",
    "KIT",
    "KIT_REQUEST_VALID",
    "PENDING",
    "REFUSED",
    "SEARCH_LIMIT",
    "SHARES",
    "THRESHOLD",
    "THROTTLE_SCOPE",
    "EscrowRefused",
    "IdentityCheck",
    "KitCheck",
    "Mistyped",
    "OfficerAccount",
    "PendingApproval",
    "Reenrolment",
    "WrongEscrowSecret",
    "WrongShares",
    "approvals_count",
    "approvals_for",
    "cancel_escrow_request",
    "check_escrow_request",
    "check_kit",
    "combine_escrow_shares",
    "complete_kit",
    "confirm_escrow_request",
    "decide_kit",
    "escrow_person",
    "escrow_recover",
    "get_escrow_request",
    "identity_of",
    "live_kit_request",
    "officers_of",
    "open_escrow_request",
    "open_escrow_requests",
    "open_last4",
    "open_officer",
    "seal_last4",
    "search_people",
    "split_escrow_secret",
]
