"""Errors raised by every blob store.

Backends translate their own failures (``OSError``, the S3 SDK's exceptions,
urllib3's network errors) into these at the boundary, chained with ``from``,
so that no SDK type ever leaves the ``storage`` package.
"""

from __future__ import annotations


class StorageError(Exception):
    """A blob store operation failed."""


class BlobNotFound(StorageError):
    """No blob is stored under this key."""


class StorageUnavailable(StorageError):
    """The store cannot be reached or did not answer: retry later."""


class StorageAccessDenied(StorageError):
    """The store refused the configured credentials or this operation."""


class InvalidKey(StorageError, ValueError):
    """A key or prefix does not follow the key grammar."""


class StorageConfigError(StorageError, ValueError):
    """A store URL or setting is malformed or unsupported."""
