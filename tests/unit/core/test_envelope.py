# ruff: noqa: E501
"""Known answers for every associated-data label: stored data's contract.

The hex strings were computed by the code before the labels moved into
``vault.core.envelope`` (issue 12). A builder that changed one byte would make
every key and blob written before it unreadable: this test fails first.
"""

from __future__ import annotations

import inspect
import itertools
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vault.core import envelope

A = uuid.UUID("00112233-4455-6677-8899-aabbccddeeff")
B = uuid.UUID("ffeeddcc-bbaa-9988-7766-554433221100")
C = uuid.UUID("0f0e0d0c-0b0a-0908-0706-050403020100")

# fmt: off
KNOWN = [
    ("slot_aad(A, 'passphrase')", "7661756c742f736c6f747c00112233445566778899aabbccddeeff7c70617373706872617365"),
    ("escrow_context(A)", "657363726f777c00112233445566778899aabbccddeeff"),
    ("session_aad('ab12', b'user')", "7661756c742f73657373696f6e7c616231327c75736572"),
    ("session_aad('ab12', SESSION_USER_KEY)", "7661756c742f73657373696f6e7c616231327c6b6579"),
    ("session_aad('ab12', SESSION_PENDING)", "7661756c742f73657373696f6e7c616231327c70656e64696e67"),
    ("meta_aad(A, B)", "7661756c742f6d6574617c00112233445566778899aabbccddeeffffeeddccbbaa99887766554433221100"),
    ("dek_aad(A, B, 3)", "7661756c742f64656b7c00112233445566778899aabbccddeeffffeeddccbbaa9988776655443322110000000003"),
    ("version_dek_aad(A)", "7661756c742f76657273696f6e2d64656b7c00112233445566778899aabbccddeeff"),
    ("content_aad(A, B, 3)", "767366317c00112233445566778899aabbccddeeffffeeddccbbaa9988776655443322110000000003"),
    ("preview_aad(A, B, 3)", "767366317c00112233445566778899aabbccddeeffffeeddccbbaa99887766554433221100000000037c70726576696577"),
    ("title_index_aad(A)", "7661756c742f7469746c652d696e6465787c00112233445566778899aabbccddeeff"),
    ("deposit_context(A, 2, b'dek')", "7661756c742f6465706f7369747c64656b7c00112233445566778899aabbccddeeff00000002"),
    ("deposit_context(A, 2, DEPOSIT_DEK)", "7661756c742f6465706f7369747c64656b7c00112233445566778899aabbccddeeff00000002"),
    ("deposit_context(A, 1, DEPOSIT_META)", "7661756c742f6465706f7369747c6d6574617c00112233445566778899aabbccddeeff00000001"),
    ("share_until(None).encode()", "72656c65617365"),
    ("share_until(datetime(2027, 1, 2, 3, 4, 5, tzinfo=timezone.utc)).encode()", "323032372d30312d30325430333a30343a30352b30303a3030"),
    ("deposit_dek_aad(A)", "7661756c742f6465706f7369742d64656b7c00112233445566778899aabbccddeeff"),
    ("request_message_context(A, B)", "7661756c742f726571756573742d6d6573736167657c00112233445566778899aabbccddeeffffeeddccbbaa99887766554433221100"),
    ("link_aad(A)", "7661756c742f6c696e6b7c00112233445566778899aabbccddeeff"),
    ("link_key('tok')", "baa24fc75aa9d5a0df2f6d49c0946f73d0f053523b0a04b6aecfc68df3958d2c"),
    ("link_id('tok').encode()", "62383334313030636565373634666432353035623566656361343235313930373131633765373161626630613466363137633161386131646564623631623138"),
    ("escrow_identity_context(A, B)", "7661756c742f657363726f772d6964656e746974797c00112233445566778899aabbccddeeffffeeddccbbaa99887766554433221100"),
    ("journal_head_aad(A, 7, 'beef')", "7661756c742f6a6f75726e616c2d686561647c00112233445566778899aabbccddeeff000000000000000762656566"),
    ("cv_draft_aad(A, B, 'cv')", "7661756c742f63762d64726166747c00112233445566778899aabbccddeeffffeeddccbbaa998877665544332211007c6376"),
    ("device_mark(b'secret', A).encode()", "3530316261323337363735333632646338306139653732346631326533386133"),
    ("limit_message('name|x')", "6c696d69747c6e616d657c78"),
    ("share_context(A, B, C, 'release')", "7661756c742f73686172657c00112233445566778899aabbccddeeffffeeddccbbaa998877665544332211000f0e0d0c0b0a090807060504030201007c72656c65617365"),
    ("share_context(A, B, C, '2027-01-02T03:04:05+00:00')", "7661756c742f73686172657c00112233445566778899aabbccddeeffffeeddccbbaa998877665544332211000f0e0d0c0b0a090807060504030201007c323032372d30312d30325430333a30343a30352b30303a3030"),
]
# fmt: on


@pytest.mark.parametrize(("call", "expected"), KNOWN)
def test_each_builder_returns_the_bytes_stored_data_was_sealed_with(
    call: str, expected: str
) -> None:
    names = {"A": A, "B": B, "C": C, "datetime": datetime, "timezone": timezone, **vars(envelope)}
    assert eval(call, names).hex() == expected  # the literal calls of KNOWN above


def test_every_builder_is_pinned_by_a_known_answer() -> None:
    builders = {
        name
        for name, value in vars(envelope).items()
        if inspect.isfunction(value)
        and getattr(value, "__module__", "") == envelope.__name__
        and not name.startswith("_")
    }
    pinned = {call.split("(")[0] for call, _ in KNOWN}
    assert builders == pinned


def test_no_label_is_a_prefix_of_another() -> None:
    labels = list(envelope.LABELS.values())
    assert len(set(labels)) == len(labels)
    for one, other in itertools.permutations(labels, 2):
        assert not other.startswith(one), (one, other)


def test_the_throttle_key_derivation_keeps_its_info() -> None:
    derived = HKDF(algorithm=SHA256(), length=32, salt=None, info=envelope.THROTTLE_KEY_INFO)
    expected = "6c60d138b3a960e7d9b80cd7fcccec9dcafe40bdbbbaede353e38ceab7c2784a"
    assert derived.derive(b"k").hex() == expected


def test_mypy_refuses_a_data_key_where_the_vault_key_is_meant() -> None:
    """The typed keys are the point: a swapped key is a type error, not a bad ciphertext."""
    from mypy import api

    swapped = (
        "import uuid\n"
        "from vault.core.envelope import DataKey, VaultKey\n"
        "from vault.documents.keys import Meta, seal_meta\n"
        "def seal(dek: DataKey, vault_key: VaultKey) -> None:\n"
        "    meta = Meta('title', 'file.pdf', 'sha')\n"
        "    seal_meta(vault_key, uuid.uuid4(), uuid.uuid4(), meta)\n"
        "    seal_meta(dek, uuid.uuid4(), uuid.uuid4(), meta)\n"
    )
    root = Path(__file__).resolve().parents[3]
    out, _err, status = api.run(["--config-file", str(root / "pyproject.toml"), "-c", swapped])
    assert status == 1, out
    assert out.count("error:") == 1, out
    assert 'incompatible type "DataKey"; expected "VaultKey"' in out
