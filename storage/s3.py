"""Blob store on any S3 server, through the ``minio`` SDK.

Tested against SeaweedFS; written for the S3 subset that Garage, MinIO, Ceph
RGW and AWS S3 also implement (PUT, multipart upload, ranged GET, HEAD,
DELETE, ListObjectsV2, CreateBucket).

Every ``minio`` and ``urllib3`` exception is translated here, chained with
``from``; none leaves this module.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, NoReturn, cast

import certifi
import urllib3
from minio import Minio
from minio.datatypes import Part
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError
from minio.helpers import check_bucket_name
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    ResponseError,
    SSLError,
)
from urllib3.util import Retry, Timeout

from storage._source import SourceFailed, SourceReader
from storage.base import CHUNK_SIZE, BlobInfo, PutData, validate_key, validate_prefix
from storage.errors import (
    BlobNotFound,
    StorageAccessDenied,
    StorageConfigError,
    StorageError,
    StorageUnavailable,
)

#: Default multipart part size. Memory used by a put is bounded by a small
#: multiple of it (see docs/storage.md), whatever the blob size.
DEFAULT_PART_SIZE = 8 * 1024 * 1024
#: Parts of one put in flight at once; memory is (this + 1) parts.
DEFAULT_PARALLEL_UPLOADS = 2
MIN_PART_SIZE = 5 * 1024 * 1024  # the S3 minimum for all parts but the last
MAX_PART_SIZE = 512 * 1024 * 1024  # our own bound: memory grows with it

_NOT_FOUND = frozenset({"NoSuchKey", "NoSuchObject", "NotFound", "NoSuchBucket", "NoSuchVersion"})
_DENIED = frozenset(
    {
        "AccessDenied",
        "AllAccessDisabled",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
        "AccountProblem",
    }
)
_TRANSIENT = frozenset(
    {"InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout", "RequestTimeTooSkewed"}
)
_BUCKET_OURS = frozenset({"BucketAlreadyOwnedByYou", "BucketAlreadyExists"})
_PUT_HEADERS = {"Content-Type": "application/octet-stream"}


def _network_reason(e: BaseException) -> str:
    """Describe a urllib3 failure in a few words, without URLs or headers."""
    if isinstance(e, MaxRetryError) and e.reason is not None:
        return _network_reason(e.reason) + " (after retries)"
    if isinstance(e, NewConnectionError):
        return "cannot connect"
    if isinstance(e, ConnectTimeoutError):
        return "connection timed out"
    if isinstance(e, ReadTimeoutError):
        return "read timed out"
    if isinstance(e, SSLError):
        return "TLS error"
    if isinstance(e, ResponseError):
        return "server errors"
    if isinstance(e, ProtocolError):
        return "connection broken"
    if isinstance(e, OSError):
        return f"network error ({type(e).__name__})"
    return type(e).__name__


class S3BlobReader:
    """Streaming read of an S3 object; see :class:`storage.base.BlobReader`."""

    def __init__(self, store: S3BlobStore, key: str, response: Any | None) -> None:
        # ``response`` is a urllib3 response with the body not yet read;
        # ``None`` stands for an empty range.
        self._store = store
        self._key = key
        self._response = response

    def read(self, n: int = -1) -> bytes:
        """Return at most ``n`` bytes (all that is left if ``n < 0``)."""
        if self._response is None:
            return b""
        try:
            data = self._response.read() if n < 0 else self._response.read(n)
        except (HTTPError, OSError) as e:
            self.close()
            raise self._store._unavailable("read", self._key, e) from e
        return bytes(data)

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK_SIZE):
            yield chunk

    def close(self) -> None:
        """Close the response and return its connection; idempotent."""
        response, self._response = self._response, None
        if response is not None:
            response.close()
            response.release_conn()

    def __enter__(self) -> S3BlobReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class S3BlobStore:
    """Blobs as objects in one S3 bucket; see :class:`storage.base.BlobStore`."""

    name = "s3"

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        *,
        secure: bool = True,
        region: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        retries: int = 3,
        part_size: int = DEFAULT_PART_SIZE,
        parallel_uploads: int = DEFAULT_PARALLEL_UPLOADS,
    ) -> None:
        """Configure the store; no request is made until the first operation.

        Args:
            endpoint: ``host:port`` (or ``host``) of the S3 server.
            bucket: bucket name; created on the first put if missing.
            access_key, secret_key: S3 credentials (requests are signed).
            secure: HTTPS (certificates checked against ``SSL_CERT_FILE`` or
                certifi's bundle) rather than plain HTTP.
            region: the bucket's region; asked from the server if ``None``.
            connect_timeout, read_timeout: seconds, per request / per read.
            retries: retries of a request on connection errors and 5xx
                answers, with exponential backoff.
            part_size: multipart part size in bytes (5 MiB .. 512 MiB).
            parallel_uploads: parts of one put sent at the same time (1 .. 16);
                a put holds at most this many parts plus one in memory.

        Raises:
            StorageConfigError: an argument is invalid.
        """
        if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
            raise StorageConfigError("s3 part size must be between 5 MiB and 512 MiB")
        if not 1 <= parallel_uploads <= 16:
            raise StorageConfigError("s3 parallel uploads must be between 1 and 16")
        if connect_timeout <= 0 or read_timeout <= 0 or retries < 0:
            raise StorageConfigError("s3 timeouts must be positive and retries not negative")
        if not access_key or not secret_key:
            raise StorageConfigError("s3 store needs an access key and a secret key")
        try:
            check_bucket_name(bucket, strict=True)
        except ValueError:
            raise StorageConfigError(f"invalid s3 bucket name {bucket!r}") from None
        self._endpoint = endpoint
        self._bucket = bucket
        self._secure = secure
        self._part_size = part_size
        self._parallel_uploads = parallel_uploads
        self._http = urllib3.PoolManager(
            timeout=Timeout(connect=connect_timeout, read=read_timeout),
            maxsize=16,
            cert_reqs="CERT_REQUIRED",
            ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
            retries=Retry(
                total=retries,
                connect=retries,
                read=retries,
                status=retries,
                backoff_factor=0.25,
                backoff_max=4.0,
                status_forcelist=(500, 502, 503, 504),
                # urllib3's default: idempotent methods only. A retried
                # multipart POST could leave a stray upload or be refused.
                allowed_methods=Retry.DEFAULT_ALLOWED_METHODS,
                raise_on_status=True,
                respect_retry_after_header=True,
            ),
        )
        try:
            self._client = Minio(
                endpoint,
                access_key=access_key,
                secret_key=secret_key,
                secure=secure,
                region=region,
                http_client=self._http,
            )
        except ValueError as e:
            self._http.clear()
            # minio's message names the endpoint at most, never the secret.
            raise StorageConfigError(f"invalid s3 endpoint or bucket: {e}") from None
        self._bucket_ready = False
        self._bucket_lock = threading.Lock()

    # -- error translation -------------------------------------------------

    def describe(self) -> str:
        """Return ``s3://host:port/bucket``, safe for logs."""
        return f"s3://{self._endpoint}/{self._bucket}"

    def _unavailable(self, op: str, key: str | None, e: BaseException) -> StorageUnavailable:
        where = f"{self.describe()}/{key}" if key else self.describe()
        return StorageUnavailable(f"{op} {where}: {_network_reason(e)}")

    def _translate(self, op: str, key: str | None, e: Exception) -> StorageError:
        """Map an SDK or network exception to a ``storage`` error."""
        where = f"{self.describe()}/{key}" if key else self.describe()
        if isinstance(e, S3Error):
            code = e.code or ""
            status = e.response.status if e.response is not None else 0
            if code in _NOT_FOUND:
                return BlobNotFound(f"{op} {where}: {code}")
            # Transient codes first: a skewed clock (RequestTimeTooSkewed) comes as a 403.
            if code in _TRANSIENT or status >= 500:
                return StorageUnavailable(f"{op} {where}: {code or status}")
            if code in _DENIED or status == 403:
                return StorageAccessDenied(f"{op} {where}: {code or 'access denied'}")
            return StorageError(f"{op} {where}: {code or status}")
        if isinstance(e, ServerError):
            if e.status_code >= 500:
                return StorageUnavailable(f"{op} {where}: HTTP {e.status_code}")
            return StorageError(f"{op} {where}: HTTP {e.status_code}")
        if isinstance(e, InvalidResponseError):
            return StorageUnavailable(f"{op} {where}: not an S3 answer")
        if isinstance(e, MinioException):
            return StorageError(f"{op} {where}: {type(e).__name__}")
        if isinstance(e, HTTPError | OSError):
            return self._unavailable(op, key, e)
        raise e  # a bug, not a storage failure: let it surface as it is

    def _fail(self, op: str, key: str | None, e: Exception) -> NoReturn:
        raise self._translate(op, key, e) from e

    # -- bucket ------------------------------------------------------------

    def _ensure_bucket(self) -> None:
        """Create the bucket the first time it is needed (thread-safe)."""
        if self._bucket_ready:
            return
        with self._bucket_lock:
            if self._bucket_ready:
                return
            try:
                if not self._client.bucket_exists(self._bucket):
                    self._client.make_bucket(self._bucket)
            except S3Error as e:
                if e.code not in _BUCKET_OURS:
                    self._fail("create bucket", None, e)
            except (MinioException, HTTPError, OSError) as e:
                self._fail("create bucket", None, e)
            self._bucket_ready = True

    def check(self) -> None:
        """Check that the server answers and the credentials are accepted.

        Creates the bucket if it is missing (as the first put would).

        Raises:
            StorageUnavailable, StorageAccessDenied, StorageError.
        """
        self._bucket_ready = False
        self._ensure_bucket()

    # -- operations ----------------------------------------------------------

    def put(self, key: str, data: PutData, length: int | None = None) -> BlobInfo:
        """Store ``data`` under ``key``; see :meth:`storage.base.BlobStore.put`.

        Up to one part size, one PUT; beyond, a multipart upload whose parts
        are sent by at most ``parallel_uploads`` threads while the next part
        is read. A put owns ``parallel_uploads + 1`` part buffers at most,
        allocated once and reused, whatever the blob size. The object appears
        only when the upload completes; a failed upload is aborted (best
        effort) and its threads are joined.
        """
        validate_key(key)
        source = SourceReader(data, length)
        if source.length is None:
            source.length = source.remaining_size()  # bytes, seekable files
        self._ensure_bucket()
        first_size = self._part_size
        if source.length is not None:
            first_size = max(1, min(first_size, source.length))
        first = bytearray(first_size)
        try:
            n = source.readinto(first)
            if source.at_end():
                body = _as_body(memoryview(first)[:n] if n else b"")
                result = self._client._put_object(self._bucket, key, body, dict(_PUT_HEADERS))
                etag, headers = result.etag, result.http_headers
            else:
                etag, headers = self._put_multipart(key, first, source)
        except SourceFailed as e:
            raise e.original from None
        except S3Error as e:
            if e.code == "NoSuchBucket":
                self._bucket_ready = False  # deleted behind our back: recreate next time
                raise StorageUnavailable(f"put {self.describe()}/{key}: bucket missing") from e
            self._fail("put", key, e)
        except (MinioException, HTTPError, OSError) as e:
            self._fail("put", key, e)
        return BlobInfo(
            key=key,
            size=source.count,
            etag=(etag or "").strip('"'),
            modified=_last_modified(headers),
        )

    def _put_multipart(self, key: str, first: bytearray, source: SourceReader) -> tuple[str, Any]:
        """Upload the full part ``first`` and the rest of ``source``.

        minio's own ``put_object`` would do this too, but it keeps about four
        parts alive at once for a stream of unknown length (it reads part + 1
        byte and copies twice), allocates every part anew, and when the
        source fails it leaves its upload threads blocked forever. Hence this
        loop on the SDK's multipart primitives (private in minio 7: the
        contract suite covers them, with sizes on both sides of the part size).
        """
        client = self._client
        upload_id = client._create_multipart_upload(self._bucket, key, dict(_PUT_HEADERS))
        etags: dict[int, str] = {}
        failures: list[BaseException] = []
        lock = threading.Lock()
        in_flight = threading.BoundedSemaphore(self._parallel_uploads)
        free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
        allocated = 1
        threads: list[threading.Thread] = []

        def upload(number: int, buffer: bytearray, size: int) -> None:
            try:
                body = _as_body(memoryview(buffer)[:size])
                etag = client._upload_part(self._bucket, key, body, None, upload_id, number)
                with lock:
                    etags[number] = etag
            except BaseException as e:  # handed to the reading thread below
                with lock:
                    failures.append(e)
            finally:
                free.put(buffer)  # the request is over: the buffer can be refilled
                in_flight.release()

        try:
            buffer: bytearray | None = first
            size = len(first)
            number = 0
            while buffer is not None:
                in_flight.acquire()
                if failures:
                    in_flight.release()
                    break
                number += 1
                thread = threading.Thread(
                    target=upload, args=(number, buffer, size), name=f"s3-part-{number}"
                )
                thread.start()
                threads.append(thread)
                buffer = None
                if source.at_end():
                    break
                if allocated <= self._parallel_uploads:
                    buffer = bytearray(self._part_size)
                    allocated += 1
                else:
                    buffer = free.get()
                size = source.readinto(buffer)
            for thread in threads:
                thread.join()
            if failures:
                raise failures[0]
            result = client._complete_multipart_upload(
                self._bucket, key, upload_id, [Part(n, etags[n]) for n in sorted(etags)]
            )
            return str(result.etag or ""), result.http_headers
        except BaseException:
            for thread in threads:
                thread.join()
            with contextlib.suppress(MinioException, HTTPError, OSError):
                # Best effort: if the server is gone, the upload stays
                # incomplete (never visible) until its lifecycle rule runs.
                client._abort_multipart_upload(self._bucket, key, upload_id)
            raise

    def open(self, key: str, start: int = 0, length: int | None = None) -> S3BlobReader:
        """Open a streaming read; see :meth:`storage.base.BlobStore.open`."""
        validate_key(key)
        if start < 0 or (length is not None and length < 0):
            raise ValueError("start and length must not be negative")
        if length == 0:
            self.stat(key)  # still report a missing key
            return S3BlobReader(self, key, None)
        try:
            response = self._client.get_object(self._bucket, key, offset=start, length=length or 0)
        except S3Error as e:
            if e.code == "InvalidRange":
                # Start at or past the end: an empty read, like a file's.
                self.stat(key)
                return S3BlobReader(self, key, None)
            self._fail("open", key, e)
        except (MinioException, HTTPError, OSError) as e:
            self._fail("open", key, e)
        return S3BlobReader(self, key, response)

    def stat(self, key: str) -> BlobInfo:
        """Return the blob's info; see :meth:`storage.base.BlobStore.stat`."""
        validate_key(key)
        try:
            obj = self._client.stat_object(self._bucket, key)
        except (MinioException, HTTPError, OSError) as e:
            self._fail("stat", key, e)
        return BlobInfo(
            key=key,
            size=int(obj.size or 0),
            etag=(obj.etag or "").strip('"'),
            modified=_aware(obj.last_modified),
        )

    def delete(self, key: str) -> None:
        """Delete ``key`` if present; see :meth:`storage.base.BlobStore.delete`."""
        validate_key(key)
        try:
            self._client.remove_object(self._bucket, key)
        except S3Error as e:
            if e.code in _NOT_FOUND:
                return  # S3 itself answers 204 for a missing key; some servers 404
            self._fail("delete", key, e)
        except (MinioException, HTTPError, OSError) as e:
            self._fail("delete", key, e)

    def exists(self, key: str) -> bool:
        """Return whether ``key`` is stored; see :meth:`storage.base.BlobStore.exists`."""
        try:
            self.stat(key)
        except BlobNotFound:
            return False
        return True

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        """Yield blobs under ``prefix``; see :meth:`storage.base.BlobStore.list`."""
        validate_prefix(prefix)
        return self._list(prefix)

    def _list(self, prefix: str) -> Iterator[BlobInfo]:
        objects = self._client.list_objects(self._bucket, prefix=prefix or None, recursive=True)
        while True:
            try:
                obj = next(objects)
            except StopIteration:
                return
            except S3Error as e:
                if e.code == "NoSuchBucket":
                    return  # nothing was ever stored
                self._fail("list", prefix or None, e)
            except (MinioException, HTTPError, OSError) as e:
                self._fail("list", prefix or None, e)
            name = obj.object_name or ""
            if obj.is_dir or not name.startswith(prefix):
                continue
            yield BlobInfo(
                key=name,
                size=int(obj.size or 0),
                etag=(obj.etag or "").strip('"'),
                modified=_aware(obj.last_modified),
            )

    def close(self) -> None:
        """Close pooled connections; idempotent."""
        self._http.clear()


def _as_body(data: bytes | memoryview) -> bytes:
    """Pass a part to the SDK without copying it.

    minio annotates request bodies as ``bytes`` but only hashes them
    (hashlib), measures them (``len``) and hands them to urllib3, which sends
    any object with the buffer protocol as it is. Parts assembled from chunks
    are views of reused buffers; ``bytes(part)`` would copy every part.
    """
    return cast(bytes, data)


def _aware(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _last_modified(headers: Any) -> datetime:
    """The ``Last-Modified`` of a PUT answer if the server sent one, else now."""
    from email.utils import parsedate_to_datetime

    raw = headers.get("last-modified") if headers is not None else None
    if raw:
        try:
            return _aware(parsedate_to_datetime(raw))
        except (TypeError, ValueError):
            pass
    return datetime.now(UTC).replace(microsecond=0)
