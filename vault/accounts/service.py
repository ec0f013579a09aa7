"""Accounts' services under their historical name: a re-export module.

The code lives in focused modules; new code imports those directly:

- `users`: finding an account by username, choosing a free one;
- `opening`: opening an account, activation codes, the first passphrase, recovery kits;
- `policy`: what a chosen passphrase must respect;
- `signin`: sign-in, activation attempts, passphrase changes and fresh checks;
- `staff`: disabling and enabling staff accounts.

The per-username delays every secret check shares are `vault.core.throttle`'s.
"""

from __future__ import annotations

from vault.accounts.keys import matches_public_key
from vault.accounts.opening import (
    ACTIVATION_DIGITS,
    NewAccount,
    complete_activation,
    issue_recovery_kit,
    new_activation_code,
    normalize_activation_code,
    open_account,
    reissue_activation,
)
from vault.accounts.policy import check_policy, clean_passphrase, personal_words
from vault.accounts.signin import (
    DECOY_SLOT_BYTES,
    AccountDisabled,
    burn_time,
    change_passphrase,
    check_activation,
    confirm_passphrase,
    sign_in,
)
from vault.accounts.staff import (
    STAFF_ROLES,
    DisabledAccount,
    StaffRefused,
    disable_account,
    enable_account,
)
from vault.accounts.users import USERNAME_ATTEMPTS, administrators_exist, find_user, make_username

__all__ = [
    "ACTIVATION_DIGITS",
    "DECOY_SLOT_BYTES",
    "STAFF_ROLES",
    "USERNAME_ATTEMPTS",
    "AccountDisabled",
    "DisabledAccount",
    "NewAccount",
    "StaffRefused",
    "administrators_exist",
    "burn_time",
    "change_passphrase",
    "check_activation",
    "check_policy",
    "clean_passphrase",
    "complete_activation",
    "confirm_passphrase",
    "disable_account",
    "enable_account",
    "find_user",
    "issue_recovery_kit",
    "make_username",
    "matches_public_key",
    "new_activation_code",
    "normalize_activation_code",
    "open_account",
    "personal_words",
    "reissue_activation",
    "sign_in",
]
