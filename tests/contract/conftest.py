"""Fixtures of the blob store contract suite: one ``store`` per backend."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import BlobStore, StorageError, open_store
from tests.s3server import S3Target, external_s3_url

# SeaweedFS always; another S3 server too when VAULT_TEST_S3_URL names one.
BACKENDS = ["local", "s3"] + (["external-s3"] if external_s3_url() else [])


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    """A store of each backend: a fresh directory, the session's SeaweedFS bucket,
    or the external S3 server."""
    if request.param == "local":
        opened = open_store((tmp_path / "blobs").as_uri())
    elif request.param == "s3":
        target: S3Target = request.getfixturevalue("s3_server")
        opened = open_store(target.url)
    else:
        opened = open_store(str(external_s3_url()))
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def prefix(store: BlobStore) -> Iterator[str]:
    """A key prefix of this test's own; what the test stored there is deleted after."""
    value = f"test-{uuid.uuid4().hex[:12]}"
    yield value
    with contextlib.suppress(StorageError):
        for info in list(store.list(value + "/")):
            store.delete(info.key)
