"""S3 failure modes: unreachable or stopped servers, refused credentials.

The "stopped in the middle" tests run a dedicated SeaweedFS that they kill
with SIGKILL (as a crash or a network cut would look to the client), then
restart on the same data to check what is visible afterwards.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
import urllib3

from storage import (
    BlobNotFound,
    BlobStore,
    S3BlobStore,
    StorageAccessDenied,
    StorageError,
    StorageUnavailable,
    new_key,
    open_store,
)
from tests.s3server import S3Target, SeaweedFS, fresh_bucket

MiB = 1024 * 1024
SECRET = "s3cr3t-Never-Shown"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def assert_clean(error: BaseException, secret: str = SECRET) -> None:
    """A storage error, one line, no secret, no SDK type anywhere in its chain."""
    assert isinstance(error, StorageError)
    text = str(error)
    assert text and "\n" not in text
    assert secret not in text
    assert type(error).__module__ == "storage.errors"


def test_unreachable_server_gives_a_clear_error_quickly() -> None:
    store = open_store(
        f"s3://key:{SECRET}@127.0.0.1:{closed_port()}/vault-blobs?secure=false&retries=2"
    )
    try:
        operations: list[Callable[[], object]] = [
            lambda: store.stat("a/b"),
            lambda: store.exists("a/b"),
            lambda: store.open("a/b"),
            lambda: store.delete("a/b"),
            lambda: list(store.list("a")),
            lambda: store.put("a/b", iter([b"data"])),
        ]
        for operation in operations:
            started = time.monotonic()
            with pytest.raises(StorageUnavailable) as caught:
                operation()
            assert time.monotonic() - started < 15
            assert_clean(caught.value)
            assert "cannot connect" in str(caught.value)
            assert "127.0.0.1" in str(caught.value)
    finally:
        store.close()


def test_wrong_credentials_are_refused(s3_server: S3Target) -> None:
    parts = urlsplit(s3_server.url)
    url = s3_server.url.replace(f":{parts.password}@", f":{SECRET}@")
    store = open_store(url)
    try:
        for operation in (lambda: store.stat("a/b"), lambda: store.put("a/b", b"x")):
            with pytest.raises(StorageAccessDenied) as caught:
                operation()
            assert_clean(caught.value)
    finally:
        store.close()


def test_anonymous_requests_are_refused(s3_server: S3Target) -> None:
    """The test server must check signatures, or the other tests prove little."""
    store = open_store(s3_server.url)
    key = new_key("anonymous")
    store.put(key, b"private")
    try:
        endpoint = urlsplit(store.describe()).netloc
        bucket = urlsplit(store.describe()).path.strip("/")
        with urllib3.PoolManager(retries=False) as http:
            for method, path in [
                ("GET", f"/{bucket}/{key}"),
                ("GET", f"/{bucket}?list-type=2"),
                ("PUT", f"/{bucket}/{key}"),
                ("GET", "/"),
            ]:
                response = http.request(method, f"http://{endpoint}{path}", body=b"evil")
                assert response.status == 403, (method, path, response.status)
        with store.open(key) as reader:
            assert reader.read() == b"private"
    finally:
        store.delete(key)
        store.close()


def test_bucket_is_created_on_first_put(s3_server: S3Target) -> None:
    parts = urlsplit(s3_server.url)
    url = s3_server.url.replace(parts.path, "/" + fresh_bucket())
    store = open_store(url)
    try:
        assert not store.exists("a/b")  # a missing bucket reads as empty
        assert list(store.list()) == []
        store.delete("a/b")
        store.put("a/b", b"first")
        assert store.exists("a/b")
        assert isinstance(store, S3BlobStore)
        store.check()
    finally:
        store.delete("a/b")
        store.close()


# -- the server stops in the middle -------------------------------------------------


@pytest.fixture
def crashing(seaweedfs_factory: Callable[[], SeaweedFS]) -> Iterator[tuple[SeaweedFS, BlobStore]]:
    server = seaweedfs_factory()
    store = open_store(server.url(fresh_bucket()) + "&retries=1")
    try:
        yield server, store
    finally:
        store.close()


def restart_and_wait(server: SeaweedFS, store: BlobStore, sentinel: str) -> None:
    """Restart the server and wait until a blob written before the crash reads back."""
    server.start()
    deadline = time.monotonic() + 30
    while True:
        try:
            with store.open(sentinel) as reader:
                assert reader.read() == b"sentinel"
            return
        except StorageUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_server_dies_during_a_multipart_put(crashing: tuple[SeaweedFS, BlobStore]) -> None:
    server, store = crashing
    sentinel, key = new_key("crash"), new_key("crash")
    store.put(sentinel, b"sentinel")

    def stream() -> Iterator[bytes]:
        for i in range(48):
            if i == 20:  # two 8 MiB parts are on the server: kill it now
                server.kill()
            yield bytes([i]) * MiB

    started = time.monotonic()
    with pytest.raises(StorageUnavailable) as caught:
        store.put(key, stream())
    assert time.monotonic() - started < 30
    assert_clean(caught.value, server.secret_key)

    restart_and_wait(server, store, sentinel)
    assert not store.exists(key)
    with pytest.raises(BlobNotFound):
        store.open(key)
    assert {i.key for i in store.list("crash")} == {sentinel}


def test_server_dies_during_a_single_part_put(crashing: tuple[SeaweedFS, BlobStore]) -> None:
    server, store = crashing
    sentinel, key = new_key("crash"), new_key("crash")
    store.put(sentinel, b"sentinel")

    def stream() -> Iterator[bytes]:
        yield b"a" * MiB
        server.kill()
        yield b"b" * MiB

    with pytest.raises(StorageUnavailable) as caught:
        store.put(key, stream())
    assert_clean(caught.value, server.secret_key)
    restart_and_wait(server, store, sentinel)
    assert not store.exists(key)


@pytest.mark.slow
def test_server_dies_during_a_read(crashing: tuple[SeaweedFS, BlobStore]) -> None:
    server, store = crashing
    key = new_key("crash")
    store.put(key, (bytes([i]) * MiB for i in range(64)))
    received = 0
    with pytest.raises(StorageUnavailable) as caught, store.open(key) as reader:
        received += len(reader.read(MiB))
        server.kill()
        for chunk in reader:
            received += len(chunk)
    assert received < 64 * MiB  # the reader never ends early without an error
    assert_clean(caught.value, server.secret_key)


def test_server_down_then_back(crashing: tuple[SeaweedFS, BlobStore]) -> None:
    server, store = crashing
    sentinel = new_key("crash")
    store.put(sentinel, b"sentinel")
    server.kill()
    for operation in (
        lambda: store.stat(sentinel),
        lambda: store.put(new_key("crash"), b"x"),
        lambda: list(store.list("crash")),
    ):
        with pytest.raises(StorageUnavailable):
            operation()
    restart_and_wait(server, store, sentinel)
    key = new_key("crash")
    store.put(key, b"after")  # the same store object recovers: no reconnect needed
    assert store.stat(key).size == 5
