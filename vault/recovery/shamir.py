"""The escrow secret split 2-of-3 (SLIP-39, Trezor's shamir-mnemonic)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import shamir_mnemonic

from vault.core.errors import ServiceError

SHARES, THRESHOLD = 3, 2


class WrongShares(ServiceError):
    """The share files do not rebuild a secret (too few, damaged or from another split)."""

    code = "wrong_shares"


def split_escrow_secret(secret: bytes) -> list[str]:
    """Three SLIP-39 mnemonics (33 words each), any two of which rebuild `secret`.

    A well-kept library does the arithmetic (never hand-written Shamir); its
    words carry a checksum, so a mistyped or foreign share is detected.
    """
    groups: list[list[str]] = shamir_mnemonic.generate_mnemonics(
        group_threshold=1, groups=[(THRESHOLD, SHARES)], master_secret=secret
    )
    return list(groups[0])


def combine_escrow_shares(mnemonics: Sequence[str]) -> bytes:
    """The escrow secret rebuilt from at least two shares.

    Raises:
        WrongShares: fewer than two, a damaged share, or shares of different splits.
    """
    words = [" ".join(m.lower().split()) for m in mnemonics]
    if len(words) < THRESHOLD:
        raise WrongShares("too_few")
    try:
        secret: Any = shamir_mnemonic.combine_mnemonics(words)
    except (shamir_mnemonic.MnemonicError, ValueError, KeyError):
        raise WrongShares() from None
    if not isinstance(secret, bytes) or len(secret) != 32:
        raise WrongShares()
    return secret
