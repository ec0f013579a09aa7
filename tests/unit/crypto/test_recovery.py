"""Recovery-kit codes: about 100 bits, digits in groups, forgiving input, check digits."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import (
    RECOVERY_CODE_DIGITS,
    FormatError,
    PassphraseSlot,
    format_recovery_code,
    new_recovery_code,
    normalize_recovery_code,
)
from crypto.passwords import Argon2Params

CODE = new_recovery_code()


def test_new_codes_are_32_digits_with_about_100_bits() -> None:
    codes = {new_recovery_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == RECOVERY_CODE_DIGITS == 32 and c.isdigit() for c in codes)
    assert all(int(c) % 97 == 1 for c in codes)
    assert 99 < 30 * math.log2(10) < 101


def test_printed_in_groups_of_four() -> None:
    printed = format_recovery_code(CODE)
    groups = printed.split(" ")
    assert len(groups) == 8
    assert all(len(g) == 4 for g in groups)
    assert "".join(groups) == CODE


@pytest.mark.parametrize(
    "typed",
    [
        "{spaced}",
        "{dashed}",
        "  {plain}\n",
        "{spaced_nbsp}",
        "{en_dashed}",
        "{fullwidth}",
        "{arabic}",
        "{dotted}",
    ],
)
def test_typing_variants_are_normalised(typed: str) -> None:
    groups = format_recovery_code(CODE).split(" ")
    variants = {
        "spaced": " ".join(groups),
        "dashed": "-".join(groups),
        "plain": CODE,
        "spaced_nbsp": "\u00a0".join(groups),
        "en_dashed": "\u2013".join(groups),
        "fullwidth": "".join(chr(0xFF10 + int(d)) for d in CODE),
        "arabic": " ".join("".join(chr(0x0660 + int(d)) for d in g) for g in groups),
        "dotted": ".".join(groups),
    }
    assert normalize_recovery_code(typed.format(**variants)) == CODE


def test_look_alike_letters_are_read_as_digits() -> None:
    mapping = {"O": "0", "o": "0", "I": "1", "l": "1", "|": "1", "Z": "2", "S": "5"}
    mapping |= {"G": "6", "b": "6", "T": "7", "B": "8", "g": "9", "q": "9"}
    for letter, digit in mapping.items():
        payload = digit * 30
        code = payload + f"{98 - int(payload) * 100 % 97:02d}"
        assert normalize_recovery_code(letter * 30 + code[30:]) == code


# Named ids: CODE is random, and pytest-xdist's workers must collect alike.
@pytest.mark.parametrize(
    "typed",
    ["", "1234", CODE + "0", CODE[:-1], CODE[:-1] + "X", "#" + CODE[1:]],
    ids=["empty", "short", "one-digit-more", "one-digit-less", "letter-at-end", "sign-at-start"],
)
def test_wrong_shapes_are_rejected(typed: str) -> None:
    with pytest.raises(FormatError, match="32 digits"):
        normalize_recovery_code(typed)


def test_every_single_digit_mistake_is_caught() -> None:
    for position, digit in itertools.product(range(32), "0123456789"):
        if CODE[position] == digit:
            continue
        typo = CODE[:position] + digit + CODE[position + 1 :]
        with pytest.raises(FormatError, match="mistyped"):
            normalize_recovery_code(typo)


def test_every_swap_of_adjacent_digits_is_caught() -> None:
    for position in range(31):
        a, b = CODE[position], CODE[position + 1]
        if a == b:
            continue
        swapped = CODE[:position] + b + a + CODE[position + 2 :]
        with pytest.raises(FormatError, match="mistyped"):
            normalize_recovery_code(swapped)


@given(st.integers(0, 10**30 - 1))
def test_check_digits_always_verify(payload: int) -> None:
    digits = f"{payload:030d}"
    code = digits + f"{98 - int(digits) * 100 % 97:02d}"
    assert normalize_recovery_code(format_recovery_code(code)) == code


def test_a_code_opens_a_recovery_slot_however_it_was_typed() -> None:
    vk = bytes(32)
    fast = Argon2Params(1, 64, 1)
    slot = PassphraseSlot.create(
        vk, normalize_recovery_code(CODE), b"vault|1|recovery", params=fast
    )
    typed = "-".join(format_recovery_code(CODE).split(" ")).lower()
    assert slot.open(normalize_recovery_code(typed), b"vault|1|recovery") == vk
