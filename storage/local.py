"""Blob store on a local directory.

Layout: blob ``a/b/c`` is the file ``<root>/a/b/c`` (mode 0600, directories
0700). A put writes ``<root>/.partial/<random>``, fsyncs it, renames it over
the final name with :func:`os.replace` and fsyncs the directory, so a blob is
either absent, the previous version or complete: never partial, even after a
crash. ``.partial`` cannot clash with a key (keys contain no ``.``) and is
skipped by :meth:`LocalBlobStore.list`; files left there by a crash are
removed by :meth:`LocalBlobStore.sweep_partials`.
"""

from __future__ import annotations

import errno
import os
import stat
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from storage._source import SourceFailed, SourceReader
from storage.base import (
    CHUNK_SIZE,
    BlobInfo,
    PutData,
    validate_key,
    validate_prefix,
)
from storage.errors import BlobNotFound, InvalidKey, StorageError, StorageUnavailable

PARTIAL_DIR = ".partial"
#: Chunk size of local reads when iterating. Like ``shutil``'s copy buffer,
#: small enough that every chunk comes from the allocator's heap: chunks of
#: 1 MiB are often above glibc's mmap threshold, and each then costs an
#: mmap, page faults and an munmap (measured 3x slower under gVisor).
READ_CHUNK_SIZE = 64 * 1024

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


def _unavailable(what: str, e: OSError) -> StorageUnavailable:
    name = errno.errorcode.get(e.errno or 0, "error")
    return StorageUnavailable(f"local store: {what} failed: {name} {e.strerror or ''}".rstrip())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _info(key: str, st: os.stat_result) -> BlobInfo:
    # Inode, mtime and size identify one write: os.replace keeps the inode
    # and mtime of the fully written temporary file.
    return BlobInfo(
        key=key,
        size=st.st_size,
        etag=f"{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_size:x}",
        modified=datetime.fromtimestamp(st.st_mtime_ns / 1e9, tz=UTC),
    )


class LocalBlobReader:
    """Streaming read of a local blob; see :class:`storage.base.BlobReader`."""

    def __init__(self, fd: int, remaining: int | None) -> None:
        self._file = os.fdopen(fd, "rb", buffering=0)
        self._remaining = remaining

    def read(self, n: int = -1) -> bytes:
        """Return at most ``n`` bytes (all that is left if ``n < 0``)."""
        if self._remaining is not None:
            n = self._remaining if n < 0 else min(n, self._remaining)
        try:
            if n < 0:
                data = self._file.read()
            else:
                parts = []
                got = 0
                while got < n:
                    part = self._file.read(n - got)
                    if not part:
                        break
                    parts.append(part)
                    got += len(part)
                data = parts[0] if len(parts) == 1 else b"".join(parts)
        except OSError as e:
            raise _unavailable("read", e) from e
        except ValueError as e:  # read after close
            raise StorageError("read on a closed blob reader") from e
        if self._remaining is not None:
            self._remaining -= len(data)
        return data or b""

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(READ_CHUNK_SIZE):
            yield chunk

    def close(self) -> None:
        """Close the file; idempotent."""
        self._file.close()

    def __enter__(self) -> LocalBlobReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class LocalBlobStore:
    """Blobs as files under one root directory; see :class:`storage.base.BlobStore`."""

    name = "local"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        """Open (and create, mode 0700) the store rooted at ``root``.

        Raises:
            StorageConfigError: ``root`` is not absolute.
            StorageUnavailable: the directory cannot be created or used.
        """
        from storage.errors import StorageConfigError

        path = Path(root)
        if not path.is_absolute():
            raise StorageConfigError("local store root must be an absolute path")
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            self.root = path.resolve(strict=True)
            (self.root / PARTIAL_DIR).mkdir(mode=0o700, exist_ok=True)
        except OSError as e:
            raise _unavailable("creating the root directory", e) from e
        if not self.root.is_dir():
            raise StorageConfigError("local store root is not a directory")
        self._partial = self.root / PARTIAL_DIR

    # -- paths ---------------------------------------------------------------

    def _path(self, key: str) -> Path:
        validate_key(key)
        return self.root.joinpath(*key.split("/"))

    def _contained(self, path: Path) -> Path:
        """Return ``path`` resolved, refusing anything outside the root.

        The key grammar already rules out ``..``; this also catches a
        symbolic link planted inside the tree that points elsewhere.
        """
        resolved = path.resolve()
        if resolved == self.root or not resolved.is_relative_to(self.root):
            raise InvalidKey("blob key resolves outside the store root")
        return resolved

    def _ensure_parent(self, path: Path) -> None:
        """Create the directories above ``path``, fsyncing each new one's parent."""
        missing: list[Path] = []
        parent = path.parent
        while parent != self.root and not parent.is_dir():
            missing.append(parent)
            parent = parent.parent
        for directory in reversed(missing):
            try:
                directory.mkdir(mode=0o700)
            except FileExistsError:
                continue  # a concurrent put created it
            _fsync_dir(directory.parent)

    # -- operations ----------------------------------------------------------

    def put(self, key: str, data: PutData, length: int | None = None) -> BlobInfo:
        """Store ``data`` under ``key``; see :meth:`storage.base.BlobStore.put`."""
        path = self._contained(self._path(key))
        source = SourceReader(data, length)
        tmp = self._partial / f"{uuid.uuid4().hex}.tmp"
        try:
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_CLOEXEC | _O_NOFOLLOW, 0o600
            )
        except OSError as e:
            raise _unavailable("creating a temporary file", e) from e
        committed = False
        try:
            buffer = memoryview(bytearray(CHUNK_SIZE))
            while n := source.readinto(buffer):
                view = buffer[:n]
                while view:
                    view = view[os.write(fd, view) :]
            os.fsync(fd)
            st = os.fstat(fd)
            os.close(fd)
            fd = -1
            self._ensure_parent(path)
            self._contained(path.parent)  # again: directories may have changed meanwhile
            os.replace(tmp, path)
            committed = True
            _fsync_dir(path.parent)
        except SourceFailed as e:
            raise e.original from None
        except OSError as e:
            raise _unavailable("writing a blob", e) from e
        finally:
            if fd >= 0:
                os.close(fd)
            if not committed:
                tmp.unlink(missing_ok=True)
        return _info(key, st)

    def open(self, key: str, start: int = 0, length: int | None = None) -> LocalBlobReader:
        """Open a streaming read; see :meth:`storage.base.BlobStore.open`."""
        if start < 0 or (length is not None and length < 0):
            raise ValueError("start and length must not be negative")
        path = self._contained(self._path(key))
        try:
            fd = os.open(path, os.O_RDONLY | _O_CLOEXEC | _O_NOFOLLOW)
        except FileNotFoundError as e:
            raise BlobNotFound(f"no blob {key!r}") from e
        except OSError as e:
            if e.errno in (errno.EISDIR, errno.ENOTDIR, errno.ELOOP):
                raise BlobNotFound(f"no blob {key!r}") from e
            raise _unavailable("opening a blob", e) from e
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise BlobNotFound(f"no blob {key!r}")
            if start:
                os.lseek(fd, start, os.SEEK_SET)
        except BaseException as e:
            os.close(fd)
            if isinstance(e, OSError):
                raise _unavailable("opening a blob", e) from e
            raise
        return LocalBlobReader(fd, length)

    def stat(self, key: str) -> BlobInfo:
        """Return the blob's info; see :meth:`storage.base.BlobStore.stat`."""
        path = self._contained(self._path(key))
        try:
            st = os.stat(path, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError) as e:
            raise BlobNotFound(f"no blob {key!r}") from e
        except OSError as e:
            raise _unavailable("stat", e) from e
        if not stat.S_ISREG(st.st_mode):
            raise BlobNotFound(f"no blob {key!r}")
        return _info(key, st)

    def delete(self, key: str) -> None:
        """Delete the blob if present; see :meth:`storage.base.BlobStore.delete`.

        Empty directories are left in place: removing them would race with a
        concurrent put into the same directory, and they cost nothing.
        """
        path = self._contained(self._path(key))
        try:
            if stat.S_ISDIR(os.stat(path, follow_symlinks=False).st_mode):
                return
            path.unlink()
            _fsync_dir(path.parent)
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as e:
            raise _unavailable("delete", e) from e

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
        # Start the walk at the deepest directory the prefix names in full.
        head, _, _ = prefix.rpartition("/")
        start = self.root.joinpath(*head.split("/")) if head else self.root
        return self._walk(start, head, prefix)

    def _walk(self, directory: Path, dir_key: str, prefix: str) -> Iterator[BlobInfo]:
        try:
            with os.scandir(directory) as entries:
                names = sorted(
                    (e.name, e.is_dir(follow_symlinks=False), e.is_file(follow_symlinks=False))
                    for e in entries
                )
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as e:
            raise _unavailable("listing", e) from e
        for name, is_dir, is_file in names:
            key = f"{dir_key}/{name}" if dir_key else name
            try:
                validate_key(key)
            except InvalidKey:
                continue  # .partial, stray files: never blobs
            if is_dir:
                if key.startswith(prefix) or prefix.startswith(key + "/"):
                    yield from self._walk(directory / name, key, prefix)
            elif is_file and key.startswith(prefix):
                try:
                    st = os.stat(directory / name, follow_symlinks=False)
                except FileNotFoundError:
                    continue  # deleted while listing
                except OSError as e:
                    raise _unavailable("listing", e) from e
                yield _info(key, st)

    def sweep_partials(self, older_than: float = 3600.0) -> int:
        """Remove temporary files left by puts interrupted by a crash.

        Args:
            older_than: only files not modified for this many seconds, so
                that puts in progress are left alone.

        Returns:
            How many files were removed.

        Raises:
            StorageUnavailable: the directory cannot be read.
        """
        removed = 0
        limit = time.time() - older_than
        try:
            with os.scandir(self._partial) as entries:
                for entry in entries:
                    st = entry.stat(follow_symlinks=False)
                    if stat.S_ISREG(st.st_mode) and st.st_mtime < limit:
                        Path(entry.path).unlink(missing_ok=True)
                        removed += 1
        except OSError as e:
            raise _unavailable("sweeping partial files", e) from e
        return removed

    def describe(self) -> str:
        """Return ``file:///root``, safe for logs."""
        return "file://" + quote(str(self.root))

    def close(self) -> None:
        """Nothing to release; present for the protocol."""
