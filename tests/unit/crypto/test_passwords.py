"""Passphrase slots: Argon2id with parameters stored in the slot."""

from __future__ import annotations

import os
import struct
import threading
from typing import Any

import pytest

import crypto.passwords
from crypto import (
    DEFAULT_ARGON2,
    MAX_PASSPHRASE_BYTES,
    Argon2Params,
    FormatError,
    PassphraseSlot,
    WrongKeyError,
    encode_passphrase,
)

FAST = Argon2Params(time_cost=1, memory_cost_kib=64, parallelism=1)
VK = os.urandom(32)
AAD = b"vault|1|password"


def test_defaults_follow_the_design() -> None:
    assert (DEFAULT_ARGON2.time_cost, DEFAULT_ARGON2.memory_cost_kib) == (3, 64 * 1024)
    assert DEFAULT_ARGON2.parallelism == 4


def test_slot_with_default_parameters() -> None:
    slot = PassphraseSlot.create(VK, "correct horse battery staple", AAD)
    assert slot.params == DEFAULT_ARGON2
    assert not slot.needs_upgrade()
    loaded = PassphraseSlot.from_bytes(slot.to_bytes())
    assert loaded.open("correct horse battery staple", AAD) == VK


def test_round_trip_and_stored_parameters() -> None:
    slot = PassphraseSlot.create(VK, "un mot de passe", AAD, params=FAST)
    blob = slot.to_bytes()
    assert blob[:2] == b"\x01\x02"
    assert struct.unpack(">III", blob[2:14]) == (1, 64, 1)
    assert len(blob) == 42 + 32 + 16
    loaded = PassphraseSlot.from_bytes(blob)
    assert loaded.params == FAST
    assert loaded.open("un mot de passe", AAD) == VK
    assert "time_cost=1" in repr(loaded)


def test_wrong_passphrase_or_aad_is_a_wrong_key() -> None:
    slot = PassphraseSlot.create(VK, "un mot de passe", AAD, params=FAST)
    with pytest.raises(WrongKeyError):
        slot.open("un mot de passe ", AAD)
    with pytest.raises(WrongKeyError):
        slot.open("un mot de passe", b"vault|2|password")


def test_unicode_normalisation() -> None:
    """'é' as one code point (kiosk) or e + combining accent (phone) is one passphrase."""
    slot = PassphraseSlot.create(VK, "caf\u00e9 cr\u00e8me", AAD, params=FAST)
    assert slot.open("cafe\u0301 cre\u0300me", AAD) == VK
    assert encode_passphrase("e\u0301") == "é".encode()


def test_passphrase_length_limits() -> None:
    with pytest.raises(FormatError):
        encode_passphrase("")
    longest = "a" * MAX_PASSPHRASE_BYTES
    assert encode_passphrase(longest) == longest.encode()
    with pytest.raises(FormatError):
        encode_passphrase(longest + "a")
    with pytest.raises(FormatError):  # the cap counts bytes, not characters
        encode_passphrase("é" * (MAX_PASSPHRASE_BYTES // 2 + 1))
    with pytest.raises(FormatError):
        PassphraseSlot.create(VK, "", AAD, params=FAST)


def test_parameters_can_be_raised_later() -> None:
    slot = PassphraseSlot.create(VK, "un mot de passe", AAD, params=FAST)
    assert slot.needs_upgrade()
    stronger = Argon2Params(time_cost=4, memory_cost_kib=128 * 1024, parallelism=4)
    assert DEFAULT_ARGON2.is_weaker_than(stronger)
    assert not stronger.is_weaker_than(DEFAULT_ARGON2)
    assert Argon2Params(3, 32 * 1024, 4).is_weaker_than(DEFAULT_ARGON2)
    assert not Argon2Params(3, 64 * 1024, 1).is_weaker_than(DEFAULT_ARGON2)
    assert not slot.needs_upgrade(FAST)


@pytest.mark.parametrize(
    ("time_cost", "memory", "parallelism"),
    [
        (0, 64, 1),
        (65, 64, 1),
        (1, 7, 1),
        (1, 31, 4),
        (1, 4 * 1024 * 1024 + 1, 1),
        (1, 64, 0),
        (1, 1024, 65),
    ],
)
def test_parameter_bounds(time_cost: int, memory: int, parallelism: int) -> None:
    with pytest.raises(ValueError):
        Argon2Params(time_cost, memory, parallelism)


def test_from_bytes_rejects_bad_slots() -> None:
    blob = PassphraseSlot.create(VK, "un mot de passe", AAD, params=FAST).to_bytes()
    with pytest.raises(FormatError):
        PassphraseSlot.from_bytes(blob[: 42 + 15])
    with pytest.raises(FormatError):
        PassphraseSlot.from_bytes(b"\x02" + blob[1:])
    with pytest.raises(FormatError):  # another KDF
        PassphraseSlot.from_bytes(blob[:1] + b"\x01" + blob[2:])
    # A row edited to ask for 4 TiB of memory must not be attempted.
    with pytest.raises(FormatError, match="out of bounds"):
        PassphraseSlot.from_bytes(blob[:6] + struct.pack(">I", 2**32 - 1) + blob[10:])


def test_tampered_slot_does_not_open() -> None:
    blob = PassphraseSlot.create(VK, "un mot de passe", AAD, params=FAST).to_bytes()
    # Parameters (time, memory, parallelism), salt, nonce, ciphertext, tag.
    for position in [5, 9, 13, 14, 29, 30, 41, 42, len(blob) - 1]:
        altered = bytearray(blob)
        altered[position] ^= 2
        with pytest.raises(WrongKeyError):
            PassphraseSlot.from_bytes(bytes(altered)).open("un mot de passe", AAD)


def test_one_argon2id_run_at_a_time_in_a_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two threads opening slots at once stretch one after the other (one matrix in memory)."""
    real = crypto.passwords.hash_secret_raw
    inside = 0
    most = 0
    both_arrived = threading.Event()
    count = threading.Lock()

    def watched(*args: Any, **kwargs: Any) -> bytes:
        nonlocal inside, most
        with count:
            inside += 1
            most = max(most, inside)
            if inside == 2:
                both_arrived.set()
        # Without the process's lock the other thread gets in during this wait.
        both_arrived.wait(0.5)
        try:
            return real(*args, **kwargs)
        finally:
            with count:
                inside -= 1

    monkeypatch.setattr(crypto.passwords, "hash_secret_raw", watched)
    slot = PassphraseSlot.create(VK, "un mot de passe", AAD, params=FAST)
    opened: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: opened.append(slot.open("un mot de passe", AAD)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert opened == [VK, VK]
    assert most == 1
