"""The contract every ``BlobStore`` honours, run on every backend.

Each test runs twice: on the local backend and on a real S3 server
(SeaweedFS started by the ``s3_server`` fixture, or ``VAULT_TEST_S3_URL``).
"""

from __future__ import annotations

import hashlib
import io
import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import (
    CHUNK_SIZE,
    BlobInfo,
    BlobNotFound,
    BlobReader,
    BlobStore,
    InvalidKey,
    LocalBlobStore,
    new_key,
)

MiB = 1024 * 1024
SIZES = [0, 1, 8 * MiB - 1, 8 * MiB, 8 * MiB + 1]


def payload(size: int, seed: int = 0) -> bytes:
    return random.Random(seed * 1_000_003 + size).randbytes(size)


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def read_all(store: BlobStore, key: str, start: int = 0, length: int | None = None) -> bytes:
    with store.open(key, start, length) as reader:
        return b"".join(reader)


class ReadOnlyStream:
    """A socket-like source: read(n) with short reads, no seek, no readinto."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._data.read(min(n, 100_003) if n >= 0 else 100_003)


def sources(data: bytes) -> dict[str, object]:
    return {
        "file": io.BytesIO(data),
        "stream": ReadOnlyStream(data),
        # odd chunk sizes: never aligned with parts or read sizes
        "chunks": chunked(data, 1_000_003),
        "tiny-chunks": chunked(data, 65_537) if len(data) < 9 * MiB else iter([data]),
        "bytes": data,
    }


# -- round trips ---------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", ["file", "stream", "chunks", "tiny-chunks", "bytes"])
def test_put_then_read_back(store: BlobStore, prefix: str, size: int, kind: str) -> None:
    data = payload(size)
    key = new_key(prefix)
    info = store.put(key, sources(data)[kind])  # type: ignore[arg-type]
    assert info.key == key
    assert info.size == size
    assert info.etag
    stat = store.stat(key)
    assert (stat.key, stat.size, stat.etag) == (key, size, info.etag)
    assert store.exists(key)
    assert read_all(store, key) == data
    with store.open(key) as reader:
        chunks = list(reader)
    assert all(0 < len(c) <= CHUNK_SIZE for c in chunks)
    assert b"".join(chunks) == data


@pytest.mark.parametrize("size", [0, 1, 8 * MiB + 1])
def test_put_with_declared_length(store: BlobStore, prefix: str, size: int) -> None:
    data = payload(size, seed=3)
    key = new_key(prefix)
    assert store.put(key, chunked(data, 777_777), length=size).size == size
    assert read_all(store, key) == data


def test_put_from_a_real_file_starts_at_its_position(
    store: BlobStore, prefix: str, tmp_path: Path
) -> None:
    data = payload(3 * MiB + 5, seed=4)
    path = tmp_path / "source.bin"
    path.write_bytes(data)
    key = new_key(prefix)
    with path.open("rb") as f:
        f.read(1000)
        assert store.put(key, f).size == len(data) - 1000
    assert read_all(store, key) == data[1000:]


@pytest.mark.slow
def test_64_mib_streams_through(store: BlobStore, prefix: str) -> None:
    size = 64 * MiB
    expected = hashlib.sha256()

    def generate() -> Iterator[bytes]:
        rng = random.Random(64)
        sent = 0
        while sent < size:
            chunk = rng.randbytes(min(1_048_573, size - sent))
            expected.update(chunk)
            sent += len(chunk)
            yield chunk

    key = new_key(prefix)
    info = store.put(key, generate())
    assert info.size == size == store.stat(key).size
    got = hashlib.sha256()
    total = 0
    with store.open(key) as reader:
        for chunk in reader:
            got.update(chunk)
            total += len(chunk)
    assert total == size
    assert got.hexdigest() == expected.hexdigest()
    # a range across the middle, read with read(n)
    with store.open(key, 33 * MiB - 7, 3 * MiB) as reader:
        assert len(reader.read(2 * MiB)) == 2 * MiB
        assert len(reader.read(2 * MiB)) == MiB
        assert reader.read(10) == b""


@pytest.mark.parametrize("declared", [5, 7])
def test_length_mismatch_stores_nothing(store: BlobStore, prefix: str, declared: int) -> None:
    key = new_key(prefix)
    with pytest.raises(ValueError):
        store.put(key, [b"abc", b"def"], length=declared)
    assert not store.exists(key)


def test_length_mismatch_keeps_the_previous_blob(store: BlobStore, prefix: str) -> None:
    key = new_key(prefix)
    store.put(key, b"previous")
    with pytest.raises(ValueError):
        store.put(key, io.BytesIO(payload(9 * MiB)), length=9 * MiB + 1)
    assert read_all(store, key) == b"previous"


def test_overwrite_replaces_content_and_etag(store: BlobStore, prefix: str) -> None:
    key = new_key(prefix)
    first = store.put(key, b"first version")
    second = store.put(key, b"second, longer version")
    assert read_all(store, key) == b"second, longer version"
    assert store.stat(key).size == second.size == 22
    assert second.etag != first.etag


def test_blob_info_and_reader_types(store: BlobStore, prefix: str) -> None:
    assert isinstance(store, BlobStore)
    assert store.name in {"local", "s3"}
    key = new_key(prefix)
    before = datetime.now(UTC) - timedelta(seconds=5)
    info = store.put(key, b"x")
    after = datetime.now(UTC) + timedelta(seconds=5)
    for value in (info, store.stat(key), *store.list(prefix)):
        assert isinstance(value, BlobInfo)
        assert value.modified.utcoffset() == timedelta(0)
        assert before <= value.modified <= after
    reader = store.open(key)
    assert isinstance(reader, BlobReader)
    with reader as same:
        assert same is reader
        assert same.read() == b"x"
    reader.close()  # idempotent


# -- ranges --------------------------------------------------------------------

RANGE_SIZE = 3 * MiB + 17
RANGES = [
    (0, None),
    (0, 0),
    (0, 1),
    (1, 1),
    (5, 10),
    (CHUNK_SIZE - 3, 10),  # across a chunk boundary
    (1000, 2 * MiB),
    (RANGE_SIZE - 1, None),
    (RANGE_SIZE - 1, 10),  # cut short at the end
    (RANGE_SIZE, None),  # at the end: empty
    (RANGE_SIZE + 5, 3),  # past the end: empty
    (RANGE_SIZE + 5, None),
]


@pytest.fixture
def ranged(store: BlobStore, prefix: str) -> tuple[str, bytes]:
    data = payload(RANGE_SIZE, seed=9)
    key = new_key(prefix)
    store.put(key, data)
    return key, data


@pytest.mark.parametrize(("start", "length"), RANGES)
def test_range_read(
    store: BlobStore, ranged: tuple[str, bytes], start: int, length: int | None
) -> None:
    key, data = ranged
    end = None if length is None else start + length
    assert read_all(store, key, start, length) == data[start:end]


def test_read_n_returns_exactly_n_until_the_end(
    store: BlobStore, ranged: tuple[str, bytes]
) -> None:
    key, data = ranged
    with store.open(key, 10) as reader:
        assert reader.read(0) == b""
        parts = [reader.read(999_999) for _ in range(3)]
        assert [len(p) for p in parts] == [999_999] * 3
        rest = reader.read()
        assert reader.read(5) == b""
    assert b"".join([*parts, rest]) == data[10:]


def test_empty_blob_ranges(store: BlobStore, prefix: str) -> None:
    key = new_key(prefix)
    store.put(key, b"")
    assert read_all(store, key) == b""
    assert read_all(store, key, 0, 0) == b""
    assert read_all(store, key, 3) == b""


def test_negative_range_is_refused(store: BlobStore, ranged: tuple[str, bytes]) -> None:
    key, _ = ranged
    with pytest.raises(ValueError):
        store.open(key, -1)
    with pytest.raises(ValueError):
        store.open(key, 0, -1)


# -- missing keys, delete --------------------------------------------------------


def test_missing_key(store: BlobStore, prefix: str) -> None:
    key = new_key(prefix)
    assert not store.exists(key)
    with pytest.raises(BlobNotFound):
        store.stat(key)
    for start, length in [(0, None), (0, 0), (10, 5)]:
        with pytest.raises(BlobNotFound):
            store.open(key, start, length)
    store.delete(key)  # not an error


def test_a_key_prefix_is_not_a_blob(store: BlobStore, prefix: str) -> None:
    store.put(f"{prefix}/dir/leaf", b"leaf")
    assert not store.exists(f"{prefix}/dir")
    with pytest.raises(BlobNotFound):
        store.stat(f"{prefix}/dir")
    with pytest.raises(BlobNotFound):
        store.open(f"{prefix}/dir")
    store.delete(f"{prefix}/dir")
    assert read_all(store, f"{prefix}/dir/leaf") == b"leaf"


def test_delete_is_idempotent(store: BlobStore, prefix: str) -> None:
    key = new_key(prefix)
    store.put(key, b"to be deleted")
    store.delete(key)
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(BlobNotFound):
        store.open(key)
    store.put(key, b"again")  # the key can be used again
    assert read_all(store, key) == b"again"


# -- listing -------------------------------------------------------------------


def test_list_by_prefix(store: BlobStore, prefix: str) -> None:
    keys = {
        f"{prefix}/ab/x": b"1",
        f"{prefix}/ab/y/z": b"22",
        f"{prefix}/abc": b"333",
        f"{prefix}/b": b"4444",
    }
    for key, data in keys.items():
        store.put(key, data)

    def listed(p: str) -> dict[str, int]:
        return {info.key: info.size for info in store.list(p)}

    everything = {k: len(v) for k, v in keys.items()}
    assert listed(prefix) == everything
    assert listed(prefix + "/") == everything
    assert listed(f"{prefix}/ab") == {k: everything[k] for k in keys if "/ab" in k}
    assert listed(f"{prefix}/ab/") == {k: everything[k] for k in keys if "/ab/" in k}
    assert listed(f"{prefix}/b") == {f"{prefix}/b": 4}
    assert listed(f"{prefix}/nothing") == {}
    assert listed(f"{prefix}/ab/x/deeper") == {}
    infos = {info.key: info for info in store.list(prefix)}
    assert infos[f"{prefix}/abc"].etag == store.stat(f"{prefix}/abc").etag
    assert set(everything) <= {info.key for info in store.list("")}


def test_deleted_blobs_leave_the_listing(store: BlobStore, prefix: str) -> None:
    kept, gone = new_key(prefix), new_key(prefix)
    store.put(kept, b"kept")
    store.put(gone, b"gone")
    store.delete(gone)
    assert [info.key for info in store.list(prefix)] == [kept]


# -- keys ------------------------------------------------------------------------

BAD_KEYS = [
    "",
    "/abs",
    "trailing/",
    "a//b",
    "..",
    "../escape",
    "a/../b",
    "a/./b",
    ".hidden",
    "dot.ted",
    "Upper",
    "spa ce",
    "nul\x00",
    "back\\slash",
    "é",
    "x" * 256,
    "y" * 129,
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_refused(store: BlobStore, key: str) -> None:
    with pytest.raises(InvalidKey):
        store.put(key, b"x")
    with pytest.raises(InvalidKey):
        store.open(key)
    with pytest.raises(InvalidKey):
        store.stat(key)
    with pytest.raises(InvalidKey):
        store.delete(key)
    with pytest.raises(InvalidKey):
        store.exists(key)


@pytest.mark.parametrize("bad", ["/", "/a", "a//b", "..", "Up", "a.b", "z" * 300])
def test_bad_list_prefixes_are_refused(store: BlobStore, bad: str) -> None:
    with pytest.raises(InvalidKey):
        list(store.list(bad))


def test_new_key_is_fresh_and_valid(store: BlobStore, prefix: str) -> None:
    keys = {new_key(prefix) for _ in range(100)}
    assert len(keys) == 100
    for key in keys:
        assert key.startswith(prefix + "/")
    store.put(keys.pop(), b"ok")


# -- concurrency and failures -----------------------------------------------------


def test_concurrent_puts_of_distinct_keys(store: BlobStore, prefix: str) -> None:
    blobs = {new_key(prefix): payload(MiB + i * 4099, seed=i) for i in range(12)}
    with ThreadPoolExecutor(max_workers=6) as pool:
        infos = list(pool.map(lambda kv: store.put(kv[0], chunked(kv[1], 300_001)), blobs.items()))
    assert {i.key: i.size for i in infos} == {k: len(v) for k, v in blobs.items()}
    for key, data in blobs.items():
        assert read_all(store, key) == data


def test_concurrent_puts_of_one_key_never_mix(store: BlobStore, prefix: str) -> None:
    key = new_key(prefix)
    versions = [payload(6 * MiB + 1, seed=100 + i) for i in range(4)]
    barrier = threading.Barrier(len(versions))

    def put(data: bytes) -> BlobInfo:
        barrier.wait()
        return store.put(key, chunked(data, 500_000))

    with ThreadPoolExecutor(max_workers=len(versions)) as pool:
        list(pool.map(put, versions))
    assert read_all(store, key) in versions


class SourceBroke(Exception):
    pass


@pytest.mark.parametrize("fail_after", [0, 3 * MiB, 17 * MiB])
def test_failing_source_leaves_nothing_behind(
    store: BlobStore, prefix: str, fail_after: int
) -> None:
    """The caller's stream breaks (a client hangs up, decryption fails...)."""
    key, previous = new_key(prefix), new_key(prefix)
    store.put(previous, b"old")

    def broken() -> Iterator[bytes]:
        yield from chunked(payload(fail_after, seed=5), 1_000_000)
        raise SourceBroke("the source broke")

    for target in (key, previous):
        with pytest.raises(SourceBroke):  # the caller's own exception, unchanged
            store.put(target, broken())
    assert not store.exists(key)
    assert read_all(store, previous) == b"old"
    assert {i.key for i in store.list(prefix)} == {previous}
    if isinstance(store, LocalBlobStore):
        assert not any((store.root / ".partial").iterdir())


def test_describe_is_safe(store: BlobStore) -> None:
    text = store.describe()
    assert text.startswith(("file:///", "s3://"))
    assert "@" not in text
