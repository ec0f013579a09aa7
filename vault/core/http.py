"""The request class, and a streaming reader for the one file of an upload form.

docs/architecture.md §5: an upload streams; the request body is never held whole in
memory and plaintext never touches disk. Werkzeug's form parser writes file
parts above 500 KiB to a temporary file, so `VaultRequest` refuses file
content in ordinary form parsing, and upload views read the body with
`StreamingUpload`, which hands the file over chunk by chunk to be encrypted as
it arrives.

An upload view must therefore not let anything touch `request.form` or
`request.files` first: it is exempt from `CSRFProtect`'s automatic check and
calls `check_csrf(upload)`, which runs the same check on the fields read before
the file (the token's hidden input comes before the file input in the form, so
it arrives first).

Error codes are stable strings, never text for people: the view maps them to
translated messages.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Final, Literal

from flask import Request, current_app
from flask import request as current_request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.sansio.multipart import (
    BLANK_LINE_RE,
    Data,
    Epilogue,
    Event,
    Field,
    File,
    MultipartDecoder,
    NeedData,
    Preamble,
    State,
)

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

# Read from the request body a mebibyte at a time. gunicorn receives up to
# 1 MiB per recv() and keeps what a read did not take in a buffer that it
# copies whole on every read: at 64 KiB per read, each byte of a large upload
# was copied about eight times, a third of the upload's CPU.
READ_SIZE: Final = 1024 * 1024
# The preamble and each part's headers are buffered until their end is found;
# browsers send a few hundred bytes. Anything longer is not a form.
MAX_HEADER_BYTES: Final = 16 * 1024
# Spaces or tabs a client may put after a boundary (RFC 2046 "transport
# padding"); browsers send none.
MAX_TRANSPORT_PADDING: Final = 64
# RFC 2046 §5.1.1: characters from this set, not ending with a space. The RFC
# caps the length at 70, but clients exceed it (Werkzeug's own test client
# makes 70 or 71 depending on a random number): a longer boundary is harmless,
# so up to 200 are accepted rather than failing one upload in a few dozen.
_BOUNDARY_RE = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,199}[0-9A-Za-z'()+_,\-./:=?]")

UploadErrorCode = Literal[
    "malformed",
    "missing_file",
    "empty",
    "too_large",
    "too_many_files",
    "field_too_large",
    "too_many_fields",
]


class UploadError(Exception):
    """An upload was refused; `code` says why, for the view to explain."""

    def __init__(self, code: UploadErrorCode) -> None:
        super().__init__(code)
        self.code: UploadErrorCode = code


class _NoFileContent(io.BytesIO):
    """A file part container that accepts nothing but an empty file."""

    def write(self, buffer: ReadableBuffer, /) -> int:
        if memoryview(buffer).nbytes:
            raise RequestEntityTooLarge(
                "File parts are only read by StreamingUpload, never by request.form/files."
            )
        return 0


class _Decoder(MultipartDecoder):
    """Werkzeug's multipart decoder, holding back a split closing delimiter whole."""

    # Werkzeug (3.1.9) holds back the bytes that may start a delimiter only
    # within len(b"\r\n--" + boundary) of the end, but the closing delimiter
    # is two bytes longer, and may carry padding: a read ending in
    # "\r\n--boundary-" hands the CR to the part, and a file gains a stray
    # byte depending on how the network split the body (pallets/werkzeug#3285).
    # Same logic, wider window. test_http's split tests catch it coming back.
    def _last_partial_boundary_index(self, data: bytes | bytearray) -> int:
        window = len(b"\r\n--" + self.boundary + b"--") + MAX_TRANSPORT_PADDING
        start = max(0, len(data) - window)
        breaks = [i for i in (data.rfind(b"\r", start), data.rfind(b"\n", start)) if i != -1]
        return min(breaks) if breaks else len(data)

    # One read holds up to READ_SIZE, so the decoder's own limit (its buffer:
    # a read plus MAX_HEADER_BYTES) would let a megabyte of preamble or part
    # headers through when they arrive in one read. Their end must come
    # within MAX_HEADER_BYTES of where they start.
    def next_event(self) -> Event:
        if len(self.buffer) > MAX_HEADER_BYTES:
            if self.state is State.PART:
                end = BLANK_LINE_RE.search(self.buffer, 0, MAX_HEADER_BYTES + 4)
                if end is None:
                    raise ValueError("part headers too long")
            elif self.state is State.PREAMBLE:
                limit = MAX_HEADER_BYTES + len(self.boundary) + MAX_TRANSPORT_PADDING + 8
                if self.preamble_re.search(self.buffer, 0, limit) is None:
                    raise ValueError("preamble too long")
        return super().next_event()


class VaultRequest(Request):
    """The app's request class: its form parsing never writes a file part to disk."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        # File content in ordinary form parsing is refused with 413, whatever
        # its size; only empty file parts pass, which is what a browser sends
        # for a file input left untouched, so such forms keep working.
        #
        # Refusing rather than keeping small files in memory: a view that used
        # request.files by mistake would then pass tests with small samples and
        # fail only on real documents; refused, it fails at its first test.
        # 413 rather than 400: it is werkzeug's answer to a body the server
        # will not take, and the error pages already render it.
        return _NoFileContent()


class FilePart:
    """The file of an upload: what the client declared, and its body on demand."""

    __slots__ = ("_upload", "declared_type", "field_name", "filename")

    def __init__(
        self,
        upload: StreamingUpload,
        field_name: str,
        filename: str,
        declared_type: str | None,
    ) -> None:
        self._upload = upload
        self.field_name = field_name
        # As sent, possibly hostile: vault.documents.uploads.clean_filename makes a label.
        self.filename = filename
        # As sent, never trusted: vault.documents.uploads.sniff_type decides the type.
        self.declared_type = declared_type

    def __repr__(self) -> str:
        # No filename: reprs end up in logs, and logs never carry document names.
        return f"<FilePart field={self.field_name!r} declared_type={self.declared_type!r}>"

    def chunks(self) -> Iterator[bytes]:
        """The file's body, read from the request as it is consumed.

        Raises UploadError("too_large") as soon as more than the upload's
        max_file_bytes arrived, and UploadError("malformed") if the body ends
        or the client goes away before the file does.
        """
        return self._upload._file_body()


class StreamingUpload:
    """A multipart/form-data body read part by part from the request stream.

    `from_request` reads the text fields up to the file part and stops there;
    the view consumes `file.chunks()`, then calls `finish()` to read what
    follows. At most about READ_SIZE + MAX_HEADER_BYTES of the body is held at
    once, besides the text fields themselves (bounded by max_fields and
    max_field_bytes).

    Fields are decoded as UTF-8 whatever their declared charset (HTML forms
    send UTF-8 from UTF-8 pages); a repeated field name is "malformed", since
    our forms never repeat one.
    """

    def __init__(
        self,
        stream: IO[bytes],
        boundary: bytes,
        *,
        max_file_bytes: int,
        max_field_bytes: int = 64 * 1024,
        max_fields: int = 20,
        photo_field: str | None = None,
        max_photos: int = 0,
    ) -> None:
        self.fields: dict[str, str] = {}
        self.file: FilePart | None = None
        # Parts of `photo_field` before the file, read whole (D-082), within max_file_bytes.
        self.photos: list[bytes] = []
        self._photo_field, self._max_photos = photo_field, max_photos
        self._stream = stream
        self._decoder = _Decoder(boundary, max_form_memory_size=READ_SIZE + MAX_HEADER_BYTES)
        self._max_file_bytes = max_file_bytes
        self._max_field_bytes = max_field_bytes
        self._max_fields = max_fields
        # Parts that count against max_fields: text fields and empty file inputs.
        self._small_parts = 0
        self._file_bytes = 0
        self._pending = b""  # file data read ahead to tell an empty file
        self._file_done = False  # the file's last data event was read
        self._complete = False  # the epilogue was reached

    @classmethod
    def from_request(
        cls,
        request: Request,
        *,
        max_file_bytes: int,
        max_field_bytes: int = 64 * 1024,
        max_fields: int = 20,
        photo_field: str | None = None,
        max_photos: int = 0,
    ) -> StreamingUpload:
        """Start reading `request`'s body: the fields before the file, and the file's start.

        Raises UploadError ("malformed", "too_large", "empty", "field_too_large",
        "too_many_fields"), and RuntimeError if the form was already parsed.
        """
        if request.mimetype != "multipart/form-data":
            raise UploadError("malformed")
        boundary = request.mimetype_params.get("boundary", "")
        if not _BOUNDARY_RE.fullmatch(boundary):
            raise UploadError("malformed")
        if "form" in request.__dict__ or getattr(request, "_cached_data", None) is not None:
            # The body was consumed (by CSRFProtect's check, or request.form):
            # a bug in the view's setup, not the client's fault.
            raise RuntimeError(
                "the request body was already read; exempt the upload view from "
                "CSRFProtect and call check_csrf(upload) instead"
            )
        try:
            stream = request.stream
        except RequestEntityTooLarge as e:  # Content-Length above MAX_CONTENT_LENGTH
            raise UploadError("too_large") from e
        upload = cls(
            stream,
            boundary.encode("ascii"),
            max_file_bytes=max_file_bytes,
            max_field_bytes=max_field_bytes,
            max_fields=max_fields,
            photo_field=photo_field,
            max_photos=max_photos,
        )
        upload._read_parts(first_file=True)
        return upload

    def require_file(self) -> FilePart:
        """The file part; raises UploadError("missing_file") when none was sent."""
        if self.file is None:
            raise UploadError("missing_file")
        return self.file

    def finish(self) -> None:
        """Read the rest of the body: later fields join `fields`; a second file is refused.

        An unread rest of the file is read and dropped first (still within
        max_file_bytes). Raises UploadError like from_request, and
        "too_many_files".
        """
        if self.file is not None:
            for _ in self._file_body():
                pass
        self._read_parts(first_file=False)

    # Reading the parts

    def _read_parts(self, *, first_file: bool) -> None:
        """Read fields until the epilogue or, if `first_file`, a file part."""
        while not self._complete:
            event = self._next_event()
            if isinstance(event, Preamble):
                continue
            if isinstance(event, Epilogue):
                self._complete = True
            elif isinstance(event, Field):
                self._count_small_part()
                self._read_field(event)
            elif isinstance(event, File):
                if self._start_file(event, first_file=first_file):
                    return
            else:
                raise UploadError("malformed")

    def _count_small_part(self) -> None:
        self._small_parts += 1
        if self._small_parts > self._max_fields:
            raise UploadError("too_many_fields")

    def _read_field(self, event: Field) -> None:
        name = event.name
        if not isinstance(name, str) or name in self.fields:
            raise UploadError("malformed")
        pieces: list[bytes] = []
        size = 0
        more = True
        while more:
            data = self._next_data()
            size += len(data.data)
            if size > self._max_field_bytes:
                raise UploadError("field_too_large")
            pieces.append(data.data)
            more = data.more_data
        try:
            self.fields[name] = b"".join(pieces).decode("utf-8")
        except UnicodeDecodeError as e:
            raise UploadError("malformed") from e

    def _start_file(self, event: File, *, first_file: bool) -> bool:
        """Read the file part's first data; True if it is the upload's file."""
        if not isinstance(event.name, str):
            raise UploadError("malformed")
        # Read up to the first bytes of content: only then is an empty file
        # told apart from one whose data comes in the next read.
        first = b""
        ended = False
        while not first and not ended:
            data = self._next_data()
            first, ended = data.data, not data.more_data
        if not first and event.filename == "":
            # A file input left empty: browsers send it as a nameless, empty
            # file. Treated as absent, it still counts as a part.
            self._count_small_part()
            return False
        if first_file and first and event.name == self._photo_field:
            self._read_photo(first, ended)  # whole: one PDF is made of them all
            return False
        if not first_file:
            raise UploadError("too_many_files")
        if not first:
            raise UploadError("empty")
        self._add_file_bytes(len(first))
        self._pending = first
        self._file_done = ended
        self.file = FilePart(self, event.name, event.filename, event.headers.get("content-type"))
        return True

    def _read_photo(self, first: bytes, ended: bool) -> None:
        if len(self.photos) >= self._max_photos:
            raise UploadError("too_many_files")
        self._add_file_bytes(len(first))
        pieces = [first]  # read whole: bounded by max_file_bytes
        while not ended:
            data = self._next_data()
            self._add_file_bytes(len(data.data))
            pieces.append(data.data)
            ended = not data.more_data
        self.photos.append(b"".join(pieces))

    def _file_body(self) -> Iterator[bytes]:
        # All state lives on self, so a second iterator (finish() draining what
        # the view left) continues where the first one stopped.
        while True:
            if self._pending:
                chunk, self._pending = self._pending, b""
                yield chunk
                continue
            if self._file_done:
                return
            data = self._next_data()
            self._file_done = not data.more_data
            if data.data:
                self._add_file_bytes(len(data.data))
                yield data.data

    def _add_file_bytes(self, n: int) -> None:
        self._file_bytes += n
        if self._file_bytes > self._max_file_bytes:
            raise UploadError("too_large")

    # Feeding the decoder

    def _next_data(self) -> Data:
        event = self._next_event()
        if not isinstance(event, Data):
            raise UploadError("malformed")
        return event

    def _next_event(self) -> Event:
        """The decoder's next event, reading the stream when it needs data."""
        while True:
            try:
                event = self._decoder.next_event()
            except ValueError as e:  # also UnicodeDecodeError in part headers
                raise UploadError("malformed") from e
            if not isinstance(event, NeedData):
                return event
            if self._decoder.complete:
                # The decoder raises rather than wanting more after the end;
                # this guards against a loop if that ever changes.
                raise UploadError("malformed")
            if self._decoder.state is State.EPILOGUE:
                # Nothing after the closing boundary matters; the decoder would
                # buffer all of it until the end.
                self._drain()
                chunk = b""
            else:
                chunk = self._read()
            try:
                self._decoder.receive_data(chunk or None)
            except RequestEntityTooLarge as e:  # headers or preamble beyond the limit
                raise UploadError("malformed") from e

    def _read(self) -> bytes:
        try:
            return self._stream.read(READ_SIZE)
        except RequestEntityTooLarge as e:  # a streamed body beyond MAX_CONTENT_LENGTH
            raise UploadError("too_large") from e
        except (ClientDisconnected, OSError, ValueError) as e:
            raise UploadError("malformed") from e

    def _drain(self) -> None:
        while self._read():
            pass


def check_csrf(upload: StreamingUpload) -> None:
    """Flask-WTF's CSRF check for an upload view exempt from the automatic one.

    The token comes from the fields sent before the file. Raises
    flask_wtf.csrf.CSRFError, as CSRFProtect does, when the check fails.
    """
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    # CSRFProtect reads the token from request.form. Werkzeug keeps a parsed
    # form in the request's instance dict, so the fields read so far stand in
    # for it there, and the check (token, then referrer on HTTPS) stays
    # Flask-WTF's own rather than a copy of it.
    current_request.__dict__["form"] = ImmutableMultiDict(upload.fields)
    current_request.__dict__["files"] = ImmutableMultiDict()
    current_app.extensions["csrf"].protect()
