"""S3 answers become the right `storage` errors (unit test of the mapping alone)."""

from __future__ import annotations

import pytest
from minio.error import S3Error
from urllib3 import HTTPResponse

from storage import (
    BlobNotFound,
    StorageAccessDenied,
    StorageError,
    StorageUnavailable,
    open_store,
)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (404, "NoSuchKey", BlobNotFound),
        (403, "AccessDenied", StorageAccessDenied),
        (403, "SignatureDoesNotMatch", StorageAccessDenied),
        (403, "RequestTimeTooSkewed", StorageUnavailable),  # a clock problem, not a refusal
        (503, "SlowDown", StorageUnavailable),
        (500, "InternalError", StorageUnavailable),
        (400, "InvalidArgument", StorageError),
    ],
)
def test_s3_error_mapping(status: int, code: str, expected: type[StorageError]) -> None:
    store = open_store("s3://key:topsecret@127.0.0.1:9/bucket?secure=false")
    try:
        error = S3Error(HTTPResponse(status=status), code, "message", "/bucket/k", "r", "h")
        mapped = store._translate("get", "k", error)  # type: ignore[attr-defined]
        assert type(mapped) is expected
        assert "topsecret" not in str(mapped)
    finally:
        store.close()
