"""Regenerate the committed known-answer vectors of crypto/ (run from the project root).

    .venv/bin/python tests/vectors/crypto/make_vectors.py

The vectors freeze today's formats: a later change that cannot open them, or
that would write different bytes from the same inputs, breaks the promise that
a document stays readable for decades. Regenerate them only for a deliberate
new format version, keeping the old files. The VSF1 vectors are also checked
against Google Tink by the tests, so they do not only agree with ourselves.
"""

from __future__ import annotations

import base64
import hashlib
import json
import pathlib
import uuid

from crypto import keys, passwords, recovery, stream

HERE = pathlib.Path(__file__).parent
S = stream.SEGMENT_SIZE


def pattern(length: int) -> bytes:
    """Deterministic plaintext: 0, 1, ..., 250, 0, 1, ... (251 is prime: no segment alignment)."""
    return bytes(i % 251 for i in range(length))


def h(data: bytes) -> str:
    return data.hex()


def vsf1_vectors() -> list[dict[str, object]]:
    dek = bytes(range(32))
    aad = stream.blob_aad(
        uuid.UUID("00000000-0000-4000-8000-000000000001"),
        uuid.UUID("00000000-0000-4000-8000-000000000002"),
        1,
    )
    salt = bytes(range(100, 132))
    prefix = bytes.fromhex("a0a1a2a3a4a5a6")
    out = []
    cases = [(64, n) for n in (0, 1, 7, 8, 9, 48, 49, 100, 200)]
    cases += [(S, n) for n in (0, 1, S - 57, S - 56, S - 55, 2 * (S - 16) - 40, 3 * S + 12345)]
    for segment_size, n in cases:
        reader = stream._Reader([pattern(n)])
        blob = b"".join(
            bytes(c)
            for c in stream._encrypt_chunks(dek, aad, reader, segment_size, salt, prefix, False)
        )
        vector: dict[str, object] = {
            "segment_size": segment_size,
            "dek": h(dek),
            "aad": h(aad),
            "salt": h(salt),
            "nonce_prefix": h(prefix),
            "plaintext_pattern_length": n,
            "ciphertext_length": len(blob),
            "ciphertext_sha256": hashlib.sha256(blob).hexdigest(),
        }
        if len(blob) <= 1024:
            vector["ciphertext"] = h(blob)
        out.append(vector)
    return out


def key_vectors() -> dict[str, object]:
    kek = bytes(range(32, 64))
    dek = bytes(range(64, 96))
    wrap_aad = b"vault|00000000-0000-4000-8000-000000000001|document|2|version|1"
    nonce = bytes(range(12))
    wrapped = keys._wrap_with_nonce(kek, dek, wrap_aad, nonce)

    secret = bytes(range(96, 128))
    pair = keys.derive_keypair(secret)
    context = b"share|document-2|counsellor-7|2031-12-31"
    sealed = keys.seal(pair.public_key, dek, context)

    ring_string = (
        f"1:{base64.b64encode(bytes(range(128, 160))).decode()},"
        f"2:{base64.b64encode(bytes(range(160, 192))).decode()}"
    )
    ring = keys.KeyRing.from_string(ring_string)
    ring_aad = b"wrapped_dek|42|owner|1"
    ring_wrapped = ring._wrap_with_nonce(wrapped, ring_aad, bytes(range(12, 24)))

    params = passwords.Argon2Params(time_cost=2, memory_cost_kib=256, parallelism=2)
    slot = passwords.PassphraseSlot._create(
        secret,
        "Cafe\u0301 au lait, 14 rue des Lilas",
        b"vault|1|password",
        params,
        bytes(range(16)),
        bytes(range(16, 28)),
    )
    return {
        "wrap_key": {"kek": h(kek), "key": h(dek), "aad": h(wrap_aad), "blob": h(wrapped)},
        "derive_keypair": {"secret": h(secret), "public_key": h(pair.public_bytes())},
        "seal": {
            "secret": h(secret),
            "context": h(context),
            "plaintext": h(dek),
            "blob": h(sealed),
        },
        "keyring": {
            "ring": ring_string,
            "aad": h(ring_aad),
            "plaintext": h(wrapped),
            "blob": h(ring_wrapped),
        },
        "passphrase_slot": {
            "passphrase_nfc": "Café au lait, 14 rue des Lilas",
            "aad": h(b"vault|1|password"),
            "secret": h(secret),
            "time_cost": params.time_cost,
            "memory_cost_kib": params.memory_cost_kib,
            "parallelism": params.parallelism,
            "blob": h(slot.to_bytes()),
        },
        "recovery_code": {
            "payload": "000000000000000000000000000000",
            "code": "00000000000000000000000000000098",
            "formatted": recovery.format_recovery_code("00000000000000000000000000000098"),
        },
    }


def main() -> None:
    (HERE / "vsf1.json").write_text(json.dumps(vsf1_vectors(), indent=1) + "\n")
    (HERE / "keys.json").write_text(json.dumps(key_vectors(), indent=1) + "\n")


if __name__ == "__main__":
    main()
