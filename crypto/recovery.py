"""Recovery-kit codes: about 100 random bits, printed as digits in groups of four.

A code is 30 random decimal digits (99.7 bits) followed by two ISO 7064
MOD 97-10 check digits, as in an IBAN. The check digits catch every single
mistyped digit and almost every swap of two digits *before* the code reaches
Argon2id, so a person dictating or copying a printed sheet gets "mistyped"
rather than a failed, throttled attempt.

Digits only, because the sheet is read aloud and typed on kiosks and phones;
input is normalised for spaces, dashes and characters that look like digits.
The normalised code is what goes into a :class:`crypto.passwords.PassphraseSlot`.
"""

from __future__ import annotations

import secrets
import unicodedata

from crypto.errors import FormatError

__all__ = [
    "RECOVERY_CODE_DIGITS",
    "format_recovery_code",
    "new_recovery_code",
    "normalize_recovery_code",
]

_RANDOM_DIGITS = 30
RECOVERY_CODE_DIGITS = _RANDOM_DIGITS + 2
"""Length of a normalised code: 30 random digits and 2 check digits."""
_GROUP = 4

# Separators people type or that copy-paste brings: spaces of every kind
# (handled by str.isspace), dashes, underscores, dots.
_SEPARATORS = frozenset("-_.‐‑‒–—―−")
# Letters that are read or typed for digits. Codes contain no letters, and the
# check digits catch a wrong guess.
_LOOK_ALIKES = str.maketrans(
    {
        "O": "0",
        "o": "0",
        "Q": "0",
        "D": "0",
        "I": "1",
        "i": "1",
        "l": "1",
        "L": "1",
        "|": "1",
        "!": "1",
        "Z": "2",
        "z": "2",
        "S": "5",
        "s": "5",
        "G": "6",
        "b": "6",
        "T": "7",
        "B": "8",
        "g": "9",
        "q": "9",
    }
)


def _check_digits(payload: str) -> str:
    return f"{98 - int(payload) * 100 % 97:02d}"


def new_recovery_code() -> str:
    """Return a fresh code as 32 digits (use :func:`format_recovery_code` to print it)."""
    payload = f"{secrets.randbelow(10**_RANDOM_DIGITS):0{_RANDOM_DIGITS}d}"
    return payload + _check_digits(payload)


def normalize_recovery_code(text: str) -> str:
    """Turn what a person typed into the canonical 32-digit code.

    Removes spaces and dashes, maps any Unicode decimal digit (full-width,
    Arabic-Indic, ...) and look-alike letters (O to 0, l to 1, ...) to ASCII
    digits, then checks the length and the check digits.

    Raises:
        FormatError: not 32 digits after normalisation, or the check digits do
            not match (a mistyped code).
    """
    kept: list[str] = []
    for char in unicodedata.normalize("NFKC", text).translate(_LOOK_ALIKES):
        if char.isspace() or char in _SEPARATORS:
            continue
        # Any decimal digit counts: a phone may type Arabic-Indic or other digits.
        value = unicodedata.decimal(char, None)
        if value is None:
            raise FormatError(f"a recovery code has {RECOVERY_CODE_DIGITS} digits")
        kept.append(str(value))
    digits = "".join(kept)
    if len(digits) != RECOVERY_CODE_DIGITS:
        raise FormatError(f"a recovery code has {RECOVERY_CODE_DIGITS} digits")
    if int(digits) % 97 != 1:
        raise FormatError("the recovery code is mistyped (check digits do not match)")
    return digits


def format_recovery_code(code: str) -> str:
    """Return the code in groups of four digits separated by spaces, for printing.

    Raises:
        FormatError: as :func:`normalize_recovery_code`.
    """
    digits = normalize_recovery_code(code)
    return " ".join(digits[i : i + _GROUP] for i in range(0, len(digits), _GROUP))
