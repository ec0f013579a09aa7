"""Passphrases: suggest one made of common French words, and check a chosen one.

Suggestions are four words drawn with `secrets` from ``data/fr-words.txt``:
2,048 common French words (mostly nouns) of 4 to 8 letters a-z (no accents,
so they type the same on a kiosk keyboard and a phone), separated by single
spaces. Each word carries log2(2048) = 11 bits, so four words carry 44 bits:
about 1.8e13 equally likely suggestions, each guess costing an attacker one
Argon2id computation (64 MiB). How the list was made: ``data/README.md``.

The policy follows docs/architecture.md §2.2 and NIST SP 800-63B: a length floor, a cap,
a blocklist of common passwords and the username; no composition rules (they
make passphrases harder to remember, not harder to guess). Then a strength
estimate by zxcvbn (Dropbox's estimator, kept on PyPI), with the person's own
names, username, date of birth and prison number as context: eight characters
off the blocklist ("bonjour bonjour", "martin camille 1985") are not enough.
Problems come back as codes for the view to translate.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Sequence
from functools import cache
from importlib import resources

from zxcvbn import zxcvbn

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
    # Distinct words: a repeated one ("atout secret surf surf") is what zxcvbn
    # scores as a pattern, and the suggestion would be refused as too weak.
    # Drawing four without replacement from the 2,048 words costs 0.003 bit.
    return " ".join(secrets.SystemRandom().sample(word_list(), words))


def _fold(text: str) -> str:
    """Lower case without any whitespace: how people retype "Mot de passe"."""
    return "".join(unicodedata.normalize("NFC", text).casefold().split())


def check_passphrase(
    passphrase: str, *, username: str = "", personal: Sequence[str] = ()
) -> list[str]:
    """Problem codes for `passphrase`.

    "too_short", "too_long", "common", "username"; then, when none of those
    applies, "personal" (guessable from `personal`: the person's own names,
    username, date of birth, prison number) or "weak" (guessable at all).
    """
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
    if not problems:
        problems += _strength(normalized.strip(), [username, *personal])
    return problems


# zxcvbn's score: 3 means at least 10^8 guesses. Each guess costs an attacker
# one Argon2id run (64 MiB), online through the throttle or offline with the
# database *and* the server key ring; the suggestion (four words, 44 bits)
# scores 4.
MIN_SCORE = 3
# zxcvbn refuses longer input (its matching grows faster than the length);
# what lies beyond this many characters only makes a passphrase stronger.
_STRENGTH_CHARS = 72


def _score(text: str, personal: list[str]) -> int:
    if not text:
        return 0  # zxcvbn fails on an empty string; nothing is guessed faster
    result = zxcvbn(text[:_STRENGTH_CHARS], user_inputs=personal)
    return int(result["score"])


def _strength(passphrase: str, personal: Sequence[str]) -> list[str]:
    """["personal"], ["weak"] or [] for a passphrase that passed the other rules.

    Scored as typed and without its spaces (zxcvbn counts each space as
    unknown characters, which "soleil soleil soleil" should not earn); the
    lower score counts. "personal" when the phrase holds the person's own
    words and is weak once they are known (zxcvbn's user inputs), or once
    they are taken out: the person then hears why.
    """
    words = _personal_words(personal)
    typed = passphrase.casefold()
    joined = "".join(typed.split())
    variants = {typed, joined}
    remainder = joined
    for word in sorted(words, key=len, reverse=True):
        if len(word) >= _MIN_PERSONAL_WORD:
            remainder = remainder.replace(word, "")
    if remainder != joined and (
        _score(remainder, []) < MIN_SCORE or min(_score(v, words) for v in variants) < MIN_SCORE
    ):
        return ["personal"]
    if min(_score(v, []) for v in variants) < MIN_SCORE:
        return ["weak"]
    return []


# Shorter parts of a name ("de", "le") are not taken out of a phrase: they
# would cut ordinary words.
_MIN_PERSONAL_WORD = 3


def _personal_words(values: Sequence[str]) -> list[str]:
    """Each value folded, and its parts ("jean.dupont" gives "jean" and "dupont")."""
    words: set[str] = set()
    for value in values:
        folded = unicodedata.normalize("NFC", value).casefold().strip()
        if not folded:
            continue
        words.add(folded)
        words.add("".join(folded.split()))
        words.update(part for part in _NOT_ALNUM.split(folded) if len(part) >= _MIN_PERSONAL_WORD)
    return sorted(words)


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
