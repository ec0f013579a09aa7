"""Adapts what callers give to ``put`` into exact-size reads into buffers.

Both backends consume ``put`` data through :class:`SourceReader`, which
gives them one behaviour: ``readinto`` fills a caller's buffer completely
(less only at the end), bytes are counted, a declared ``length`` is enforced,
and errors of the *source* (re-raised unchanged to the caller) are kept apart
from errors of the *store* (translated to ``storage`` errors).

Reading into buffers that the backend owns and reuses keeps a put's memory
at a fixed number of buffers: no part is ever allocated twice, and the
allocator is not left with a heap of freed multi-megabyte blocks.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import BinaryIO, cast

from storage.base import PutData


class SourceFailed(Exception):  # internal carrier, never leaves storage
    """Carries an exception raised by the caller's data source."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(repr(original))
        self.original = original


class SourceReader:
    """Fills buffers from a binary file object, an iterable of chunks or bytes.

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
        self._chunks: Iterator[bytes | bytearray | memoryview] | None = None
        self._pending: memoryview | None = None  # rest of a chunk, or a file's read-ahead
        self._checked_end = False
        self._known: int | None = None
        if isinstance(data, bytes | bytearray | memoryview):
            whole = bytes(data)
            self._known = len(whole)
            self._chunks = iter((whole,))
        elif callable(getattr(data, "read", None)):
            self._file = cast("BinaryIO", data)
        else:
            self._chunks = iter(data)

    def remaining_size(self) -> int | None:
        """Bytes left in a bytes or seekable file source, or ``None`` if unknown."""
        if self._known is not None:
            return self._known
        if self._file is None:
            return None
        try:
            if not self._file.seekable():
                return None
            here = self._file.tell()
            end = self._file.seek(0, io.SEEK_END)
            self._file.seek(here)
            return max(end - here, 0)
        except (OSError, ValueError, AttributeError):
            return None  # reading will tell the caller what is wrong with its file

    def at_end(self) -> bool:
        """Whether the source has nothing left, without losing any byte."""
        if self.length is not None:
            return self.count >= self.length
        if self._pending is not None:
            return False
        try:
            self._pending = self._next_piece(1)
        except BaseException as e:
            raise SourceFailed(e) from e
        return self._pending is None

    def readinto(self, buffer: memoryview | bytearray) -> int:
        """Fill ``buffer`` from the source; return the byte count (0 at the end)."""
        view = memoryview(buffer).cast("B")
        try:
            want = len(view)
            if self.length is not None:
                want = min(want, self.length - self.count)
            got = self._fill(view[:want]) if want else 0
            self.count += got
            if self.length is not None:
                if got < want:
                    raise ValueError(f"data ended after {self.count} bytes, expected {self.length}")
                if self.count == self.length and not self._checked_end:
                    self._checked_end = True
                    if self._next_piece(1) is not None:
                        raise ValueError(f"data is longer than length={self.length}")
        except SourceFailed:
            raise
        except BaseException as e:  # the caller's source failed: hand it back unchanged
            raise SourceFailed(e) from e
        finally:
            view.release()
        return got

    def _fill(self, view: memoryview) -> int:
        got = 0
        readinto = getattr(self._file, "readinto", None)
        while got < len(view):
            if readinto is not None and self._pending is None:
                # Straight from the file into the buffer: no bytes object.
                n = readinto(view[got:])
                if n is None:
                    raise OSError("non-blocking source returned no data")
                if not n:
                    break
                got += n
                continue
            piece = self._next_piece(len(view) - got)
            if piece is None:
                break
            take = min(len(piece), len(view) - got)
            view[got : got + take] = piece[:take]
            if take < len(piece):
                self._pending = piece[take:]
            got += take
        return got

    def _next_piece(self, hint: int) -> memoryview | None:
        """The pending bytes, else the next non-empty chunk or read, else None."""
        if self._pending is not None:
            piece, self._pending = self._pending, None
            return piece
        if self._file is not None:
            data = self._file.read(hint)
            if data is None:  # a non-blocking raw stream with nothing ready
                raise OSError("non-blocking source returned no data")
            return memoryview(data).cast("B") if data else None
        assert self._chunks is not None
        for chunk in self._chunks:
            if not isinstance(chunk, bytes | bytearray | memoryview):
                raise TypeError(f"put data chunks must be bytes, not {type(chunk).__name__}")
            if chunk:
                # A caller may reuse a mutable buffer after yielding it: copy it now.
                return memoryview(chunk if isinstance(chunk, bytes) else bytes(chunk)).cast("B")
        return None
