"""VSF1: streaming encryption of documents, byte-compatible with Tink.

A blob is exactly what Google Tink's ``AES256_GCM_HKDF_1MB`` streaming AEAD
writes (``AesGcmHkdfStreaming`` with a 32-byte derived key, HKDF-SHA256 and
1 MiB ciphertext segments), so a vault stays decryptable with Tink alone if this
project disappears::

    off   len    field
    0     1      0x28 (header length, 40)
    1     32     salt          (random, per blob)
    33    7      nonce_prefix  (random, per blob)
    40    S-40   segment 0 = AESGCM(K).encrypt(N_0, P_0, None), |P_0| <= S-56
    i*S   <=S    segment i, |P_i| = S-16 except the last (0..S-16 bytes + tag)

    K   = HKDF-SHA256(length=32, salt=salt, info=AAD).derive(DEK)
    N_i = nonce_prefix || uint32_be(i) || (0x01 if last segment else 0x00)

Why each piece is there:

- the per-blob salt gives every blob its own AES key, so random 96-bit nonces
  are never a concern, and the AAD (vault, document, version) is bound into the
  key: a blob moved to another row does not decrypt;
- the segment index in the nonce rejects dropped, duplicated and reordered
  segments; the last-segment flag rejects truncation at a segment boundary and
  appended segments;
- segments give bounded memory and random access (HTTP ranges).

Decryption yields plaintext segment by segment, each only after its tag
verified. A stream cut short is only detected at its end, so a caller writing
plaintext somewhere must write to a temporary place and keep it only once the
whole stream verified (or use :func:`decrypt_bytes` for small blobs).
"""

from __future__ import annotations

import os
import struct
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.errors import FormatError, IntegrityError

__all__ = [
    "HEADER_LENGTH",
    "KEY_LENGTH",
    "SEGMENT_SIZE",
    "TAG_LENGTH",
    "CiphertextRange",
    "Sink",
    "Source",
    "SupportsRead",
    "blob_aad",
    "ciphertext_length",
    "decrypt_bytes",
    "decrypt_iter",
    "decrypt_range",
    "decrypt_range_iter",
    "decrypt_stream",
    "encrypt_bytes",
    "encrypt_iter",
    "encrypt_stream",
    "plaintext_length",
    "plaintext_range_to_ciphertext_range",
]

SEGMENT_SIZE = 1 << 20
"""Ciphertext segment size S of Tink's ``AES256_GCM_HKDF_1MB`` (1 048 576)."""
KEY_LENGTH = 32
"""Length of a data-encryption key (DEK) and of the derived AES-256 key."""
SALT_LENGTH = 32
NONCE_PREFIX_LENGTH = 7
HEADER_LENGTH = 1 + SALT_LENGTH + NONCE_PREFIX_LENGTH
"""The header (length byte, salt, nonce prefix) is 40 bytes."""
TAG_LENGTH = 16
"""Every segment ends with a 16-byte GCM tag."""
MIN_SEGMENT_SIZE = 64
"""Smallest segment size accepted (tests use small ones to cross many boundaries)."""

# The nonce holds the segment index as uint32; a module variable so a test can
# lower it instead of writing 2**32 segments.
_MAX_SEGMENTS = 1 << 32


class SupportsRead(Protocol):
    """A binary file-like object opened for reading."""

    def read(self, size: int = -1, /) -> bytes: ...


class Sink(Protocol):
    """A binary file-like object opened for writing (blocking).

    ``write`` receives a view of a buffer that is reused for the next segment:
    it must copy or write out the bytes before returning, never keep the view.
    """

    def write(self, data: memoryview, /) -> int | None: ...


Source = SupportsRead | Iterable[bytes]
"""A binary file-like object (``readinto`` is used when present), an iterable of bytes, or bytes."""


def blob_aad(vault_id: uuid.UUID, document_id: uuid.UUID, version: int) -> bytes:
    """Build the associated data that binds a blob to its row (docs/architecture.md §2.1).

    Args:
        vault_id: the vault the document belongs to.
        document_id: the document.
        version: the document version (0 .. 2**32-1).

    Raises:
        ValueError: ``version`` does not fit in an unsigned 32-bit integer.
    """
    if not 0 <= version <= 0xFFFFFFFF:
        raise ValueError("version must fit in 32 bits")
    return b"vsf1|" + vault_id.bytes + document_id.bytes + struct.pack(">I", version)


# --- geometry -------------------------------------------------------------------------------


def _check_segment_size(segment_size: int) -> None:
    if segment_size < MIN_SEGMENT_SIZE:
        raise ValueError(f"segment_size must be at least {MIN_SEGMENT_SIZE}")


def ciphertext_length(plaintext_length: int, *, segment_size: int = SEGMENT_SIZE) -> int:
    """Return the exact blob length for a plaintext of ``plaintext_length`` bytes.

    The same formula as Tink's ``expectedCiphertextSize``: a plaintext that
    exactly fills its last segment gets no empty trailing segment.

    Raises:
        ValueError: negative length or segment size below :data:`MIN_SEGMENT_SIZE`.
    """
    _check_segment_size(segment_size)
    if plaintext_length < 0:
        raise ValueError("plaintext_length must not be negative")
    full_segments, rest = divmod(plaintext_length + HEADER_LENGTH, segment_size - TAG_LENGTH)
    length = full_segments * segment_size
    if rest:
        length += rest + TAG_LENGTH
    return length


def plaintext_length(ciphertext_length: int, *, segment_size: int = SEGMENT_SIZE) -> int:
    """Return the plaintext length of a blob of ``ciphertext_length`` bytes.

    Useful to check a stored object's size before streaming it.

    Raises:
        FormatError: no VSF1 blob has that length.
        ValueError: segment size below :data:`MIN_SEGMENT_SIZE`.
    """
    _check_segment_size(segment_size)
    full_segments, rest = divmod(ciphertext_length, segment_size)
    if 0 < rest <= TAG_LENGTH:
        raise FormatError("no VSF1 blob has this length")
    length = full_segments * (segment_size - TAG_LENGTH) - HEADER_LENGTH
    if rest:
        length += rest - TAG_LENGTH
    if length < 0:
        raise FormatError("no VSF1 blob has this length")
    return length


def _segment_of(offset: int, segment_size: int) -> int:
    first = segment_size - HEADER_LENGTH - TAG_LENGTH
    if offset < first:
        return 0
    return 1 + (offset - first) // (segment_size - TAG_LENGTH)


def _plaintext_start(segment: int, segment_size: int) -> int:
    if segment == 0:
        return 0
    return segment_size - HEADER_LENGTH - TAG_LENGTH + (segment - 1) * (segment_size - TAG_LENGTH)


@dataclass(frozen=True, slots=True)
class CiphertextRange:
    """Which blob bytes to fetch for a plaintext slice, and how to decrypt them.

    ``start``/``end`` are a half-open byte range of the blob (``end`` exclusive;
    an HTTP ``Range`` header is ``bytes={start}-{end - 1}``). When the slice
    starts in segment 0, ``start`` is 0 and the header comes with the range;
    otherwise the caller fetches the header (``bytes=0-39``) too.
    """

    offset: int
    length: int
    total_plaintext_length: int
    segment_size: int
    first_segment: int
    last_segment: int
    start: int
    end: int

    @property
    def needs_header(self) -> bool:
        """True when the range does not include the 40-byte header."""
        return self.start != 0


def plaintext_range_to_ciphertext_range(
    offset: int,
    length: int,
    total_plaintext_length: int,
    *,
    segment_size: int = SEGMENT_SIZE,
) -> CiphertextRange:
    """Map a plaintext slice to the blob byte range holding it.

    Args:
        offset: first plaintext byte wanted.
        length: number of plaintext bytes wanted (at least 1).
        total_plaintext_length: the document's size; it tells which segment is
            the last one. A wrong (e.g. tampered) size makes decryption fail.
        segment_size: ciphertext segment size of the blob.

    Raises:
        ValueError: the slice is empty or not inside the plaintext.
    """
    _check_segment_size(segment_size)
    if offset < 0 or length < 1 or offset + length > total_plaintext_length:
        raise ValueError("the range must be non-empty and inside the plaintext")
    first = _segment_of(offset, segment_size)
    last = _segment_of(offset + length - 1, segment_size)
    total = ciphertext_length(total_plaintext_length, segment_size=segment_size)
    return CiphertextRange(
        offset=offset,
        length=length,
        total_plaintext_length=total_plaintext_length,
        segment_size=segment_size,
        first_segment=first,
        last_segment=last,
        start=first * segment_size,
        end=min((last + 1) * segment_size, total),
    )


# --- input ----------------------------------------------------------------------------------


class _Reader:
    """Fills caller buffers completely from a file-like object or an iterable of bytes.

    File reads may be short (pipes, sockets, raw files); the segment layout
    needs whole segments, so every fill loops until the buffer is full or the
    source is exhausted.
    """

    __slots__ = ("_chunks", "_pending", "_read", "_readinto")

    def __init__(self, source: Source) -> None:
        self._readinto: Callable[[memoryview], int | None] | None = getattr(
            source, "readinto", None
        )
        self._read: Callable[[int], bytes] | None = getattr(source, "read", None)
        self._chunks: Iterator[bytes | bytearray | memoryview] | None = None
        if isinstance(source, bytes | bytearray | memoryview):
            # Bytes are iterable too, but as integers: take them as one chunk.
            self._chunks = iter([source])
        elif self._readinto is None and self._read is None:
            self._chunks = iter(cast(Iterable[bytes], source))
        self._pending = memoryview(b"")

    def fill(self, view: memoryview) -> int:
        """Fill ``view``; return how many bytes were written (fewer only at end of input)."""
        if self._readinto is not None:
            return self._fill_readinto(self._readinto, view)
        if self._read is not None:
            return self._fill_read(self._read, view)
        return self._fill_chunks(view)

    @staticmethod
    def _fill_readinto(readinto: Callable[[memoryview], int | None], view: memoryview) -> int:
        filled = 0
        size = len(view)
        while filled < size:
            got = readinto(view[filled:])
            if got is None:
                raise ValueError("non-blocking sources are not supported")
            if not got:
                break
            filled += got
        return filled

    @staticmethod
    def _fill_read(read: Callable[[int], bytes], view: memoryview) -> int:
        filled = 0
        size = len(view)
        while filled < size:
            data = read(size - filled)
            if not data:
                break
            view[filled : filled + len(data)] = data
            filled += len(data)
        return filled

    def _fill_chunks(self, view: memoryview) -> int:
        assert self._chunks is not None
        filled = 0
        size = len(view)
        while filled < size:
            if not self._pending:
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._pending = memoryview(chunk).cast("B")
                continue
            take = min(size - filled, len(self._pending))
            view[filled : filled + take] = self._pending[:take]
            self._pending = self._pending[take:]
            filled += take
        return filled


def _write_all(sink: Sink, data: memoryview) -> None:
    # Raw files may accept only part of a write; buffered files and BytesIO take
    # everything. A ``None`` return (sinks that do not count) means "all taken".
    while data:
        written = sink.write(data)
        if written is None:
            return
        data = data[written:]


# --- keys and nonces ------------------------------------------------------------------------


def _segment_cipher(dek: bytes, salt: bytes, aad: bytes) -> AESGCM:
    if len(dek) != KEY_LENGTH:
        raise ValueError("a data key is 32 bytes")
    key = HKDF(algorithm=hashes.SHA256(), length=KEY_LENGTH, salt=salt, info=aad).derive(dek)
    return AESGCM(key)


def _nonce(prefix: bytes, segment: int, last: bool) -> bytes:
    return prefix + struct.pack(">I?", segment, last)


def _next_segment(segment: int) -> int:
    segment += 1
    if segment >= _MAX_SEGMENTS:
        raise FormatError("a VSF1 stream holds at most 2**32 segments")
    return segment


# --- encryption -----------------------------------------------------------------------------


def _encrypt_chunks(
    dek: bytes,
    aad: bytes,
    reader: _Reader,
    segment_size: int,
    salt: bytes,
    nonce_prefix: bytes,
    reuse_buffers: bool,
) -> Iterator[bytes | memoryview]:
    """Yield the header, then each ciphertext segment.

    With ``reuse_buffers`` the segments are views of one output buffer, valid
    only until the next item is requested (the file-to-file path: no
    allocation per segment).
    """
    _check_segment_size(segment_size)
    cipher = _segment_cipher(dek, salt, aad)
    yield bytes([HEADER_LENGTH]) + salt + nonce_prefix
    capacity = segment_size - TAG_LENGTH
    current, upcoming = bytearray(capacity), bytearray(capacity)
    output = memoryview(bytearray(segment_size)) if reuse_buffers else None
    wanted = segment_size - HEADER_LENGTH - TAG_LENGTH
    filled = reader.fill(memoryview(current)[:wanted])
    segment = 0
    while True:
        # Look one segment ahead: the last segment is the one end of input follows.
        following = reader.fill(memoryview(upcoming)) if filled == wanted else 0
        last = following == 0
        nonce = _nonce(nonce_prefix, segment, last)
        plaintext = memoryview(current)[:filled]
        if output is not None:
            # encrypt_into wants a buffer of exactly the ciphertext's length.
            target = output[: filled + TAG_LENGTH]
            cipher.encrypt_into(nonce, plaintext, None, target)
            yield target
        else:
            yield cipher.encrypt(nonce, plaintext, None)
        if last:
            return
        current, upcoming = upcoming, current
        filled, wanted = following, capacity
        segment = _next_segment(segment)


def encrypt_iter(
    dek: bytes, aad: bytes, source: Source, *, segment_size: int = SEGMENT_SIZE
) -> Iterator[bytes]:
    """Encrypt ``source`` lazily; yield the blob as a sequence of byte strings.

    For streaming an upload to storage: memory stays at about three segments.

    Args:
        dek: the 32-byte data key of this blob.
        aad: associated data (see :func:`blob_aad`); needed again to decrypt.
        source: a binary file-like object or an iterable of bytes.
        segment_size: ciphertext segment size (only tests change it).

    Raises:
        ValueError: ``dek`` is not 32 bytes, or segment size too small.
        FormatError: more than 2**32 segments.
    """
    for chunk in _encrypt_chunks(
        dek,
        aad,
        _Reader(source),
        segment_size,
        os.urandom(SALT_LENGTH),
        os.urandom(NONCE_PREFIX_LENGTH),
        reuse_buffers=False,
    ):
        assert isinstance(chunk, bytes)
        yield chunk


def encrypt_stream(
    dek: bytes, aad: bytes, source: Source, sink: Sink, *, segment_size: int = SEGMENT_SIZE
) -> int:
    """Encrypt ``source`` into ``sink``; return the number of blob bytes written.

    Reads with ``readinto`` into preallocated buffers when the source offers
    it, and writes whole segments, so a file-to-file run copies little.

    Args:
        dek: the 32-byte data key of this blob.
        aad: associated data (see :func:`blob_aad`).
        source: a binary file-like object or an iterable of bytes.
        sink: a blocking binary file-like object opened for writing.
        segment_size: ciphertext segment size (only tests change it).

    Raises:
        ValueError: ``dek`` is not 32 bytes, or segment size too small.
        FormatError: more than 2**32 segments.
    """
    written = 0
    for chunk in _encrypt_chunks(
        dek,
        aad,
        _Reader(source),
        segment_size,
        os.urandom(SALT_LENGTH),
        os.urandom(NONCE_PREFIX_LENGTH),
        reuse_buffers=True,
    ):
        _write_all(sink, memoryview(chunk))
        written += len(chunk)
    return written


def encrypt_bytes(dek: bytes, aad: bytes, plaintext: bytes) -> bytes:
    """Encrypt a small plaintext held in memory into one VSF1 blob.

    Raises:
        ValueError: ``dek`` is not 32 bytes.
    """
    return b"".join(encrypt_iter(dek, aad, [plaintext]))


# --- decryption -----------------------------------------------------------------------------


def _read_header(reader: _Reader) -> tuple[bytes, bytes]:
    header = bytearray(HEADER_LENGTH)
    if reader.fill(memoryview(header)) < HEADER_LENGTH:
        raise IntegrityError("the blob is truncated (no complete header)")
    return _parse_header(bytes(header))


def _parse_header(header: bytes) -> tuple[bytes, bytes]:
    if len(header) != HEADER_LENGTH or header[0] != HEADER_LENGTH:
        raise FormatError("not a VSF1 blob header")
    return header[1 : 1 + SALT_LENGTH], header[1 + SALT_LENGTH :]


def _open_segment(
    cipher: AESGCM,
    nonce: bytes,
    ciphertext: memoryview,
    output: memoryview | None,
) -> bytes | memoryview:
    try:
        if output is None:
            return cipher.decrypt(nonce, ciphertext, None)
        if len(ciphertext) < TAG_LENGTH:
            raise InvalidTag
        # decrypt_into wants a buffer of exactly the plaintext's length.
        target = output[: len(ciphertext) - TAG_LENGTH]
        try:
            cipher.decrypt_into(nonce, ciphertext, None, target)
        except InvalidTag:
            # decrypt_into has already written the unverified plaintext: wipe
            # it, since a sink may still hold views of this reused buffer.
            target[:] = bytes(len(target))
            raise
        return target
    except InvalidTag:
        # Wrong key, wrong AAD, a flipped bit, a truncated, reordered or extra
        # segment: GCM cannot tell them apart, and neither do we.
        raise IntegrityError("a blob segment failed authentication") from None


def _decrypt_chunks(
    dek: bytes, aad: bytes, reader: _Reader, segment_size: int, reuse_buffers: bool
) -> Iterator[bytes | memoryview]:
    _check_segment_size(segment_size)
    if len(dek) != KEY_LENGTH:
        raise ValueError("a data key is 32 bytes")
    salt, nonce_prefix = _read_header(reader)
    cipher = _segment_cipher(dek, salt, aad)
    current, upcoming = bytearray(segment_size), bytearray(segment_size)
    output = memoryview(bytearray(segment_size - TAG_LENGTH)) if reuse_buffers else None
    wanted = segment_size - HEADER_LENGTH
    filled = reader.fill(memoryview(current)[:wanted])
    segment = 0
    while True:
        # A segment is the last one exactly when end of stream follows it.
        following = reader.fill(memoryview(upcoming)) if filled == wanted else 0
        last = following == 0
        nonce = _nonce(nonce_prefix, segment, last)
        yield _open_segment(cipher, nonce, memoryview(current)[:filled], output)
        if last:
            return
        current, upcoming = upcoming, current
        filled, wanted = following, segment_size
        segment = _next_segment(segment)


def decrypt_iter(
    dek: bytes, aad: bytes, source: Source, *, segment_size: int = SEGMENT_SIZE
) -> Iterator[bytes]:
    """Decrypt a blob lazily; yield plaintext one verified segment at a time.

    The iterator raises when a later segment fails, after earlier segments
    were yielded: whoever consumes it must treat the output as unconfirmed
    until the iterator is exhausted without error.

    Args:
        dek: the 32-byte data key.
        aad: the associated data given at encryption.
        source: the blob, as a binary file-like object or an iterable of bytes.
        segment_size: ciphertext segment size (only tests change it).

    Raises:
        IntegrityError: wrong key or AAD, or the blob was altered, truncated or extended.
        FormatError: the header is not a VSF1 header.
        ValueError: ``dek`` is not 32 bytes, or segment size too small.
    """
    for chunk in _decrypt_chunks(dek, aad, _Reader(source), segment_size, reuse_buffers=False):
        assert isinstance(chunk, bytes)
        yield chunk


def decrypt_stream(
    dek: bytes, aad: bytes, source: Source, sink: Sink, *, segment_size: int = SEGMENT_SIZE
) -> int:
    """Decrypt a blob into ``sink``; return the number of plaintext bytes written.

    On error, ``sink`` has received the segments that verified before the
    failure: write to a temporary place and keep it only if this returns.

    Args:
        dek: the 32-byte data key.
        aad: the associated data given at encryption.
        source: the blob, as a binary file-like object or an iterable of bytes.
        sink: a blocking binary file-like object opened for writing.
        segment_size: ciphertext segment size (only tests change it).

    Raises:
        IntegrityError: wrong key or AAD, or the blob was altered, truncated or extended.
        FormatError: the header is not a VSF1 header.
        ValueError: ``dek`` is not 32 bytes, or segment size too small.
    """
    written = 0
    for chunk in _decrypt_chunks(dek, aad, _Reader(source), segment_size, reuse_buffers=True):
        _write_all(sink, memoryview(chunk))
        written += len(chunk)
    return written


def decrypt_bytes(dek: bytes, aad: bytes, blob: bytes) -> bytes:
    """Decrypt a whole blob held in memory; return plaintext only if all of it verified.

    Raises:
        IntegrityError: wrong key or AAD, or the blob was altered, truncated or extended.
        FormatError: the header is not a VSF1 header.
        ValueError: ``dek`` is not 32 bytes.
    """
    return b"".join(list(decrypt_iter(dek, aad, [blob])))


def decrypt_range_iter(
    dek: bytes,
    aad: bytes,
    ciphertext_range: CiphertextRange,
    source: Source,
    *,
    header: bytes | None = None,
) -> Iterator[bytes]:
    """Decrypt the blob bytes of ``ciphertext_range``; yield exactly the plaintext slice.

    Every segment of the range is authenticated with its index and last-segment
    flag, so a slice is as trustworthy as a whole-blob decryption.

    Args:
        dek: the 32-byte data key.
        aad: the associated data given at encryption.
        ciphertext_range: from :func:`plaintext_range_to_ciphertext_range`.
        source: blob bytes ``start`` to ``end`` (file-like or iterable of bytes).
        header: the blob's first 40 bytes; required when
            ``ciphertext_range.needs_header``, ignored otherwise.

    Raises:
        IntegrityError: a segment failed authentication or the bytes are too short.
        FormatError: the header is not a VSF1 header, or more bytes than the range.
        ValueError: ``dek`` is not 32 bytes, or a needed header is missing.
    """
    rng = ciphertext_range
    size = rng.segment_size
    reader = _Reader(source)
    if rng.needs_header:
        if header is None:
            raise ValueError("this range does not include the header: pass header=")
        salt, nonce_prefix = _parse_header(header)
    else:
        salt, nonce_prefix = _read_header(reader)
    cipher = _segment_cipher(dek, salt, aad)
    blob_end = ciphertext_length(rng.total_plaintext_length, segment_size=size)
    final_segment = _segment_of(max(rng.total_plaintext_length - 1, 0), size)
    buffer = memoryview(bytearray(size))
    for segment in range(rng.first_segment, rng.last_segment + 1):
        begin = HEADER_LENGTH if segment == 0 else segment * size
        wanted = min((segment + 1) * size, blob_end) - begin
        if reader.fill(buffer[:wanted]) < wanted:
            raise IntegrityError("the ciphertext range is truncated")
        nonce = _nonce(nonce_prefix, segment, segment == final_segment)
        plaintext = _open_segment(cipher, nonce, buffer[:wanted], None)
        first_byte = _plaintext_start(segment, size)
        low = max(rng.offset - first_byte, 0)
        high = min(rng.offset + rng.length - first_byte, len(plaintext))
        yield bytes(plaintext[low:high])
    if reader.fill(memoryview(bytearray(1))):
        raise FormatError("more bytes than the ciphertext range")


def decrypt_range(
    dek: bytes,
    aad: bytes,
    ciphertext_range: CiphertextRange,
    ciphertext: bytes,
    *,
    header: bytes | None = None,
) -> bytes:
    """Decrypt ``ciphertext`` (blob bytes ``start`` to ``end``); return the plaintext slice.

    Same arguments and errors as :func:`decrypt_range_iter`, with the range's
    bytes held in memory.
    """
    return b"".join(
        list(decrypt_range_iter(dek, aad, ciphertext_range, [ciphertext], header=header))
    )
