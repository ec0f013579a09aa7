"""vault/documents/downloads.py without a server: exact-length guard, first-segment check."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

import storage
from crypto import blob_aad, encrypt_bytes, generate_data_key
from vault.documents.downloads import Damaged, LengthMismatch, exactly, open_plaintext


def test_exactly_passes_a_stream_of_the_announced_length() -> None:
    assert list(exactly([b"ab", b"cd", b""], 4)) == [b"ab", b"cd", b""]


def test_exactly_stops_before_a_byte_beyond_the_announced_length() -> None:
    received: list[bytes] = []
    with pytest.raises(LengthMismatch):
        for chunk in exactly([b"ab", b"cd", b"ef"], 5):
            received.append(chunk)
    # Nothing past the announced length ever reaches the client.
    assert received == [b"ab", b"cd"]


def test_exactly_fails_a_stream_that_ends_short() -> None:
    with pytest.raises(LengthMismatch):
        list(exactly([b"ab", b"cd"], 5))


@pytest.fixture
def store(tmp_path: Path) -> storage.BlobStore:
    return storage.open_store(tmp_path.as_uri())


AAD = blob_aad(uuid.uuid4(), uuid.uuid4(), 1)


def test_the_length_comes_from_the_stored_blob(store: storage.BlobStore) -> None:
    dek = generate_data_key()
    content = os.urandom(3 * 1024 * 1024 + 17)
    store.put("documents/a", encrypt_bytes(dek, AAD, content))
    opened = open_plaintext(store, "documents/a", dek, AAD)
    with opened.reader:
        assert opened.length == len(content)
        assert b"".join(exactly(opened.chunks, opened.length)) == content


@pytest.mark.parametrize(
    "damage",
    [
        lambda blob: blob[:-1],  # truncated: no VSF1 blob has this length, or the tag fails
        lambda blob: blob[:40] + bytes([blob[40] ^ 1]) + blob[41:],  # first segment altered
        lambda blob: blob[:3] + bytes([blob[3] ^ 1]) + blob[4:],  # header altered
        lambda blob: blob[:16],  # shorter than a header
    ],
)
def test_a_damaged_first_segment_is_refused_before_anything_is_sent(
    store: storage.BlobStore, damage: object
) -> None:
    dek = generate_data_key()
    blob = encrypt_bytes(dek, AAD, b"%PDF-1.4 une page")
    store.put("documents/b", damage(blob))  # type: ignore[operator]
    with pytest.raises(Damaged):
        open_plaintext(store, "documents/b", dek, AAD)


def test_a_missing_blob_is_damaged_not_a_server_error(store: storage.BlobStore) -> None:
    with pytest.raises(Damaged):
        open_plaintext(store, "documents/missing", generate_data_key(), AAD)
