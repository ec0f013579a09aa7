"""Passphrase suggestions from the French word list, and the passphrase policy
(docs/architecture.md §2.2)."""

from __future__ import annotations

import math
import random
import re
import unicodedata
from pathlib import Path

import pytest

from vault.accounts import passphrases
from vault.accounts.passphrases import MAX_PASSPHRASE_BYTES, check_passphrase, generate_passphrase

DATA = Path(passphrases.__file__).parents[1] / "data"


# --- the word list ------------------------------------------------------------------------


def test_word_list_is_2048_distinct_easy_to_type_words() -> None:
    words = passphrases.word_list()
    assert len(words) == len(set(words)) == 2048
    assert all(re.fullmatch(r"[a-z]{4,8}", w) for w in words)
    # 11 bits a word, 44 for a suggestion: the figure the module docstring states.
    assert 4 * math.log2(len(words)) >= 44


def test_word_list_leaves_out_the_excluded_and_the_painful_words() -> None:
    words = set(passphrases.word_list())
    excluded = {
        w
        for line in (DATA / "fr-words-excluded.txt").read_text(encoding="utf-8").splitlines()
        if not line.startswith("#")
        for w in line.split()
    }
    assert not words & excluded
    for word in ("prison", "crime", "mort", "juge", "police", "drogue", "arme", "cellule"):
        assert word not in words


def test_common_password_list_holds_only_what_the_length_rule_lets_through() -> None:
    common = passphrases._common_passwords()
    assert len(common) > 10_000
    assert all(len(p) >= 8 and p == p.lower() and " " not in p for p in common)
    assert {"azertyuiop", "motdepasse", "12345678", "jetaime123", "soleil123"} <= common


# --- suggestions -------------------------------------------------------------------------


def test_suggestion_is_four_listed_words_separated_by_spaces() -> None:
    words = set(passphrases.word_list())
    suggestion = generate_passphrase()
    parts = suggestion.split(" ")
    assert len(parts) == 4
    assert all(part in words for part in parts)


def test_suggestions_pass_the_policy_and_differ() -> None:
    suggestions = {generate_passphrase() for _ in range(50)}
    # 50 draws from 2048**4 equally likely phrases: a repeat means a broken generator.
    assert len(suggestions) == 50
    for suggestion in suggestions:
        assert check_passphrase(suggestion, username="jean.dupont") == []


def test_suggestion_length_is_a_parameter() -> None:
    assert len(generate_passphrase(6).split(" ")) == 6
    with pytest.raises(ValueError):
        generate_passphrase(0)


# --- the policy ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("passphrase", "problems"),
    [
        ("", ["too_short"]),
        ("zq8vnwp", ["too_short"]),  # 7 characters
        # 8 characters pass the floor; zxcvbn counts 10^8 guesses for any 8
        # characters it knows nothing about, just under its "safe" score.
        ("zq8vnwpk", ["weak"]),
        ("zq8vnwpkx", []),
        ("lampe jardin", []),
        # No composition rules: lower-case letters only are fine.
        ("tortue nuage", []),
    ],
)
def test_length_floor(passphrase: str, problems: list[str]) -> None:
    assert check_passphrase(passphrase) == problems


def test_accented_characters_count_once_whatever_their_encoding() -> None:
    seven_nfd = unicodedata.normalize("NFD", "éèàùçôî")
    assert len(seven_nfd) == 14  # 14 code points, 7 characters
    assert check_passphrase(seven_nfd) == ["too_short"]
    assert check_passphrase(unicodedata.normalize("NFD", "éèàùçôîëâ")) == []


def test_spaces_around_a_pasted_passphrase_are_allowed_but_do_not_count() -> None:
    assert check_passphrase("  lampe jardin vert\n") == []
    assert check_passphrase("\tnuage soleil ") == []
    assert check_passphrase("   zq8vnwp    ") == ["too_short"]


def test_byte_cap_is_the_one_the_crypto_layer_hashes() -> None:
    # Strong (no repeat for zxcvbn to find), so only the length decides.
    letters = random.Random(0).choices("abcdefghijklmnopqrstuvwxyz", k=MAX_PASSPHRASE_BYTES + 1)
    ascii_text = "".join(letters)
    assert check_passphrase(ascii_text[:MAX_PASSPHRASE_BYTES]) == []
    assert check_passphrase(ascii_text) == ["too_long"]
    # Two UTF-8 bytes each: 512 characters is the limit.
    accented = "".join(random.Random(1).choices("éèàùçôîëâêûïüÿæœ", k=513))
    assert check_passphrase(accented[:512]) == []
    assert check_passphrase(accented) == ["too_long"]
    # Measured after NFC, as crypto.encode_passphrase does: 1,536 bytes typed in NFD
    # are 1,024 once composed.
    nfd = unicodedata.normalize("NFD", accented[:512])
    assert len(nfd.encode()) > MAX_PASSPHRASE_BYTES
    assert check_passphrase(nfd) == []


@pytest.mark.parametrize(
    "passphrase",
    ["motdepasse", "Azertyuiop", "AZERTYUIOP", "mot de passe", " Mot De Passe ", "12345678"],
)
def test_common_passwords_are_refused_whatever_the_case_and_spacing(passphrase: str) -> None:
    assert check_passphrase(passphrase) == ["common"]


@pytest.mark.parametrize(
    "passphrase",
    [
        "jean.dupont",
        "JEAN.DUPONT",
        "jean.dupont2024",
        "soleil jean.dupont vert",
        "Jean Dupont 75 soleil",
        "jeandupont!!",
    ],
)
def test_passphrase_must_not_contain_the_username(passphrase: str) -> None:
    assert check_passphrase(passphrase, username="jean.dupont") == ["username"]


def test_short_username_is_only_refused_as_the_whole_passphrase() -> None:
    # "ali" inside "alignement" is a coincidence, not a reuse.
    assert check_passphrase("alignement royal", username="ali") == []
    assert check_passphrase("ali", username="ali") == ["too_short", "username"]


def test_problems_add_up() -> None:
    assert check_passphrase("azerty", username="azerty") == ["too_short", "username"]
    assert check_passphrase("azertyuiop", username="azertyuiop") == ["common", "username"]


# --- strength (zxcvbn) ----------------------------------------------------------------------

PERSONAL = ["Camille", "Martin", "Camille Martin", "A123456", "1985", "12031985", "12/03/1985"]


@pytest.mark.parametrize(
    "passphrase", ["bonjour bonjour", "soleil soleil soleil", "azerty azerty", "abcdefghij"]
)
def test_passphrases_zxcvbn_finds_guessable_are_weak(passphrase: str) -> None:
    assert check_passphrase(passphrase) == ["weak"]


@pytest.mark.parametrize(
    "passphrase",
    ["martin camille 1985", "A123456 12031985", "Martin 12/03/1985 Camille", "camille martin 85"],
)
def test_passphrases_made_of_ones_own_names_and_numbers_are_personal(passphrase: str) -> None:
    assert check_passphrase(passphrase, username="camille.martin", personal=PERSONAL) in (
        ["personal"],
        ["username"],  # "camille martin..." already contains the username
    )
    # Without the context, some of them would pass: the context is what refuses them.
    if passphrase == "martin camille 1985":
        assert check_passphrase(passphrase) == []


@pytest.mark.parametrize(
    "passphrase",
    ["girafe tambour citron", "camille girafe tambour citron", "la rivière coule doucement"],
)
def test_strong_passphrases_pass_even_with_a_personal_word(passphrase: str) -> None:
    assert check_passphrase(passphrase, username="camille.martin", personal=PERSONAL) == []


def test_suggestions_never_repeat_a_word(monkeypatch: pytest.MonkeyPatch) -> None:
    """A repeated word ("atout secret surf surf") made zxcvbn refuse the suggestion."""
    from vault.accounts import passphrases

    monkeypatch.setattr(passphrases, "word_list", lambda: ("un", "deux", "trois", "quatre"))
    for _ in range(50):
        assert sorted(generate_passphrase().split()) == ["deux", "quatre", "trois", "un"]


def test_every_suggestion_is_strong_enough_with_any_name() -> None:
    for _ in range(200):
        suggestion = generate_passphrase()
        words = suggestion.split()
        # Even when the person's name is one of the suggested words.
        personal = [words[0], "Martin", "A123456"]
        assert check_passphrase(suggestion, username="x.martin", personal=personal) == []
