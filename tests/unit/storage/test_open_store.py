"""``open_store`` URL parsing, the key grammar and local containment."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage import (
    MAX_KEY_LENGTH,
    InvalidKey,
    LocalBlobStore,
    S3BlobStore,
    StorageConfigError,
    new_key,
    open_store,
    validate_key,
    validate_prefix,
)

SECRET = "pa$$/wörd@host:1"
PLAIN = "Sup3rS3cretValue"


def test_file_url(tmp_path: Path) -> None:
    root = tmp_path / "a dir" / "blobs"
    store = open_store(root.as_uri())
    assert isinstance(store, LocalBlobStore)
    assert store.name == "local"
    assert store.root == root.resolve()
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert store.describe() == root.resolve().as_uri()


def test_local_blobs_are_private_files(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.put("a/b/c", b"secret bytes")
    path = tmp_path / "blobs" / "a" / "b" / "c"
    assert path.read_bytes() == b"secret bytes"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_local_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "loot").write_bytes(b"not yours")
    store = LocalBlobStore(tmp_path / "blobs")
    os.symlink(outside, tmp_path / "blobs" / "link")
    with pytest.raises(InvalidKey):
        store.open("link/loot")
    with pytest.raises(InvalidKey):
        store.put("link/new", b"x")
    assert not (outside / "new").exists()
    assert [i.key for i in store.list()] == []


def test_local_sweep_removes_only_old_partials(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    old = store.root / ".partial" / "old.tmp"
    new = store.root / ".partial" / "new.tmp"
    old.write_bytes(b"x")
    new.write_bytes(b"y")
    os.utime(old, (0, 0))
    assert store.sweep_partials(older_than=60) == 1
    assert not old.exists() and new.exists()


@pytest.mark.parametrize(
    "url",
    ["file://relative/path", "file:///", "file://otherhost/tmp/x", "file:///tmp/x?q=1"],
)
def test_bad_file_urls(url: str) -> None:
    with pytest.raises(StorageConfigError):
        open_store(url)


def test_s3_url() -> None:
    from urllib.parse import quote

    url = (
        f"s3://AK:{quote(SECRET, safe='')}@s3.example.org:9000/vault-blobs"
        "?secure=false&region=eu-west-3"
    )
    store = open_store(url)
    try:
        assert isinstance(store, S3BlobStore)
        assert store.name == "s3"
        assert store.describe() == "s3://s3.example.org:9000/vault-blobs"
        assert SECRET not in repr(vars(store))  # only inside the SDK's credential provider
    finally:
        store.close()


def test_s3_url_defaults_to_https() -> None:
    store = open_store("s3://AK:SK@s3.example.org/vault-blobs")
    try:
        assert isinstance(store, S3BlobStore)
        assert store._secure is True
        assert store.describe() == "s3://s3.example.org/vault-blobs"
    finally:
        store.close()


@pytest.mark.parametrize(
    ("url", "words"),
    [
        (f"s3://AK:{PLAIN}@host:notaport/bucket", "port"),
        ("s3://host:9000/bucket", "credentials"),
        (f"s3://AK:{PLAIN}@host:9000/", "bucket"),
        (f"s3://AK:{PLAIN}@host:9000/a/b", "bucket"),
        (f"s3://AK:{PLAIN}@host:9000/Bad_Bucket", "bucket"),
        (f"s3://AK:{PLAIN}@host:9000/bucket?secure=maybe", "secure"),
        (f"s3://AK:{PLAIN}@host:9000/bucket?colour=blue", "colour"),
        (f"s3://AK:{PLAIN}@host:9000/bucket?part_size_mib=1", "part size"),
        (f"s3://AK:{PLAIN}@host:9000/bucket?read_timeout=soon", "read_timeout"),
        (f"s3://AK:{PLAIN}@/bucket", "host"),
        (f"http://AK:{PLAIN}@host/bucket", "scheme"),
        (f"AK:{PLAIN}", "scheme"),
        ("", "empty"),
    ],
)
def test_bad_s3_urls_never_show_the_secret(url: str, words: str) -> None:
    with pytest.raises(StorageConfigError) as caught:
        open_store(url)
    message = str(caught.value)
    assert words in message
    assert "\n" not in message
    assert PLAIN not in message
    assert caught.value.__cause__ is None or PLAIN not in str(caught.value.__cause__)


# -- key grammar ---------------------------------------------------------------

segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=20)


@given(st.lists(segment, min_size=1, max_size=8))
def test_valid_keys_stay_inside_the_root(segments: list[str]) -> None:
    key = "/".join(segments)
    assert validate_key(key) == key
    assert validate_prefix(key) == key
    root = Path("/srv/blobs")
    assert root.joinpath(*key.split("/")).resolve().is_relative_to(root)


@given(st.text(max_size=40))
def test_anything_outside_the_grammar_is_refused(text: str) -> None:
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789-_/")
    ok = (
        bool(text) and set(text) <= allowed and all(text.split("/")) and len(text) <= MAX_KEY_LENGTH
    )
    if ok:
        assert validate_key(text) == text
    else:
        with pytest.raises(InvalidKey):
            validate_key(text)


def test_new_key() -> None:
    key = new_key("vaults/abc")
    head, _, tail = key.rpartition("/")
    assert head == "vaults/abc" and len(tail) == 32
    for bad in ["", "/x", "x/", "X", "a..b", "a/../b"]:
        with pytest.raises(InvalidKey):
            new_key(bad)
    with pytest.raises(InvalidKey):
        new_key("p" * (MAX_KEY_LENGTH - 10))
