"""Every way of altering a VSF1 blob is rejected, and no unverified plaintext comes out.

Small segments (64 bytes) so a few hundred bytes cross many segment
boundaries; the layout is the same as with 1 MiB segments.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import pytest

from crypto import (
    CryptoError,
    FormatError,
    IntegrityError,
    decrypt_bytes,
    decrypt_iter,
    decrypt_stream,
)
from crypto import encrypt_iter as _encrypt_iter

S = 64
DEK = os.urandom(32)
AAD = b"vsf1|vault|document|1"
PLAINTEXT = os.urandom(8 + 48 * 5 + 20)  # segment 0, five full segments, a partial last one
BLOB = b"".join(_encrypt_iter(DEK, AAD, [PLAINTEXT], segment_size=S))


@pytest.fixture(autouse=True, params=["iterator", "file-like"])
def _path(request: pytest.FixtureRequest) -> Iterator[None]:
    """Run every case through both decryption paths (they buffer differently)."""
    global _PATH
    _PATH = request.param
    yield
    _PATH = "iterator"


_PATH = "iterator"


def decrypt(blob: bytes, *, dek: bytes = DEK, aad: bytes = AAD) -> bytes:
    if _PATH == "file-like":
        sink = io.BytesIO()
        decrypt_stream(dek, aad, io.BytesIO(blob), sink, segment_size=S)
        return sink.getvalue()
    return b"".join(list(decrypt_iter(dek, aad, [blob], segment_size=S)))


def segments(blob: bytes) -> list[bytes]:
    """Split a blob into [header, segment 0, segment 1, ...]."""
    parts = [blob[:40], blob[40:S]]
    parts += [blob[i : i + S] for i in range(S, len(blob), S)]
    return parts


def test_layout_of_the_test_blob() -> None:
    parts = segments(BLOB)
    assert len(parts) == 8  # header + 7 segments
    assert [len(p) for p in parts] == [40, 24, 64, 64, 64, 64, 64, 36]
    assert decrypt(BLOB) == PLAINTEXT


@pytest.mark.parametrize("position", range(len(BLOB)))
def test_a_bit_flip_anywhere_is_rejected(position: int) -> None:
    for bit in (0, 7):
        altered = bytearray(BLOB)
        altered[position] ^= 1 << bit
        with pytest.raises(FormatError if position == 0 else IntegrityError):
            decrypt(bytes(altered))


@pytest.mark.parametrize("length", range(len(BLOB)))
def test_truncation_anywhere_is_rejected(length: int) -> None:
    """At segment boundaries (the last-segment flag catches it) and between them."""
    with pytest.raises(IntegrityError):
        decrypt(BLOB[:length])


def test_truncation_exactly_at_each_boundary() -> None:
    boundaries = [40, S, 2 * S, 3 * S, 4 * S, 5 * S, 6 * S]
    for boundary in boundaries:
        with pytest.raises(IntegrityError):
            decrypt(BLOB[:boundary])


# Named ids: random values would name the tests differently in each process
# (pytest-xdist's workers must collect the same tests).
@pytest.mark.parametrize(
    "extra",
    [b"\0", os.urandom(15), os.urandom(16), os.urandom(64)],
    ids=["zero-byte", "15-bytes", "16-bytes", "64-bytes"],
)
def test_appended_bytes_are_rejected(extra: bytes) -> None:
    with pytest.raises(IntegrityError):
        decrypt(BLOB + extra)


def test_an_appended_copy_of_the_last_segment_is_rejected() -> None:
    with pytest.raises(IntegrityError):
        decrypt(BLOB + segments(BLOB)[-1])


@pytest.mark.parametrize("index", range(1, 8))
def test_a_dropped_segment_is_rejected(index: int) -> None:
    parts = segments(BLOB)
    del parts[index]
    with pytest.raises(IntegrityError):
        decrypt(b"".join(parts))


@pytest.mark.parametrize("index", range(2, 7))
def test_a_duplicated_segment_is_rejected(index: int) -> None:
    parts = segments(BLOB)
    parts.insert(index, parts[index])
    with pytest.raises(IntegrityError):
        decrypt(b"".join(parts))


@pytest.mark.parametrize(("a", "b"), [(2, 3), (3, 6), (2, 6)])
def test_reordered_segments_are_rejected(a: int, b: int) -> None:
    parts = segments(BLOB)
    parts[a], parts[b] = parts[b], parts[a]
    with pytest.raises(IntegrityError):
        decrypt(b"".join(parts))


def test_changed_header_is_rejected() -> None:
    other = b"".join(_encrypt_iter(DEK, AAD, [PLAINTEXT], segment_size=S))
    with pytest.raises(IntegrityError):  # another blob's salt and nonce prefix
        decrypt(other[:40] + BLOB[40:])
    with pytest.raises(IntegrityError):  # only the nonce prefix swapped
        decrypt(BLOB[:33] + other[33:40] + BLOB[40:])
    with pytest.raises(FormatError):  # another header length
        decrypt(b"\x20" + BLOB[1:])


def test_segments_of_another_blob_are_rejected() -> None:
    other = b"".join(_encrypt_iter(DEK, AAD, [PLAINTEXT], segment_size=S))
    with pytest.raises(IntegrityError):
        decrypt(BLOB[: 2 * S] + other[2 * S :])


def test_wrong_associated_data_is_rejected() -> None:
    with pytest.raises(IntegrityError):
        decrypt(BLOB, aad=AAD + b"x")
    with pytest.raises(IntegrityError):
        decrypt(BLOB, aad=b"")


def test_wrong_key_is_rejected() -> None:
    with pytest.raises(IntegrityError):
        decrypt(BLOB, dek=os.urandom(32))


def test_wrong_segment_size_is_rejected() -> None:
    with pytest.raises(IntegrityError):
        b"".join(decrypt_iter(DEK, AAD, [BLOB], segment_size=S + 1))


def test_no_unverified_plaintext_comes_out() -> None:
    """Segments are released only after their own tag verified."""
    altered = bytearray(BLOB)
    altered[3 * S + 5] ^= 1  # inside segment 3
    released: list[bytes] = []
    with pytest.raises(IntegrityError):
        for piece in decrypt_iter(DEK, AAD, [bytes(altered)], segment_size=S):
            released.append(piece)
    assert b"".join(released) == PLAINTEXT[: 8 + 48 * 2]  # segments 0, 1 and 2 only


def test_decrypt_bytes_returns_nothing_unless_all_verified() -> None:
    blob = b"".join(_encrypt_iter(DEK, AAD, [PLAINTEXT]))
    with pytest.raises(CryptoError):
        decrypt_bytes(DEK, AAD, blob[:-1])
    assert decrypt_bytes(DEK, AAD, blob) == PLAINTEXT


def test_failed_segment_leaves_no_plaintext_in_views_a_sink_kept() -> None:
    """A careless sink keeping the views it was given never sees unverified bytes."""

    class KeepingSink:
        def __init__(self) -> None:
            self.views: list[memoryview] = []

        def write(self, data: memoryview) -> int:
            self.views.append(data)
            return len(data)

    altered = bytearray(BLOB)
    altered[4 * S - 1] ^= 1  # the tag of segment 3: its plaintext decrypts intact
    sink = KeepingSink()
    with pytest.raises(IntegrityError):
        decrypt_stream(DEK, AAD, io.BytesIO(bytes(altered)), sink, segment_size=S)
    failed_segment = PLAINTEXT[8 + 48 * 2 : 8 + 48 * 3]
    for view in sink.views:
        assert failed_segment not in bytes(view.obj)
