"""VSF1 is Google Tink's AES256_GCM_HKDF_1MB streaming AEAD, byte for byte.

Encrypt with one, decrypt with the other, both directions, with Tink's real
1 MiB segments, at the sizes around the first segment boundary and across
several segments.
"""

from __future__ import annotations

import io
import os

import pytest
import tink

from crypto import (
    SEGMENT_SIZE,
    IntegrityError,
    ciphertext_length,
    decrypt_iter,
    decrypt_stream,
    encrypt_iter,
    encrypt_stream,
)
from tests.unit.crypto.tink_support import template_params, tink_decrypt, tink_encrypt

S = SEGMENT_SIZE
SIZES = [0, 1, S - 57, S - 56, S - 55, 3 * S + 12345]
AAD = b"vsf1|" + bytes(range(32)) + b"\0\0\0\x01"


def test_template_is_what_vsf1_assumes() -> None:
    key_format = template_params()
    assert key_format.key_size == 32
    assert key_format.params.ciphertext_segment_size == S == 1_048_576
    assert key_format.params.derived_key_size == 32
    assert key_format.params.hkdf_hash_type == 3  # common_pb2.SHA256


@pytest.mark.parametrize("size", SIZES)
def test_tink_reads_what_we_write(size: int) -> None:
    dek, plaintext = os.urandom(32), os.urandom(size)
    sink = io.BytesIO()
    encrypt_stream(dek, AAD, io.BytesIO(plaintext), sink)
    blob = sink.getvalue()
    assert len(blob) == ciphertext_length(size)
    assert tink_decrypt(dek, AAD, blob, S) == plaintext
    iterated = b"".join(encrypt_iter(dek, AAD, [plaintext]))
    assert tink_decrypt(dek, AAD, iterated, S) == plaintext


@pytest.mark.parametrize("size", SIZES)
def test_we_read_what_tink_writes(size: int) -> None:
    dek, plaintext = os.urandom(32), os.urandom(size)
    blob = tink_encrypt(dek, AAD, plaintext, S)
    assert len(blob) == ciphertext_length(size)
    sink = io.BytesIO()
    assert decrypt_stream(dek, AAD, io.BytesIO(blob), sink) == size
    assert sink.getvalue() == plaintext
    assert b"".join(decrypt_iter(dek, AAD, [blob])) == plaintext


def test_both_reject_a_blob_cut_at_a_segment_boundary() -> None:
    dek, plaintext = os.urandom(32), os.urandom(2 * S)
    blob = tink_encrypt(dek, AAD, plaintext, S)
    with pytest.raises(IntegrityError):
        b"".join(decrypt_iter(dek, AAD, [blob[:S]]))
    with pytest.raises(tink.TinkError):
        tink_decrypt(dek, AAD, blob[:S], S)
