"""Data keys, wrapping, key-pair derivation and hybrid post-quantum sealing."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import (
    FormatError,
    IntegrityError,
    KeyPair,
    PublicKey,
    derive_keypair,
    generate_data_key,
    load_public_key,
    open_sealed,
    seal,
    unwrap_key,
    wrap_key,
)

KEK = os.urandom(32)
PAIR = derive_keypair(os.urandom(32))
OTHER_PAIR = derive_keypair(os.urandom(32))


def test_data_keys_are_32_random_bytes() -> None:
    keys = {generate_data_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(len(k) == 32 for k in keys)


# --- wrapping -------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(key=st.binary(max_size=64), aad=st.binary(max_size=64))
def test_wrap_round_trip(key: bytes, aad: bytes) -> None:
    blob = wrap_key(KEK, key, aad)
    assert blob[0] == 1
    assert len(blob) == 1 + 12 + len(key) + 16
    assert unwrap_key(KEK, blob, aad) == key


def test_wrap_is_randomised() -> None:
    assert wrap_key(KEK, b"k" * 32, b"a") != wrap_key(KEK, b"k" * 32, b"a")


def test_unwrap_rejects_wrong_key_and_aad() -> None:
    blob = wrap_key(KEK, b"k" * 32, b"vault|doc|1")
    with pytest.raises(IntegrityError):
        unwrap_key(os.urandom(32), blob, b"vault|doc|1")
    with pytest.raises(IntegrityError):
        unwrap_key(KEK, blob, b"vault|doc|2")


def test_unwrap_rejects_any_bit_flip_and_truncation() -> None:
    blob = wrap_key(KEK, b"k" * 32, b"aad")
    for position in range(len(blob)):
        altered = bytearray(blob)
        altered[position] ^= 0x80
        with pytest.raises(FormatError if position == 0 else IntegrityError):
            unwrap_key(KEK, bytes(altered), b"aad")
    for length in range(len(blob)):
        with pytest.raises((FormatError, IntegrityError)):
            unwrap_key(KEK, blob[:length], b"aad")
    with pytest.raises(IntegrityError):
        unwrap_key(KEK, blob + b"\0", b"aad")


def test_wrap_keys_must_be_32_bytes() -> None:
    with pytest.raises(ValueError):
        wrap_key(KEK[:31], b"k", b"")
    with pytest.raises(ValueError):
        unwrap_key(KEK + b"!", wrap_key(KEK, b"k", b""), b"")


# --- key pairs ------------------------------------------------------------------------------


def test_keypairs_are_derived_deterministically() -> None:
    secret = os.urandom(32)
    first, second = derive_keypair(secret), derive_keypair(secret)
    assert first.public_bytes() == second.public_bytes()
    assert first.public_key == second.public_key
    assert first.public_bytes() != derive_keypair(os.urandom(32)).public_bytes()


def test_keypair_halves_follow_the_documented_derivation() -> None:
    """ML-KEM-768 from a 64-byte HKDF seed, X25519 from 32 HKDF bytes: rebuildable elsewhere."""
    secret = os.urandom(32)

    def hkdf(info: bytes, length: int) -> bytes:
        return HKDF(hashes.SHA256(), length, None, info).derive(secret)

    seed = hkdf(b"vault/keypair/v1/ml-kem-768-seed", 64)
    scalar = hkdf(b"vault/keypair/v1/x25519", 32)
    expected = (
        b"\x01"
        + mlkem.MLKEM768PrivateKey.from_seed_bytes(seed).public_key().public_bytes_raw()
        + x25519.X25519PrivateKey.from_private_bytes(scalar).public_key().public_bytes_raw()
    )
    assert derive_keypair(secret).public_bytes() == expected


def test_keypair_secret_must_be_32_bytes() -> None:
    with pytest.raises(ValueError):
        derive_keypair(b"short")


def test_public_key_serialisation_round_trip() -> None:
    data = PAIR.public_bytes()
    assert len(data) == 1 + 1184 + 32
    loaded = load_public_key(data)
    assert isinstance(loaded, PublicKey)
    assert loaded == PAIR.public_key
    assert hash(loaded) == hash(PAIR.public_key)
    assert loaded.to_bytes() == data
    assert loaded != OTHER_PAIR.public_key
    assert loaded != data  # not equal to its bytes: different types
    assert "PublicKey" in repr(loaded)


def test_load_public_key_rejects_bad_input() -> None:
    data = PAIR.public_bytes()
    for bad in (b"", data[:-1], data + b"\0", b"\x02" + data[1:]):
        with pytest.raises(FormatError):
            load_public_key(bad)
    # Coefficients >= q: FIPS 203's modulus check on encapsulation keys.
    with pytest.raises(FormatError):
        load_public_key(b"\x01" + b"\xff" * 1184 + data[-32:])


def test_keypair_repr_hides_the_private_part() -> None:
    assert "hidden" in repr(PAIR)
    assert isinstance(PAIR, KeyPair)


# --- sealing --------------------------------------------------------------------------------

CONTEXT = b"share|document|counsellor|2031-12-31"


@settings(max_examples=10, deadline=None)
@given(plaintext=st.binary(max_size=100), context=st.binary(max_size=300))
def test_seal_round_trip(plaintext: bytes, context: bytes) -> None:
    blob = seal(PAIR.public_key, plaintext, context)
    assert open_sealed(PAIR, blob, context) == plaintext


def test_seal_to_a_stored_public_key() -> None:
    """The app stores public keys as bytes; a depositor seals to the loaded key."""
    public = load_public_key(PAIR.public_bytes())
    dek = generate_data_key()
    blob = seal(public, dek, CONTEXT)
    assert blob[0] == 1
    assert len(blob) == 1 + 1120 + 32 + 16
    assert open_sealed(PAIR, blob, CONTEXT) == dek


def test_sealed_key_does_not_open_with_another_private_key() -> None:
    blob = seal(PAIR.public_key, b"k" * 32, CONTEXT)
    with pytest.raises(IntegrityError):
        open_sealed(OTHER_PAIR, blob, CONTEXT)


def test_sealed_key_does_not_open_with_another_context() -> None:
    blob = seal(PAIR.public_key, b"k" * 32, CONTEXT)
    for context in (b"", CONTEXT + b"x", CONTEXT.replace(b"2031", b"2032")):
        with pytest.raises(IntegrityError):
            open_sealed(PAIR, blob, context)


def test_sealed_key_rejects_tampering() -> None:
    blob = seal(PAIR.public_key, b"k" * 32, CONTEXT)
    # Both KEM halves, the ciphertext and the tag.
    for position in (1, 500, 1088, 1089, 1120, 1121, 1140, len(blob) - 1):
        altered = bytearray(blob)
        altered[position] ^= 1
        with pytest.raises(IntegrityError):
            open_sealed(PAIR, bytes(altered), CONTEXT)
    with pytest.raises(FormatError):
        open_sealed(PAIR, b"\x02" + blob[1:], CONTEXT)
    with pytest.raises(FormatError):
        open_sealed(PAIR, blob[: 1 + 1120 + 15], CONTEXT)
    with pytest.raises(IntegrityError):
        open_sealed(PAIR, blob[:-1], CONTEXT)
    with pytest.raises(IntegrityError):
        open_sealed(PAIR, blob + b"\0", CONTEXT)


def test_sealing_is_randomised() -> None:
    assert seal(PAIR.public_key, b"k", CONTEXT) != seal(PAIR.public_key, b"k", CONTEXT)
