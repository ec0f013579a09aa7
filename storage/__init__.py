"""Opaque bytes under server-chosen keys, on local disk or any S3 server.

``open_store(url)`` is the one entry point the application needs; see
``docs/storage.md`` for the protocol, the URL format and the failure modes.
This package imports nothing from Flask, SQLAlchemy, ``crypto`` or ``vault``.
"""

from __future__ import annotations

import math
from urllib.parse import parse_qsl, unquote, urlsplit

from storage.base import (
    CHUNK_SIZE,
    MAX_KEY_LENGTH,
    BlobInfo,
    BlobReader,
    BlobStore,
    PutData,
    new_key,
    validate_key,
    validate_prefix,
)
from storage.errors import (
    BlobNotFound,
    InvalidKey,
    StorageAccessDenied,
    StorageConfigError,
    StorageError,
    StorageUnavailable,
)
from storage.local import LocalBlobStore
from storage.s3 import S3BlobStore

__all__ = [
    "CHUNK_SIZE",
    "MAX_KEY_LENGTH",
    "BlobInfo",
    "BlobNotFound",
    "BlobReader",
    "BlobStore",
    "InvalidKey",
    "LocalBlobStore",
    "PutData",
    "S3BlobStore",
    "StorageAccessDenied",
    "StorageConfigError",
    "StorageError",
    "StorageUnavailable",
    "new_key",
    "open_store",
    "validate_key",
    "validate_prefix",
]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_S3_PARAMS = {
    "secure",
    "region",
    "connect_timeout",
    "read_timeout",
    "retries",
    "part_size_mib",
    "parallel_uploads",
}


def open_store(url: str) -> BlobStore:
    """Return the blob store that ``url`` names.

    Args:
        url: ``file:///absolute/path`` for a local directory, or
            ``s3://KEY:SECRET@host[:port]/bucket[?param=value&...]`` for an
            S3 server, with the key and secret percent-encoded. Parameters:
            ``secure`` (``true`` by default: HTTPS), ``region``,
            ``connect_timeout`` and ``read_timeout`` (seconds), ``retries``,
            ``part_size_mib``, ``parallel_uploads``.

    Returns:
        A :class:`LocalBlobStore` or an :class:`S3BlobStore`. No request is
        made yet: call ``exists``/``stat`` (or ``S3BlobStore.check``) to
        check the store.

    Raises:
        StorageConfigError: the URL is malformed or unsupported. Its message
            is one line and never contains the secret.
        StorageUnavailable: a local root directory cannot be created.
    """
    if not isinstance(url, str) or not url.strip():
        raise StorageConfigError("storage URL is empty")
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "file":
        return _open_local(url)
    if scheme == "s3":
        return _open_s3(url)
    shown = scheme if scheme.isalnum() and len(scheme) < 16 else "?"
    raise StorageConfigError(
        f"unsupported storage URL scheme {shown!r}: use file:///path or s3://KEY:SECRET@host/bucket"
    )


def _open_local(url: str) -> LocalBlobStore:
    try:
        parts = urlsplit(url)
    except ValueError:
        raise StorageConfigError("malformed file:// storage URL") from None
    if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
        raise StorageConfigError("file:// storage URL must be file:///absolute/path")
    path = unquote(parts.path)
    if not path.startswith("/") or path == "/":
        raise StorageConfigError("file:// storage URL needs an absolute directory path")
    return LocalBlobStore(path)


def _open_s3(url: str) -> S3BlobStore:
    # Messages below never include the URL itself: it carries the secret.
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise StorageConfigError("malformed s3:// storage URL (host or port)") from None
    if not host:
        raise StorageConfigError("s3:// storage URL has no host")
    if parts.username is None or parts.password is None:
        raise StorageConfigError("s3:// storage URL needs credentials: s3://KEY:SECRET@host/bucket")
    access_key = unquote(parts.username)
    secret_key = unquote(parts.password)
    bucket = parts.path.strip("/")
    if not bucket or "/" in bucket:
        raise StorageConfigError("s3:// storage URL needs exactly one bucket name in its path")
    if parts.fragment:
        raise StorageConfigError("s3:// storage URL must not have a #fragment")
    try:
        params = dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False))
    except ValueError:
        raise StorageConfigError("malformed s3:// storage URL query") from None
    unknown = sorted(set(params) - _S3_PARAMS)
    if unknown:
        raise StorageConfigError(f"unknown s3:// storage URL parameter(s): {', '.join(unknown)}")

    secure_text = params.get("secure", "true").lower()
    if secure_text not in _TRUE | _FALSE:
        raise StorageConfigError("s3:// storage URL parameter secure must be true or false")
    secure = secure_text in _TRUE

    def number(name: str, default: float) -> float:
        text = params.get(name)
        if text is None:
            return default
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        # nan and inf parse as floats but make no sense as timeouts or sizes.
        if not math.isfinite(value) or value < 0:
            raise StorageConfigError(
                f"s3:// storage URL parameter {name} must be a non-negative number"
            )
        return value

    endpoint = host if port is None else f"{host}:{port}"
    if ":" in host:  # IPv6 literal
        endpoint = f"[{host}]" if port is None else f"[{host}]:{port}"
    return S3BlobStore(
        endpoint,
        bucket,
        access_key,
        secret_key,
        secure=secure,
        region=params.get("region") or None,
        connect_timeout=number("connect_timeout", 5.0),
        read_timeout=number("read_timeout", 60.0),
        retries=int(number("retries", 3)),
        part_size=int(number("part_size_mib", 8) * 1024 * 1024),
        parallel_uploads=int(number("parallel_uploads", 2)),
    )
