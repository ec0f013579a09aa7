"""Known-answer vectors: today's formats must keep opening, and keep being written, the same."""

from __future__ import annotations

import hashlib
import json
import pathlib
from typing import Any

import pytest

from crypto import (
    Argon2Params,
    KeyRing,
    PassphraseSlot,
    decrypt_bytes,
    derive_keypair,
    format_recovery_code,
    normalize_recovery_code,
    open_sealed,
    passwords,
    stream,
    unwrap_key,
)
from crypto import keys as keys_module
from tests.unit.crypto.tink_support import tink_decrypt
from tests.vectors.crypto.make_vectors import pattern

VECTORS = pathlib.Path(__file__).parents[2] / "vectors" / "crypto"
VSF1 = json.loads((VECTORS / "vsf1.json").read_text())
KEYS = json.loads((VECTORS / "keys.json").read_text())


def _vsf1_id(vector: dict[str, Any]) -> str:
    return f"S{vector['segment_size']}-n{vector['plaintext_pattern_length']}"


@pytest.mark.parametrize("vector", VSF1, ids=_vsf1_id)
def test_vsf1_vector(vector: dict[str, Any]) -> None:
    segment_size = int(vector["segment_size"])
    dek, aad = bytes.fromhex(str(vector["dek"])), bytes.fromhex(str(vector["aad"]))
    plaintext = pattern(int(vector["plaintext_pattern_length"]))
    reader = stream._Reader([plaintext])
    blob = b"".join(
        bytes(chunk)
        for chunk in stream._encrypt_chunks(
            dek,
            aad,
            reader,
            segment_size,
            bytes.fromhex(str(vector["salt"])),
            bytes.fromhex(str(vector["nonce_prefix"])),
            False,
        )
    )
    assert len(blob) == vector["ciphertext_length"]
    assert len(blob) == stream.ciphertext_length(len(plaintext), segment_size=segment_size)
    assert hashlib.sha256(blob).hexdigest() == vector["ciphertext_sha256"]
    if "ciphertext" in vector:
        assert blob.hex() == vector["ciphertext"]
    assert b"".join(stream.decrypt_iter(dek, aad, [blob], segment_size=segment_size)) == plaintext
    # Independent check: Google's implementation reads the vector too.
    assert tink_decrypt(dek, aad, blob, segment_size) == plaintext


def test_vsf1_small_vector_decrypts_with_public_api() -> None:
    vector = next(v for v in VSF1 if v["segment_size"] == stream.SEGMENT_SIZE and "ciphertext" in v)
    blob = bytes.fromhex(vector["ciphertext"])
    plaintext = decrypt_bytes(bytes.fromhex(vector["dek"]), bytes.fromhex(vector["aad"]), blob)
    assert plaintext == pattern(vector["plaintext_pattern_length"])


def test_wrap_key_vector() -> None:
    v = KEYS["wrap_key"]
    kek, key, aad = bytes.fromhex(v["kek"]), bytes.fromhex(v["key"]), bytes.fromhex(v["aad"])
    blob = bytes.fromhex(v["blob"])
    assert keys_module._wrap_with_nonce(kek, key, aad, blob[1:13]) == blob
    assert unwrap_key(kek, blob, aad) == key


def test_derive_keypair_vector() -> None:
    v = KEYS["derive_keypair"]
    assert derive_keypair(bytes.fromhex(v["secret"])).public_bytes().hex() == v["public_key"]


def test_seal_vector_opens() -> None:
    v = KEYS["seal"]
    pair = derive_keypair(bytes.fromhex(v["secret"]))
    opened = open_sealed(pair, bytes.fromhex(v["blob"]), bytes.fromhex(v["context"]))
    assert opened == bytes.fromhex(v["plaintext"])


def test_keyring_vector() -> None:
    v = KEYS["keyring"]
    ring = KeyRing.from_string(v["ring"])
    blob, aad = bytes.fromhex(v["blob"]), bytes.fromhex(v["aad"])
    assert ring._wrap_with_nonce(bytes.fromhex(v["plaintext"]), aad, blob[5:17]) == blob
    assert ring.unwrap(blob, aad) == bytes.fromhex(v["plaintext"])


def test_passphrase_slot_vector() -> None:
    v = KEYS["passphrase_slot"]
    params = Argon2Params(v["time_cost"], v["memory_cost_kib"], v["parallelism"])
    blob, aad, secret = (
        bytes.fromhex(v["blob"]),
        bytes.fromhex(v["aad"]),
        bytes.fromhex(v["secret"]),
    )
    slot = PassphraseSlot.from_bytes(blob)
    assert slot.params == params
    assert slot.open(v["passphrase_nfc"], aad) == secret
    rebuilt = passwords.PassphraseSlot._create(
        secret, v["passphrase_nfc"], aad, params, blob[14:30], blob[30:42]
    )
    assert rebuilt.to_bytes() == blob


def test_recovery_code_vector() -> None:
    v = KEYS["recovery_code"]
    assert normalize_recovery_code(v["formatted"]) == v["code"]
    assert format_recovery_code(v["code"]) == v["formatted"]
    assert v["code"].startswith(v["payload"])
