"""Adapts what callers give to ``put`` into exact-size reads.

Both backends consume ``put`` data through :class:`SourceReader`, which
gives them one behaviour: reads of exactly the size asked for (fewer only at
the end), byte counting, enforcement of a declared ``length``, and a clear
separation between errors of the *source* (re-raised unchanged to the caller)
and errors of the *store* (translated to ``storage`` errors).
"""

from __future__ import annotations

import io
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
        self._head = b""  # read ahead of a file by at_end()
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
        """Whether the source has nothing left, without losing any byte.

        With a declared length this is a count; otherwise the next chunk is
        fetched ahead and kept (a chunk iterable) or one byte is read ahead (a
        file that cannot seek).
        """
        if self.length is not None:
            return self.count >= self.length
        if self._pending is not None or self._head:
            return False
        try:
            if self._file is not None:
                self._head = self._file.read(1) or b""
                return not self._head
            assert self._chunks is not None
            for chunk in self._chunks:
                if chunk:
                    self._pending = memoryview(
                        chunk if isinstance(chunk, bytes) else bytes(chunk)
                    ).cast("B")
                    return False
            return True
        except BaseException as e:
            raise SourceFailed(e) from e

    def read(self, n: int = -1) -> bytes | bytearray:
        """Return the next ``n`` bytes (all that is left if ``n < 0``)."""
        if n < 0:
            parts = []
            while part := self.read(CHUNK_SIZE):
                parts.append(part)
            return b"".join(parts)  # only for small sources: nothing here calls it
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

    def _take(self, n: int) -> bytes | bytearray:
        if self._file is not None:
            if self._head:
                head, self._head = self._head, b""
                return head + self._take(n - len(head)) if n > len(head) else head
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

    def _next_piece(self) -> memoryview | None:
        """The pending rest of a chunk, else the next non-empty chunk, else None."""
        if self._pending is not None:
            piece, self._pending = self._pending, None
            return piece
        assert self._chunks is not None
        for chunk in self._chunks:
            if not isinstance(chunk, bytes | bytearray | memoryview):
                raise TypeError(f"put data chunks must be bytes, not {type(chunk).__name__}")
            if chunk:
                # A caller may reuse a mutable buffer after yielding it: copy it now.
                return memoryview(chunk if isinstance(chunk, bytes) else bytes(chunk)).cast("B")
        return None

    def _take_chunks(self, n: int) -> bytes | bytearray:
        # Parts are assembled in place in one buffer: a part never exists
        # twice in memory (a list of chunks joined at the end would).
        buffer: bytearray | None = None
        view: memoryview | None = None
        got = 0
        try:
            while got < n:
                piece = self._next_piece()
                if piece is None:
                    break
                if got == 0 and len(piece) == n == len(piece.obj):  # type: ignore[arg-type]
                    return piece.obj  # type: ignore[return-value]  # one whole chunk: no copy
                if buffer is None:
                    buffer = bytearray(n)
                    view = memoryview(buffer)
                assert view is not None
                take = min(len(piece), n - got)
                view[got : got + take] = piece[:take]
                if take < len(piece):
                    self._pending = piece[take:]
                got += take
        finally:
            if view is not None:
                view.release()
        if buffer is None:
            return b""
        if got < n:
            del buffer[got:]
        return buffer
