"""Adapts what callers give to ``put`` into exact-size reads.

Both backends consume ``put`` data through :class:`SourceReader`, which
gives them one behaviour: reads of exactly the size asked for (fewer only at
the end), byte counting, enforcement of a declared ``length``, and a clear
separation between errors of the *source* (re-raised unchanged to the caller)
and errors of the *store* (translated to ``storage`` errors).
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from typing import BinaryIO, cast

from storage.base import CHUNK_SIZE, PutData


class SourceFailed(Exception):  # internal carrier, never leaves storage
    """Carries an exception raised by the caller's data source."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(repr(original))
        self.original = original


class SourceReader:
    """A file-like ``read(n)`` over a file object, chunk iterable or bytes.

    ``read(n)`` returns exactly ``n`` bytes unless the source ends first.
    When ``length`` is given, reading stops there and the source must end
    exactly there: any difference raises :class:`SourceFailed` wrapping a
    ``ValueError`` before the last byte is handed over, so a backend never
    commits a blob of the wrong size.
    """

    def __init__(self, data: PutData, length: int | None) -> None:
        if length is not None and (not isinstance(length, int) or length < 0):
            raise ValueError("length must be a non-negative int or None")
        self.length = length
        self.count = 0
        self._file: BinaryIO | None = None
        self._chunks: Iterator[bytes] | None = None
        self._pending: memoryview | None = None
        self._checked_end = False
        if isinstance(data, bytes | bytearray | memoryview):
            self._chunks = iter((bytes(data),))
        elif callable(getattr(data, "read", None)):
            self._file = cast("BinaryIO", data)
        else:
            self._chunks = iter(data)

    def remaining_file_size(self) -> int | None:
        """Bytes left in a regular file source, or ``None`` if unknown."""
        if self._file is None:
            return None
        try:
            fd = self._file.fileno()
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return None
            return max(st.st_size - self._file.tell(), 0)
        except (OSError, ValueError, io.UnsupportedOperation, AttributeError):
            return None

    def read(self, n: int = -1) -> bytes:
        """Return the next ``n`` bytes (all that is left if ``n < 0``)."""
        if n < 0:
            parts = []
            while part := self.read(CHUNK_SIZE):
                parts.append(part)
            return b"".join(parts)
        if self.length is not None:
            n = min(n, self.length - self.count)
        try:
            out = self._take(n) if n else b""
        except BaseException as e:  # the caller's source failed: hand it back unchanged
            raise SourceFailed(e) from e
        self.count += len(out)
        if self.length is not None:
            if len(out) < n:
                raise SourceFailed(
                    ValueError(f"data ended after {self.count} bytes, expected {self.length}")
                )
            if self.count == self.length and not self._checked_end:
                self._checked_end = True
                try:
                    extra = self._take(1)
                except BaseException as e:
                    raise SourceFailed(e) from e
                if extra:
                    raise SourceFailed(ValueError(f"data is longer than length={self.length}"))
        return out

    def readinto(self, buffer: memoryview) -> int:
        """Fill ``buffer`` like :meth:`read` and return the byte count."""
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _take(self, n: int) -> bytes:
        if self._file is not None:
            first = self._file.read(n)
            if first is None:  # a non-blocking raw stream with nothing ready
                raise OSError("non-blocking source returned no data")
            if len(first) == n or not first:
                return bytes(first)
            parts = [bytes(first)]
            got = len(first)
            while got < n:
                more = self._file.read(n - got)
                if not more:
                    break
                parts.append(bytes(more))
                got += len(more)
            return b"".join(parts)
        return self._take_chunks(n)

    def _take_chunks(self, n: int) -> bytes:
        assert self._chunks is not None
        parts: list[bytes | memoryview] = []
        got = 0
        while got < n:
            if self._pending is not None:
                piece: memoryview = self._pending
                self._pending = None
            else:
                try:
                    chunk = next(self._chunks)
                except StopIteration:
                    break
                if not isinstance(chunk, bytes | bytearray | memoryview):
                    raise TypeError(f"put data chunks must be bytes, not {type(chunk).__name__}")
                if not chunk:
                    continue
                if not isinstance(chunk, bytes):
                    # A caller may reuse its buffer after yielding it: copy now.
                    chunk = bytes(chunk)
                if not parts and len(chunk) == n:
                    return chunk  # the common exact-size case: no copy at all
                piece = memoryview(chunk)
            take = min(len(piece), n - got)
            parts.append(piece[:take])
            if take < len(piece):
                self._pending = piece[take:]
            got += take
        return b"".join(parts)
