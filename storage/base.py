"""The blob store protocol, its value types and the key grammar.

A blob store keeps opaque bytes (already encrypted by ``crypto``) under keys
that the server chooses with :func:`new_key`. Every backend implements
:class:`BlobStore` and passes the same contract suite (``tests/contract``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import BinaryIO, Protocol, runtime_checkable

from storage.errors import InvalidKey

#: Longest key accepted, in characters (all ASCII). Leaves room under the
#: usual 255-byte file-name and 1024-byte S3 key limits.
MAX_KEY_LENGTH = 255
#: Longest single ``/``-separated segment (a file or directory name locally).
MAX_SEGMENT_LENGTH = 128
#: Chunk size of :meth:`BlobReader.__iter__`, and of local copies.
CHUNK_SIZE = 1024 * 1024

_SEGMENT = re.compile(rf"[a-z0-9_-]{{1,{MAX_SEGMENT_LENGTH}}}")
_PREFIX_CHARS = re.compile(r"[a-z0-9_/-]*")

#: What :meth:`BlobStore.put` accepts: a binary file object, an iterable of
#: byte chunks (for instance an encryption stream), or bytes in one piece.
PutData = BinaryIO | Iterable[bytes] | bytes | bytearray | memoryview


def validate_key(key: str) -> str:
    """Return ``key`` if it follows the key grammar.

    Keys are lowercase ASCII letters, digits, ``-`` and ``_`` in
    ``/``-separated segments, none empty, at most :data:`MAX_KEY_LENGTH`
    characters. ``.`` is not allowed at all, so ``.`` and ``..`` segments,
    hidden files and temporary names can never be keys.

    Raises:
        InvalidKey: ``key`` is not a string or does not follow the grammar.
    """
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidKey("invalid blob key: empty, not a string or too long")
    for segment in key.split("/"):
        if not _SEGMENT.fullmatch(segment):
            raise InvalidKey(f"invalid blob key {key!r}: bad segment {segment!r}")
    return key


def validate_prefix(prefix: str) -> str:
    """Return ``prefix`` if some valid key could start with it.

    A prefix is matched as a plain string prefix (``"doc"`` matches
    ``"documents/..."``), like S3 does. It is empty or a run of key
    characters without a leading ``/`` or an empty segment (``//``).

    Raises:
        InvalidKey: the prefix cannot start any valid key.
    """
    if not isinstance(prefix, str) or len(prefix) > MAX_KEY_LENGTH:
        raise InvalidKey("invalid key prefix: not a string or too long")
    if (
        not _PREFIX_CHARS.fullmatch(prefix)
        or prefix.startswith("/")
        or "//" in prefix
        or any(len(s) > MAX_SEGMENT_LENGTH for s in prefix.split("/"))
    ):
        raise InvalidKey(f"invalid key prefix {prefix!r}")
    return prefix


def new_key(prefix: str) -> str:
    """Return a fresh server-chosen key ``"<prefix>/<32 hex digits>"``.

    Args:
        prefix: one or more key segments, for instance ``"documents"`` or
            ``"vaults/<vault uuid hex>"``; no leading or trailing ``/``.

    Raises:
        InvalidKey: ``prefix`` is not a valid key itself, or is too long.
    """
    validate_key(prefix)
    return validate_key(f"{prefix}/{uuid.uuid4().hex}")


@dataclass(frozen=True)
class BlobInfo:
    """What a store knows about one stored blob.

    ``etag`` is opaque: it changes when the content under ``key`` is
    replaced, and two ``etag`` of the same key in the same store compare
    equal exactly when they name the same write. It is not a content hash
    (S3 multipart ETags are not) and means nothing across backends.
    ``modified`` is timezone-aware UTC.
    """

    key: str
    size: int
    etag: str
    modified: datetime


@runtime_checkable
class BlobReader(Protocol):
    """A streaming read of one blob (or a byte range of it).

    ``read(n)`` returns at most ``n`` bytes and fewer only at the end;
    ``b""`` means the end. ``read()`` returns everything left (use it only
    for small blobs). Iterating yields chunks of at most
    :data:`CHUNK_SIZE` bytes. Network or disk failures in the middle of the
    stream raise :class:`~storage.errors.StorageUnavailable`: a reader never
    ends early without an error. Always close it (or use ``with``).
    """

    def read(self, n: int = -1) -> bytes: ...

    def __iter__(self) -> Iterator[bytes]: ...

    def close(self) -> None: ...

    def __enter__(self) -> BlobReader: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@runtime_checkable
class BlobStore(Protocol):
    """Opaque bytes under server-chosen keys. See ``docs/storage.md``."""

    #: ``"local"`` or ``"s3"``, recorded on rows next to the blob key.
    name: str

    def put(self, key: str, data: PutData, length: int | None = None) -> BlobInfo:
        """Store ``data`` under ``key``, replacing any blob there, atomically.

        Readers see either the previous blob or the complete new one, never
        a partial write; a failed put leaves the previous state.

        Args:
            key: a valid key, normally from :func:`new_key`.
            data: a binary file object (read from its current position to
                its end), an iterable of byte chunks, or bytes.
            length: the exact number of bytes ``data`` yields, if known.

        Returns:
            The stored blob's :class:`BlobInfo`.

        Raises:
            InvalidKey: bad key.
            StorageUnavailable: the store failed or could not be reached.
            StorageAccessDenied: the store refused the credentials.
            ValueError: ``data`` yielded a different number of bytes than
                ``length``; nothing was stored.
            Exception: whatever reading ``data`` raised, unchanged; nothing
                was stored.
        """
        ...

    def open(self, key: str, start: int = 0, length: int | None = None) -> BlobReader:
        """Open a streaming read of ``key`` from byte ``start``.

        Reads at most ``length`` bytes (all to the end if ``None``); a range
        past the end is cut short at the end, possibly empty.

        Raises:
            InvalidKey, BlobNotFound, StorageUnavailable, StorageAccessDenied.
            ValueError: negative ``start`` or ``length``.
        """
        ...

    def stat(self, key: str) -> BlobInfo:
        """Return the :class:`BlobInfo` of ``key``.

        Raises:
            InvalidKey, BlobNotFound, StorageUnavailable, StorageAccessDenied.
        """
        ...

    def delete(self, key: str) -> None:
        """Delete ``key``; deleting a missing key is not an error.

        Raises:
            InvalidKey, StorageUnavailable, StorageAccessDenied.
        """
        ...

    def exists(self, key: str) -> bool:
        """Return whether a blob is stored under ``key``.

        Raises:
            InvalidKey, StorageUnavailable, StorageAccessDenied.
        """
        ...

    def list(self, prefix: str = "") -> Iterator[BlobInfo]:
        """Yield every blob whose key starts with ``prefix``, in no set order.

        Meant for garbage collection. Blobs written or deleted while the
        listing runs may or may not appear.

        Raises:
            InvalidKey, StorageUnavailable, StorageAccessDenied.
        """
        ...

    def describe(self) -> str:
        """Return where this store lives, safe for logs (never a secret)."""
        ...

    def close(self) -> None:
        """Release connections and other resources; idempotent."""
        ...
