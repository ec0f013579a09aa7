"""Passphrases: suggest one made of common French words, and check a chosen one.

Suggestions are four words drawn with `secrets` from ``data/fr-words.txt``:
2,048 common French words (mostly nouns) of 4 to 8 letters a-z (no accents,
so they type the same on a kiosk keyboard and a phone), separated by single
spaces. Each word carries log2(2048) = 11 bits, so four words carry 44 bits:
about 1.8e13 equally likely suggestions, each guess costing an attacker one
Argon2id computation (64 MiB). How the list was made: ``data/README.md``.

The policy follows DESIGN.md §2.2 and NIST SP 800-63B: a length floor, a cap,
a blocklist of common passwords and the username; no composition rules (they
make passphrases harder to remember, not harder to guess). Problems come back
as codes for the view to translate.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from functools import cache
from importlib import resources

from crypto import MAX_PASSPHRASE_BYTES

__all__ = [
    "MAX_PASSPHRASE_BYTES",
    "MIN_CHARACTERS",
    "check_passphrase",
    "generate_passphrase",
    "word_list",
]

MIN_CHARACTERS = 8
"""Shortest passphrase accepted, in Unicode characters after NFC (so "é" is one)."""

# Usernames shorter than this are not searched for inside a passphrase: a short
# one would forbid ordinary words that merely contain it.
_MIN_USERNAME_SEARCH = 4
_NOT_ALNUM = re.compile(r"[\W_]+")


def _data(name: str) -> list[str]:
    text = (resources.files("vault") / "data" / name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


@cache
def word_list() -> tuple[str, ...]:
    """The words suggestions are drawn from (loaded once)."""
    return tuple(_data("fr-words.txt"))


@cache
def _common_passwords() -> frozenset[str]:
    return frozenset(_data("common-passwords.txt"))


def generate_passphrase(words: int = 4) -> str:
    """A suggestion of `words` random common French words separated by spaces."""
    if words < 1:
        raise ValueError("a passphrase needs at least one word")
    pool = word_list()
    return " ".join(secrets.choice(pool) for _ in range(words))


def _fold(text: str) -> str:
    """Lower case without any whitespace: how people retype "Mot de passe"."""
    return "".join(unicodedata.normalize("NFC", text).casefold().split())


def check_passphrase(passphrase: str, *, username: str = "") -> list[str]:
    """Problem codes for `passphrase` ("too_short", "too_long", "common", "username")."""
    normalized = unicodedata.normalize("NFC", passphrase)
    # The cap is measured on what crypto.encode_passphrase hashes (NFC, UTF-8),
    # spaces included.
    if len(normalized.encode("utf-8")) > MAX_PASSPHRASE_BYTES:
        return ["too_long"]
    problems = []
    # Spaces around a pasted passphrase are allowed but do not count towards
    # the minimum: "       1" is not eight characters of secret.
    if len(normalized.strip()) < MIN_CHARACTERS:
        problems.append("too_short")
    folded = _fold(normalized)
    if folded in _common_passwords():
        problems.append("common")
    if username and _contains_username(folded, _fold(username)):
        problems.append("username")
    return problems


def _contains_username(folded: str, user: str) -> bool:
    if not user:
        return False
    if folded == user:
        return True
    # "Jean Dupont 75" contains "jean.dupont": compare letters and digits only.
    user_alnum = _NOT_ALNUM.sub("", user)
    if len(user_alnum) < _MIN_USERNAME_SEARCH:
        return False
    return user in folded or user_alnum in _NOT_ALNUM.sub("", folded)
