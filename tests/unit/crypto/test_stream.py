"""VSF1 streams: round trips over every kind of source and sink, lengths, ranges."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import (
    CiphertextRange,
    FormatError,
    IntegrityError,
    blob_aad,
    ciphertext_length,
    decrypt_bytes,
    decrypt_iter,
    decrypt_range,
    decrypt_range_iter,
    decrypt_stream,
    encrypt_bytes,
    encrypt_iter,
    encrypt_stream,
    plaintext_length,
    plaintext_range_to_ciphertext_range,
)
from crypto import stream as stream_module

DEK = bytes(range(32))
AAD = b"vsf1|test"
SMALL_SEGMENTS = st.sampled_from([64, 65, 100, 128])


class ReadOnly:
    """A file-like object with read() but no readinto(), returning short reads."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self._data = memoryview(data)
        self._step = step

    def read(self, size: int = -1) -> bytes:
        size = min(size, self._step)
        chunk, self._data = self._data[:size], self._data[size:]
        return bytes(chunk)


class ShortReadInto(io.RawIOBase):
    """A raw stream whose readinto() returns at most a few bytes at a time."""

    def __init__(self, data: bytes, step: int = 5) -> None:
        self._data = memoryview(data)
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._step, len(self._data))
        buffer[:n] = self._data[:n]
        self._data = self._data[n:]
        return n


class ShortWriter:
    """A sink that accepts at most a few bytes per write, like a raw file may."""

    def __init__(self, step: int = 11) -> None:
        self.data = bytearray()
        self._step = step

    def write(self, data: memoryview) -> int:
        n = min(len(data), self._step)
        self.data += data[:n]
        return n


class UncountedWriter:
    """A sink whose write() returns None (it takes everything)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: memoryview) -> None:
        self.data += data


def chunked(data: bytes, sizes: list[int]) -> Iterator[bytes]:
    """Split ``data`` into chunks of the given sizes (cycled), including empty ones."""
    if not any(sizes):
        sizes = [len(data)]
    position, index = 0, 0
    while position < len(data):
        size = sizes[index % len(sizes)]
        yield data[position : position + size]  # empty chunks too: sources may send them
        position += size
        index += 1


def make_source(kind: str, data: bytes, sizes: list[int]) -> object:
    if kind == "bytesio":
        return io.BytesIO(data)
    if kind == "read-only":
        return ReadOnly(data)
    if kind == "short-readinto":
        return ShortReadInto(data)
    if kind == "bytearray-chunks":
        return [bytearray(c) for c in chunked(data, sizes)]
    return chunked(data, sizes)


SOURCES = st.sampled_from(["bytesio", "read-only", "short-readinto", "chunks", "bytearray-chunks"])


@settings(max_examples=150, deadline=None)
@given(
    plaintext=st.binary(max_size=700),
    segment_size=SMALL_SEGMENTS,
    source_kind=SOURCES,
    sizes=st.lists(st.integers(0, 300), max_size=5),
    use_stream=st.booleans(),
)
def test_round_trip(
    plaintext: bytes, segment_size: int, source_kind: str, sizes: list[int], use_stream: bool
) -> None:
    source = make_source(source_kind, plaintext, sizes)
    if use_stream:
        sink = io.BytesIO()
        written = encrypt_stream(DEK, AAD, source, sink, segment_size=segment_size)  # type: ignore[arg-type]
        blob = sink.getvalue()
        assert written == len(blob)
    else:
        blob = b"".join(encrypt_iter(DEK, AAD, source, segment_size=segment_size))  # type: ignore[arg-type]
    assert len(blob) == ciphertext_length(len(plaintext), segment_size=segment_size)
    assert plaintext_length(len(blob), segment_size=segment_size) == len(plaintext)
    assert plaintext not in blob or len(plaintext) < 8

    back_source = make_source(source_kind, blob, sizes)
    if use_stream:
        out = io.BytesIO()
        count = decrypt_stream(DEK, AAD, back_source, out, segment_size=segment_size)  # type: ignore[arg-type]
        assert out.getvalue() == plaintext
        assert count == len(plaintext)
    else:
        pieces = list(decrypt_iter(DEK, AAD, back_source, segment_size=segment_size))  # type: ignore[arg-type]
        assert b"".join(pieces) == plaintext
        assert all(isinstance(p, bytes) for p in pieces)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), segment_size=SMALL_SEGMENTS)
def test_ranged_decryption(data: st.DataObject, segment_size: int) -> None:
    total = data.draw(st.integers(1, 600), label="total")
    offset = data.draw(st.integers(0, total - 1), label="offset")
    length = data.draw(st.integers(1, total - offset), label="length")
    plaintext = os.urandom(total)
    blob = b"".join(encrypt_iter(DEK, AAD, [plaintext], segment_size=segment_size))
    rng = plaintext_range_to_ciphertext_range(offset, length, total, segment_size=segment_size)
    assert 0 <= rng.start < rng.end <= len(blob)
    assert rng.needs_header == (rng.start != 0)
    fetched = blob[rng.start : rng.end]
    header = blob[:40] if rng.needs_header else None
    assert (
        decrypt_range(DEK, AAD, rng, fetched, header=header) == plaintext[offset : offset + length]
    )
    # Streaming form, ciphertext arriving in small pieces.
    pieces = decrypt_range_iter(DEK, AAD, rng, chunked(fetched, [13]), header=blob[:40])
    assert b"".join(pieces) == plaintext[offset : offset + length]


def test_ranged_decryption_with_real_segments() -> None:
    size = stream_module.SEGMENT_SIZE
    total = 3 * size + 12345
    plaintext = os.urandom(total)
    blob = encrypt_bytes(DEK, AAD, plaintext)
    first = size - 56
    for offset, length in [
        (0, 1),
        (first - 1, 2),  # across the first boundary
        (first, size - 16),  # exactly segment 1
        (first + size - 17, 2),  # across the second boundary
        (total - 1, 1),  # the very last byte
        (12, total - 12),
    ]:
        rng = plaintext_range_to_ciphertext_range(offset, length, total)
        got = decrypt_range(DEK, AAD, rng, blob[rng.start : rng.end], header=blob[:40])
        assert got == plaintext[offset : offset + length]
    rng = plaintext_range_to_ciphertext_range(first, size - 16, total)
    assert (rng.first_segment, rng.last_segment) == (1, 1)
    assert (rng.start, rng.end) == (size, 2 * size)


def test_range_arguments_are_checked() -> None:
    for offset, length, total in [(-1, 1, 10), (0, 0, 10), (5, 6, 10), (0, 1, 0)]:
        with pytest.raises(ValueError):
            plaintext_range_to_ciphertext_range(offset, length, total, segment_size=64)
    blob = encrypt_bytes(DEK, AAD, os.urandom(500))
    rng = plaintext_range_to_ciphertext_range(400, 10, 500, segment_size=64)
    with pytest.raises(ValueError, match="header"):
        decrypt_range(DEK, AAD, rng, blob[rng.start : rng.end])


def _small_blob(total: int = 500, segment_size: int = 64) -> tuple[bytes, bytes]:
    plaintext = os.urandom(total)
    return plaintext, b"".join(encrypt_iter(DEK, AAD, [plaintext], segment_size=segment_size))


def test_range_tampering_is_rejected() -> None:
    _, blob = _small_blob()
    rng = plaintext_range_to_ciphertext_range(100, 150, 500, segment_size=64)
    fetched = blob[rng.start : rng.end]
    with pytest.raises(IntegrityError):  # short read
        decrypt_range(DEK, AAD, rng, fetched[:-1], header=blob[:40])
    with pytest.raises(FormatError):  # the store returned more than asked
        decrypt_range(DEK, AAD, rng, fetched + b"\0", header=blob[:40])
    flipped = bytearray(fetched)
    flipped[70] ^= 1
    with pytest.raises(IntegrityError):
        decrypt_range(DEK, AAD, rng, bytes(flipped), header=blob[:40])
    with pytest.raises(FormatError):
        decrypt_range(DEK, AAD, rng, fetched, header=b"\x27" + blob[1:40])
    with pytest.raises(FormatError):
        decrypt_range(DEK, AAD, rng, fetched, header=blob[:39])
    with pytest.raises(IntegrityError):
        decrypt_range(DEK, b"other", rng, fetched, header=blob[:40])
    # A range starting at 0 carries its header.
    rng0 = plaintext_range_to_ciphertext_range(0, 10, 500, segment_size=64)
    with pytest.raises(IntegrityError):
        decrypt_range(DEK, AAD, rng0, blob[:30])


def test_lying_about_the_total_length_is_rejected() -> None:
    """The size is stored in clear: a changed size must not shorten a document unseen."""
    plaintext, blob = _small_blob(total=200)
    for lie in (199, 150, 152, 201, 260):
        # Asking for the (claimed) end of the document checks the last-segment flag.
        rng = plaintext_range_to_ciphertext_range(lie - 1, 1, lie, segment_size=64)
        with pytest.raises(IntegrityError):
            decrypt_range(DEK, AAD, rng, blob[rng.start : rng.end], header=blob[:40])
    # Slices that stop before the end are authentic whatever the claimed size.
    rng = plaintext_range_to_ciphertext_range(0, 100, 150, segment_size=64)
    got = decrypt_range(DEK, AAD, rng, blob[rng.start : rng.end])
    assert got == plaintext[:100]


def test_ciphertext_range_is_a_value() -> None:
    rng = plaintext_range_to_ciphertext_range(0, 1, 1, segment_size=64)
    assert rng == CiphertextRange(0, 1, 1, 64, 0, 0, 0, 57)
    with pytest.raises(AttributeError):
        rng.start = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("plaintext", "expected"),
    [
        (0, 56),
        (1, 57),
        (2**20 - 57, 2**20 - 1),
        (2**20 - 56, 2**20),
        (2**20 - 55, 2**20 + 17),
        (3 * 2**20 + 12345, 3158177),  # what Tink wrote for the same size
    ],
)
def test_ciphertext_length_matches_tink(plaintext: int, expected: int) -> None:
    assert ciphertext_length(plaintext) == expected
    assert plaintext_length(expected) == plaintext


@pytest.mark.parametrize("length", [*range(56), 64 + 1, 64 + 16, 2 * 64 + 8])
def test_impossible_ciphertext_lengths(length: int) -> None:
    with pytest.raises(FormatError):
        plaintext_length(length, segment_size=64)


def test_lengths_check_arguments() -> None:
    with pytest.raises(ValueError):
        ciphertext_length(-1)
    with pytest.raises(ValueError):
        ciphertext_length(10, segment_size=63)
    with pytest.raises(ValueError):
        list(encrypt_iter(DEK, AAD, [b"x"], segment_size=56))


def test_keys_must_be_32_bytes() -> None:
    with pytest.raises(ValueError):
        encrypt_bytes(DEK[:16], AAD, b"x")
    blob = encrypt_bytes(DEK, AAD, b"x")
    with pytest.raises(ValueError):
        decrypt_bytes(DEK + b"\0", AAD, blob)


def test_sinks_that_take_part_or_do_not_count() -> None:
    plaintext = os.urandom(1000)
    short = ShortWriter()
    encrypt_stream(DEK, AAD, io.BytesIO(plaintext), short, segment_size=64)  # type: ignore[arg-type]
    uncounted = UncountedWriter()
    decrypt_stream(DEK, AAD, [bytes(short.data)], uncounted, segment_size=64)  # type: ignore[arg-type]
    assert bytes(uncounted.data) == plaintext


def test_non_blocking_source_is_refused() -> None:
    class NonBlocking:
        def readinto(self, buffer: memoryview) -> None:
            return None

    with pytest.raises(ValueError, match="non-blocking"):
        list(encrypt_iter(DEK, AAD, NonBlocking()))  # type: ignore[arg-type]


def test_segment_counter_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 32-bit segment index must never wrap around (nonce reuse)."""
    blob = b"".join(encrypt_iter(DEK, AAD, [bytes(200)], segment_size=64))
    monkeypatch.setattr(stream_module, "_MAX_SEGMENTS", 3)
    with pytest.raises(FormatError):
        list(encrypt_iter(DEK, AAD, [bytes(200)], segment_size=64))
    with pytest.raises(FormatError):
        list(decrypt_iter(DEK, AAD, [blob], segment_size=64))


def test_blob_aad_layout() -> None:
    vault, document = uuid.uuid4(), uuid.uuid4()
    aad = blob_aad(vault, document, 7)
    assert aad == b"vsf1|" + vault.bytes + document.bytes + b"\0\0\0\x07"
    with pytest.raises(ValueError):
        blob_aad(vault, document, -1)
    with pytest.raises(ValueError):
        blob_aad(vault, document, 2**32)


def test_each_blob_gets_fresh_salt_and_nonce_prefix() -> None:
    first, second = encrypt_bytes(DEK, AAD, b"same"), encrypt_bytes(DEK, AAD, b"same")
    assert first[0] == second[0] == 40
    assert first[1:33] != second[1:33]
    assert first[33:40] != second[33:40]


def test_bytes_are_taken_as_one_chunk() -> None:
    plaintext = os.urandom(300)
    blob = b"".join(encrypt_iter(DEK, AAD, plaintext, segment_size=64))
    assert b"".join(decrypt_iter(DEK, AAD, bytearray(blob), segment_size=64)) == plaintext
    assert b"".join(decrypt_iter(DEK, AAD, memoryview(blob), segment_size=64)) == plaintext
