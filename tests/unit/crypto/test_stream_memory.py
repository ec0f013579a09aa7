"""Streaming 200 MiB stays within a few segments of memory."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from collections.abc import Iterator

from crypto import SEGMENT_SIZE, decrypt_iter, decrypt_stream, encrypt_iter, encrypt_stream

TOTAL = 200 * 1024 * 1024
CHUNK = 64 * 1024
# Encryption holds two plaintext segments and one ciphertext segment, decryption
# two ciphertext segments and one plaintext segment, plus the segment in flight
# between them: about 8 MiB. Twelve leaves room, and is nothing like 200.
LIMIT = 12 * SEGMENT_SIZE


def upload(digest: hashlib._Hash) -> Iterator[bytes]:
    """200 MiB in 64 KiB pieces, as a web upload arrives (the pieces are reused)."""
    pieces = [os.urandom(CHUNK) for _ in range(16)]
    for i in range(TOTAL // CHUNK):
        piece = pieces[i % 16]
        digest.update(piece)
        yield piece


class HashingSink:
    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.count = 0

    def write(self, data: memoryview) -> int:
        self.digest.update(data)
        self.count += len(data)
        return len(data)


def test_iterators_stream_200_mib_in_bounded_memory() -> None:
    sent, received = hashlib.sha256(), hashlib.sha256()
    dek = os.urandom(32)
    tracemalloc.start()
    try:
        ciphertext = encrypt_iter(dek, b"aad", upload(sent))
        for piece in decrypt_iter(dek, b"aad", ciphertext):
            received.update(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received.digest() == sent.digest()
    assert peak < LIMIT, f"peak {peak / 2**20:.1f} MiB"


def test_file_like_paths_stream_200_mib_in_bounded_memory() -> None:
    sent = hashlib.sha256()
    dek = os.urandom(32)
    tracemalloc.start()
    try:
        blob_sink = HashingSink()
        # The ciphertext is re-created for decryption by encrypting again into
        # an iterator; keeping 200 MiB around would defeat the test.
        encrypt_stream(dek, b"aad", upload(hashlib.sha256()), blob_sink)
        plain_sink = HashingSink()
        decrypt_stream(dek, b"aad", encrypt_iter(dek, b"aad", upload(sent)), plain_sink)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert plain_sink.digest.digest() == sent.digest()
    assert plain_sink.count == TOTAL
    assert blob_sink.count > TOTAL
    assert peak < LIMIT, f"peak {peak / 2**20:.1f} MiB"
