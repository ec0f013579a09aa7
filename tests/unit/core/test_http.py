"""Uploads stream: StreamingUpload reads bodies piece by piece; VaultRequest spills nothing."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Request, request
from flask.testing import FlaskClient
from flask_wtf.csrf import CSRFProtect, generate_csrf
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import ClientDisconnected
from werkzeug.test import encode_multipart

from vault.core.http import (
    MAX_HEADER_BYTES,
    READ_SIZE,
    StreamingUpload,
    UploadError,
    VaultRequest,
    check_csrf,
)

BOUNDARY = "vault-test-boundary-7f3a"
MIB = 1024 * 1024

Part = tuple[str, Any]


def file_part(
    content: bytes, filename: str = "scan.pdf", content_type: str = "application/pdf"
) -> FileStorage:
    return FileStorage(io.BytesIO(content), filename=filename, content_type=content_type)


def raw_field(content: bytes) -> FileStorage:
    """A text field whose bytes are sent as they are (no filename makes it a field)."""
    return FileStorage(io.BytesIO(content), filename=None, content_type="text/plain")


def multipart(*parts: Part, boundary: str = BOUNDARY) -> bytes:
    """A multipart/form-data body with `parts` in this order, as werkzeug's client builds it."""
    _, body = encode_multipart(MultiDict(list(parts)), boundary=boundary)
    return body


CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
Starter = Callable[..., StreamingUpload]
TempFiles = tuple[Path, list[str]]


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    app.request_class = VaultRequest
    return app


@pytest.fixture
def start(app: Flask) -> Iterator[Starter]:
    """Open a request context on a body and start a StreamingUpload on it."""
    contexts: list[Any] = []

    def start(
        body: bytes,
        *,
        content_type: str = CONTENT_TYPE,
        max_file_bytes: int = 10 * MIB,
        **kwargs: Any,
    ) -> StreamingUpload:
        environ = kwargs.pop("environ", {})
        ctx = app.test_request_context(
            "/upload", method="POST", data=body, content_type=content_type, **environ
        )
        ctx.push()
        contexts.append(ctx)
        return StreamingUpload.from_request(request, max_file_bytes=max_file_bytes, **kwargs)

    yield start
    for ctx in reversed(contexts):
        ctx.pop()


def read_all(upload: StreamingUpload) -> bytes:
    assert upload.file is not None
    content = b"".join(upload.file.chunks())
    upload.finish()
    return content


def raw_input(stream: Any, content_length: int) -> dict[str, Any]:
    """Environ arguments sending `stream` as it is, with this Content-Length.

    EnvironBuilder would measure an input_stream and replace the length, and
    encode a body of its own, with its own boundary, for a multipart request.
    """
    overrides = {
        "wsgi.input": stream,
        "CONTENT_LENGTH": str(content_length),
        "CONTENT_TYPE": CONTENT_TYPE,
    }
    return {"environ_overrides": overrides}


def code_of(excinfo: pytest.ExceptionInfo[UploadError]) -> str:
    return excinfo.value.code


# The happy path


def test_fields_before_the_file_are_read_first_and_those_after_on_finish(start: Starter) -> None:
    content = os.urandom(300_000)
    body = multipart(
        ("csrf_token", "tok"),
        ("title", "Relevé CAF"),
        ("file", file_part(content, "../../relevé.pdf")),
        ("category", "social"),
    )
    upload = start(body)
    assert upload.fields == {"csrf_token": "tok", "title": "Relevé CAF"}
    assert upload.file is not None
    assert upload.file.field_name == "file"
    assert upload.file.filename == "../../relevé.pdf"  # raw: cleaning is the caller's job
    assert upload.file.declared_type == "application/pdf"
    assert read_all(upload) == content
    assert upload.fields == {"csrf_token": "tok", "title": "Relevé CAF", "category": "social"}


def test_chunks_are_bounded_pieces(start: Starter) -> None:
    content = os.urandom(8 * READ_SIZE)
    upload = start(multipart(("file", file_part(content))), max_file_bytes=len(content))
    sizes = [len(chunk) for chunk in upload.require_file().chunks()]
    assert sum(sizes) == len(content)
    assert len(sizes) >= 8
    assert max(sizes) <= READ_SIZE + MAX_HEADER_BYTES


def test_file_alone_and_tiny_file(start: Starter) -> None:
    upload = start(multipart(("file", file_part(b"x"))))
    assert upload.fields == {}
    assert read_all(upload) == b"x"
    assert upload.fields == {}


def test_file_content_that_looks_like_a_boundary_is_kept(start: Starter) -> None:
    content = b"\r\n--" + BOUNDARY.encode()[:-1] + b"\r\n--not-it\r\n" * 1000 + b"\r\n\r\n"
    upload = start(multipart(("file", file_part(content)), ("after", "1")))
    assert read_all(upload) == content
    assert upload.fields == {"after": "1"}


def test_preamble_and_epilogue_are_ignored(start: Starter) -> None:
    body = b"preamble text\r\n" + multipart(("a", "1"), ("file", file_part(b"data")))
    body += b"epilogue junk " * 100_000
    upload = start(body)
    assert read_all(upload) == b"data"
    assert upload.fields == {"a": "1"}


def test_finish_reads_and_drops_what_the_view_left(start: Starter) -> None:
    body = multipart(("file", file_part(os.urandom(MIB))), ("after", "yes"))
    upload = start(body)
    chunks = upload.require_file().chunks()
    next(chunks)
    upload.finish()
    upload.finish()  # idempotent
    assert upload.fields == {"after": "yes"}
    assert list(chunks) == []


def test_repr_never_shows_the_filename(start: Starter) -> None:
    upload = start(multipart(("file", file_part(b"x", "Jugement Dupont.pdf"))))
    assert "Dupont" not in repr(upload.file)


# No file


def test_no_file_part(start: Starter) -> None:
    upload = start(multipart(("title", "t"), ("other", "o")))
    assert upload.file is None
    assert upload.fields == {"title": "t", "other": "o"}
    with pytest.raises(UploadError) as excinfo:
        upload.require_file()
    assert code_of(excinfo) == "missing_file"
    upload.finish()


def test_a_file_input_left_empty_is_no_file(start: Starter) -> None:
    # What a browser sends for an untouched <input type=file>.
    body = multipart(
        ("title", "t"), ("file", file_part(b"", "", "application/octet-stream")), ("x", "1")
    )
    upload = start(body)
    assert upload.file is None
    assert upload.fields == {"title": "t", "x": "1"}
    with pytest.raises(UploadError) as excinfo:
        upload.require_file()
    assert code_of(excinfo) == "missing_file"


def test_a_nameless_file_with_content_is_a_file(start: Starter) -> None:
    upload = start(multipart(("file", file_part(b"data", ""))))
    assert upload.require_file().filename == ""
    assert read_all(upload) == b"data"


def test_empty_file(start: Starter) -> None:
    with pytest.raises(UploadError) as excinfo:
        start(multipart(("file", file_part(b"", "scan.pdf"))))
    assert code_of(excinfo) == "empty"


# Sizes and counts


@pytest.mark.parametrize("limit", [10, 200_000])
def test_file_of_exactly_the_limit_passes(start: Starter, limit: int) -> None:
    content = os.urandom(limit)
    upload = start(multipart(("file", file_part(content))), max_file_bytes=limit)
    assert read_all(upload) == content


@pytest.mark.parametrize("limit", [10, 200_000])
def test_one_byte_over_the_limit_fails(start: Starter, limit: int) -> None:
    content = os.urandom(limit + 1)
    with pytest.raises(UploadError) as excinfo:
        upload = start(multipart(("file", file_part(content))), max_file_bytes=limit)
        read_all(upload)
    assert code_of(excinfo) == "too_large"


def test_too_large_is_raised_before_more_than_the_limit_is_handed_over(start: Starter) -> None:
    limit = 100_000
    received = 0
    with pytest.raises(UploadError) as excinfo:
        # The first read may already hold more than the limit: then even the
        # start of the upload (which reads ahead to tell an empty file) fails.
        upload = start(multipart(("file", file_part(os.urandom(5 * MIB)))), max_file_bytes=limit)
        for chunk in upload.require_file().chunks():
            received += len(chunk)
    assert code_of(excinfo) == "too_large"
    assert received <= limit
    # The rest of the body was not read to find out.
    assert request.stream.tell() < limit + 2 * READ_SIZE


def test_too_large_in_the_middle_of_the_stream(start: Starter) -> None:
    # A limit beyond the first reads: the file starts, then stops at the limit.
    limit = 3 * READ_SIZE + 1
    upload = start(multipart(("file", file_part(os.urandom(8 * MIB)))), max_file_bytes=limit)
    received = 0
    with pytest.raises(UploadError) as excinfo:
        for chunk in upload.require_file().chunks():
            received += len(chunk)
    assert code_of(excinfo) == "too_large"
    assert 0 < received <= limit
    assert request.stream.tell() < limit + 2 * READ_SIZE


def test_content_length_over_max_content_length(app: Flask, start: Starter) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1000
    with pytest.raises(UploadError) as excinfo:
        start(multipart(("file", file_part(os.urandom(2000)))))
    assert code_of(excinfo) == "too_large"


def test_streamed_body_over_max_content_length(app: Flask, start: Starter) -> None:
    # A chunked request: no Content-Length, the server terminates the stream.
    app.config["MAX_CONTENT_LENGTH"] = 100_000
    body = multipart(("file", file_part(os.urandom(300_000))))
    environ = {"environ_overrides": {"wsgi.input_terminated": True, "CONTENT_LENGTH": ""}}
    upload = start(body, environ=environ)
    with pytest.raises(UploadError) as excinfo:
        read_all(upload)
    assert code_of(excinfo) == "too_large"


def test_second_file_is_refused(start: Starter) -> None:
    body = multipart(("file", file_part(b"one")), ("other", file_part(b"two", "b.png")))
    upload = start(body)
    assert b"".join(upload.require_file().chunks()) == b"one"
    with pytest.raises(UploadError) as excinfo:
        upload.finish()
    assert code_of(excinfo) == "too_many_files"


def test_second_file_input_left_empty_is_fine(start: Starter) -> None:
    body = multipart(("file", file_part(b"one")), ("other", file_part(b"", "")))
    upload = start(body)
    assert read_all(upload) == b"one"


def test_field_count_up_to_the_limit(start: Starter) -> None:
    before = [(f"b{i}", "v") for i in range(5)]
    after = [(f"a{i}", "v") for i in range(5)]
    upload = start(multipart(*before, ("file", file_part(b"x")), *after), max_fields=10)
    read_all(upload)
    assert len(upload.fields) == 10


@pytest.mark.parametrize("where", ["before", "after"])
def test_one_field_over_the_limit(start: Starter, where: str) -> None:
    before = [(f"b{i}", "v") for i in range(6 if where == "before" else 5)]
    after = [(f"a{i}", "v") for i in range(6 if where == "after" else 5)]
    with pytest.raises(UploadError) as excinfo:
        read_all(start(multipart(*before, ("file", file_part(b"x")), *after), max_fields=10))
    assert code_of(excinfo) == "too_many_fields"


def test_empty_file_inputs_count_against_the_field_limit(start: Starter) -> None:
    empties = [(f"f{i}", file_part(b"", "")) for i in range(3)]
    with pytest.raises(UploadError) as excinfo:
        start(multipart(*empties), max_fields=2)
    assert code_of(excinfo) == "too_many_fields"


def test_field_size(start: Starter) -> None:
    upload = start(multipart(("title", "é" * 50)), max_field_bytes=100)
    assert upload.fields == {"title": "é" * 50}
    with pytest.raises(UploadError) as excinfo:
        start(multipart(("title", "é" * 50 + "x")), max_field_bytes=100)
    assert code_of(excinfo) == "field_too_large"


def test_large_field_is_refused_without_buffering_it(start: Starter) -> None:
    with pytest.raises(UploadError) as excinfo:
        start(multipart(("title", "x" * (4 * MIB))))
    assert code_of(excinfo) == "field_too_large"


# Malformed bodies


def malformed(start: Starter, body: bytes, **kwargs: Any) -> UploadError:
    with pytest.raises(UploadError) as excinfo:
        upload = start(body, **kwargs)
        if upload.file is not None:
            for _ in upload.file.chunks():
                pass
        upload.finish()
    assert code_of(excinfo) == "malformed"
    return excinfo.value


def test_boundaries_longer_than_the_rfc_says_are_read(start: Starter) -> None:
    """Werkzeug's test client sends 71-character boundaries about one time in ten."""
    boundary = "b" * 150
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n'
        f"%PDF-1.4\r\n--{boundary}--\r\n"
    ).encode()
    upload = start(body, content_type=f"multipart/form-data; boundary={boundary}")
    assert b"".join(upload.require_file().chunks()) == b"%PDF-1.4"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "application/json",
        "text/plain",
        "multipart/form-data",  # no boundary
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=other-boundary",
        "multipart/form-data; boundary=" + "x" * 201,
        'multipart/form-data; boundary="bad\tboundary"',
        "multipart/mixed; boundary=" + BOUNDARY,
    ],
)
def test_not_our_multipart(start: Starter, content_type: str) -> None:
    malformed(start, multipart(("file", file_part(b"x"))), content_type=content_type)


def test_urlencoded_form_is_malformed(start: Starter) -> None:
    malformed(start, b"title=x", content_type="application/x-www-form-urlencoded")


def test_no_body(start: Starter) -> None:
    malformed(start, b"", environ={"input_stream": io.BytesIO(b""), "content_length": 0})


def test_empty_form_has_no_file(start: Starter) -> None:
    upload = start(b"--" + BOUNDARY.encode() + b"--\r\n")
    assert (upload.fields, upload.file) == ({}, None)


def test_field_value_not_utf8(start: Starter) -> None:
    malformed(start, multipart(("title", raw_field(b"caf\xe9")), ("file", file_part(b"x"))))


def test_field_after_the_file_not_utf8(start: Starter) -> None:
    malformed(start, multipart(("file", file_part(b"x")), ("title", raw_field(b"\xff\xfe"))))


def test_part_header_not_utf8(start: Starter) -> None:
    body = multipart(("title", "x")).replace(b'name="title"', b'name="t\xe9"')
    malformed(start, body)


def test_part_without_content_disposition(start: Starter) -> None:
    body = multipart(("title", "x")).replace(b"Content-Disposition", b"X-Nothing")
    malformed(start, body)


def test_part_without_a_name(start: Starter) -> None:
    body = multipart(("title", "x")).replace(b'; name="title"', b"")
    malformed(start, body)


def test_repeated_field(start: Starter) -> None:
    malformed(start, multipart(("title", "a"), ("title", "b")))


def test_endless_part_headers_are_refused(start: Starter) -> None:
    body = b"--" + BOUNDARY.encode() + b"\r\n" + b"X-Pad: " + b"a" * (2 * MIB)
    malformed(start, body)


def test_part_headers_longer_than_the_limit_are_refused_even_within_one_read(
    start: Starter,
) -> None:
    # Well under one read: the decoder's own limit (a read's worth) would pass it.
    pad = b"a" * (MAX_HEADER_BYTES + 1)
    body = b"--" + BOUNDARY.encode() + b"\r\n" + b"X-Pad: " + pad + b"\r\n\r\nx\r\n"
    assert len(body) < READ_SIZE
    malformed(start, body + b"--" + BOUNDARY.encode() + b"--\r\n")
    malformed(start, multipart(("n" * (MAX_HEADER_BYTES + 1), "value")))


def test_endless_preamble(start: Starter) -> None:
    malformed(start, b"x" * (2 * MIB) + multipart(("title", "x")))


@pytest.mark.parametrize("cut", [10, 120, 250, 20_000, -30, -5, -3])
def test_truncated_body(start: Starter, cut: int) -> None:
    # The client stopped sending, and the Content-Length matches what came.
    body = multipart(("title", "x"), ("file", file_part(os.urandom(50_000))), ("after", "y"))
    malformed(start, body[:cut])


@pytest.mark.parametrize("cut", [100, 20_000, -40])
def test_client_disconnected(start: Starter, cut: int) -> None:
    # Content-Length announces more than arrives: werkzeug's ClientDisconnected.
    body = multipart(("title", "x"), ("file", file_part(os.urandom(50_000))), ("after", "y"))
    error = malformed(start, b"", environ=raw_input(io.BytesIO(body[:cut]), len(body)))
    assert isinstance(error.__cause__, ClientDisconnected)


class BrokenConnection:
    """A wsgi.input whose connection breaks after `body`."""

    def __init__(self, body: bytes) -> None:
        self._body = io.BytesIO(body)

    def read(self, size: int = -1) -> bytes:
        data = self._body.read(size)
        if not data:
            raise ConnectionResetError("peer went away")
        return data


def test_connection_error_while_reading(start: Starter) -> None:
    body = multipart(("file", file_part(os.urandom(200_000))))
    error = malformed(start, b"", environ=raw_input(BrokenConnection(body[:100_000]), len(body)))
    assert isinstance(error.__cause__, ClientDisconnected)


def test_form_already_parsed_is_a_bug_not_a_bad_request(app: Flask) -> None:
    body = multipart(("title", "x"))
    with app.test_request_context("/", method="POST", data=body, content_type=CONTENT_TYPE):
        assert request.form["title"] == "x"
        with pytest.raises(RuntimeError, match="CSRFProtect"):
            StreamingUpload.from_request(request, max_file_bytes=100)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_damaged_body_is_an_upload_error_or_parses(data: st.DataObject) -> None:
    body = bytearray(
        multipart(
            ("csrf_token", "tok"),
            ("file", file_part(b"%PDF-1.7\r\n" + b"\r\n--x" * 200)),
            ("after", "é"),
        )
    )
    for _ in range(data.draw(st.integers(0, 4))):
        position = data.draw(st.integers(0, len(body) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            body[position] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del body[position : position + data.draw(st.integers(1, 50))]
        else:
            body[position:position] = data.draw(
                st.sampled_from([b"\r\n", b"--", BOUNDARY.encode(), b"\xff", b'"'])
            )
    app = Flask(__name__)
    app.request_class = VaultRequest
    with app.test_request_context("/", method="POST", data=bytes(body), content_type=CONTENT_TYPE):
        try:
            upload = StreamingUpload.from_request(request, max_file_bytes=MIB)
            if upload.file is not None:
                for _ in upload.file.chunks():
                    pass
            upload.finish()
        except UploadError:
            pass


class ShortReads:
    """A wsgi.input answering each read with at most the next of `sizes` bytes."""

    def __init__(self, body: bytes, sizes: list[int]) -> None:
        self._body = io.BytesIO(body)
        self._sizes = iter(sizes)

    def read(self, size: int = -1) -> bytes:
        return self._body.read(min(size, next(self._sizes, size)))


@settings(max_examples=300, deadline=None)
@given(sizes=st.lists(st.integers(1, 40), max_size=200))
def test_reads_of_any_size_give_the_same_result(sizes: list[int]) -> None:
    # Boundaries, CRLFs and headers split across reads, as a slow network splits them.
    content = b"\r\n--" + BOUNDARY.encode()[:-2] + b"\r\r\n\n" * 20 + os.urandom(300)
    body = multipart(("csrf_token", "tok"), ("file", file_part(content)), ("after", "é"))
    app = Flask(__name__)
    app.request_class = VaultRequest
    with app.test_request_context(
        "/",
        method="POST",
        content_type=CONTENT_TYPE,
        **raw_input(ShortReads(body, sizes), len(body)),
    ):
        upload = StreamingUpload.from_request(request, max_file_bytes=MIB)
        assert read_all(upload) == content
        assert upload.fields == {"csrf_token": "tok", "after": "é"}


def parse_in_two_reads(body: bytes, cut: int) -> tuple[bytes | None, dict[str, str]]:
    app = Flask(__name__)
    app.request_class = VaultRequest
    with app.test_request_context("/", **raw_input(ShortReads(body, [cut]), len(body))):
        upload = StreamingUpload.from_request(request, max_file_bytes=MIB)
        content = b"".join(upload.file.chunks()) if upload.file else None
        upload.finish()
        return content, upload.fields


DELIMITER = b"--" + BOUNDARY.encode()
SPLIT_BODIES = {
    "file-last": multipart(("t", "x"), ("file", file_part(b"%PDF-1.7 end"))),
    "field-last": multipart(("file", file_part(b"%PDF-1.7 end")), ("after", "x")),
    # RFC 2046 transport padding after the boundaries.
    "padded": multipart(("file", file_part(b"%PDF-1.7 end")), ("after", "x"))
    .replace(DELIMITER + b"\r\n", DELIMITER + b" \t \r\n")
    .replace(DELIMITER + b"--", DELIMITER + b"--  "),
}


@pytest.mark.parametrize("name", SPLIT_BODIES)
def test_a_read_ending_anywhere_near_a_delimiter_changes_nothing(name: str) -> None:
    # pallets/werkzeug#3285: a read ending in "\r\n--boundary-" used to add
    # the CR to the part before it.
    body = SPLIT_BODIES[name]
    whole = parse_in_two_reads(body, len(body))
    assert whole[0] == b"%PDF-1.7 end"
    start = body.rindex(b"end") + 3
    for cut in range(start, len(body)):
        assert parse_in_two_reads(body, cut) == whole, f"split at {cut}: {body[cut - 8 : cut]!r}"


# Streaming in bounded memory


class LazyBody:
    """A wsgi.input producing its bytes as they are read, never all at once."""

    def __init__(self, parts: Iterator[bytes]) -> None:
        self._parts = parts
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        assert size >= 0, "the body must never be read whole"
        while not self._buffer:
            part = next(self._parts, None)
            if part is None:
                return b""
            self._buffer = part
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def test_64_mib_upload_streams_in_bounded_memory(app: Flask) -> None:
    total = 64 * MIB
    pieces = [os.urandom(64 * 1024) for _ in range(16)]
    sent = hashlib.sha256()
    boundary = BOUNDARY.encode()
    head = multipart(("csrf_token", "tok"))
    head = head[: head.rindex(b"--" + boundary + b"--")]  # without the closing boundary
    head += b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; '
    head += b'filename="big.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
    tail = b"\r\n--" + boundary + b'\r\nContent-Disposition: form-data; name="after"'
    tail += b"\r\n\r\nyes\r\n--" + boundary + b"--\r\n"

    def body() -> Iterator[bytes]:
        yield head
        for i in range(total // len(pieces[0])):
            piece = pieces[i % len(pieces)]
            sent.update(piece)
            yield piece
        yield tail

    @app.post("/upload")
    def upload_view() -> dict[str, Any]:
        upload = StreamingUpload.from_request(request, max_file_bytes=total)
        received, size = hashlib.sha256(), 0
        for chunk in upload.require_file().chunks():
            received.update(chunk)
            size += len(chunk)
        upload.finish()
        return {"sha256": received.hexdigest(), "size": size, "fields": upload.fields}

    client = app.test_client()
    tracemalloc.start()
    try:
        response = client.post(
            "/upload",
            content_type=CONTENT_TYPE,
            **raw_input(LazyBody(body()), len(head) + total + len(tail)),
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 200
    assert response.json == {
        "sha256": sent.hexdigest(),
        "size": total,
        "fields": {"csrf_token": "tok", "after": "yes"},
    }
    assert peak < 8 * MIB, f"peak {peak / MIB:.1f} MiB"


# VaultRequest: ordinary form parsing


def form_app(request_class: type[Request]) -> Flask:
    app = Flask(__name__)
    app.request_class = request_class

    @app.post("/form")
    def form_view() -> dict[str, Any]:
        # What Flask-WTF's CSRF check does on every POST.
        return {
            "form": request.form.to_dict(),
            "files": {k: v.filename for k, v in request.files.items()},
        }

    return app


@pytest.fixture
def temp_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TempFiles:
    """Point tempfile at an empty directory and record every temporary file made.

    Linux makes TemporaryFile with O_TMPFILE, a file with no name that no
    directory listing shows, so the tempfile functions are watched as well.
    """
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    made: list[str] = []
    for name in ("TemporaryFile", "NamedTemporaryFile", "mkstemp"):
        original = getattr(tempfile, name)

        def spy(*args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
            made.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(tempfile, name, spy)
    return directory, made


def test_default_request_class_spools_a_large_upload_to_disk(temp_files: TempFiles) -> None:
    # The control: what VaultRequest is there to prevent, seen by the same watch.
    _, made = temp_files
    body = multipart(("csrf_token", "tok"), ("file", file_part(os.urandom(2 * MIB))))
    response = form_app(Request).test_client().post("/form", data=body, content_type=CONTENT_TYPE)
    assert response.status_code == 200
    assert made == ["TemporaryFile"]


def test_vault_request_refuses_file_content_without_a_temporary_file(temp_files: TempFiles) -> None:
    directory, made = temp_files
    body = multipart(("csrf_token", "tok"), ("file", file_part(os.urandom(2 * MIB))))
    response = (
        form_app(VaultRequest).test_client().post("/form", data=body, content_type=CONTENT_TYPE)
    )
    assert response.status_code == 413
    assert made == []
    assert list(directory.iterdir()) == []


def test_vault_request_refuses_even_a_small_file(temp_files: TempFiles) -> None:
    body = multipart(("csrf_token", "tok"), ("file", file_part(b"x")))
    client = form_app(VaultRequest).test_client()
    assert client.post("/form", data=body, content_type=CONTENT_TYPE).status_code == 413


def test_vault_request_keeps_ordinary_forms_working(temp_files: TempFiles) -> None:
    _, made = temp_files
    client = form_app(VaultRequest).test_client()
    response = client.post("/form", data={"title": "Relevé", "csrf_token": "tok"})
    assert response.json == {"form": {"title": "Relevé", "csrf_token": "tok"}, "files": {}}

    body = multipart(("title", "Relevé"), ("file", file_part(b"", "", "application/octet-stream")))
    response = client.post("/form", data=body, content_type=CONTENT_TYPE)
    assert response.json == {"form": {"title": "Relevé"}, "files": {"file": ""}}
    assert made == []


# CSRF: the upload view is exempt from the automatic check and runs it itself


def csrf_app() -> Flask:
    app = Flask(__name__)
    app.request_class = VaultRequest
    app.config["SECRET_KEY"] = "test secret"
    csrf = CSRFProtect(app)

    @app.get("/token")
    def token() -> str:
        return generate_csrf()

    @app.post("/upload")
    @csrf.exempt
    def upload_view() -> dict[str, Any]:
        upload = StreamingUpload.from_request(request, max_file_bytes=MIB)
        check_csrf(upload)
        size = sum(len(chunk) for chunk in upload.require_file().chunks())
        upload.finish()
        return {"size": size, "fields": upload.fields}

    @app.post("/guarded")
    def guarded() -> str:
        return "not reached with a file"

    return app


def post_upload(client: FlaskClient, path: str, token: str | None, **kwargs: Any) -> Any:
    fields = [("csrf_token", token)] if token is not None else []
    body = multipart(*fields, ("file", file_part(b"x" * 1000)), ("after", "1"))
    return client.post(path, data=body, content_type=CONTENT_TYPE, **kwargs)


def test_upload_with_a_valid_token() -> None:
    client = csrf_app().test_client()
    token = client.get("/token").text
    response = post_upload(client, "/upload", token)
    assert response.status_code == 200
    assert response.json == {"size": 1000, "fields": {"csrf_token": token, "after": "1"}}


@pytest.mark.parametrize("token", [None, "", "forged"])
def test_upload_without_a_valid_token(token: str | None) -> None:
    client = csrf_app().test_client()
    client.get("/token")
    assert post_upload(client, "/upload", token).status_code == 400


def test_upload_over_https_wants_a_referrer_like_csrfprotect() -> None:
    """Over HTTPS a valid token alone is refused, as CSRFProtect refuses it: the
    request must also come from a page of this origin. No Referer is written by
    hand here: a real Chromium sends it from the vault's own pages, and only
    from them (tests/browser/test_production.py, same-origin upload accepted,
    one from another origin refused)."""
    client = csrf_app().test_client()
    https = {"base_url": "https://vault.example"}
    token = client.get("/token", **https).text
    response = post_upload(client, "/upload", token, **https)
    assert response.status_code == 400
    assert "The referrer header is missing." in response.text


def test_upload_with_csrf_disabled() -> None:
    app = csrf_app()
    app.config["WTF_CSRF_ENABLED"] = False
    assert post_upload(app.test_client(), "/upload", None).status_code == 200


def test_a_view_left_under_the_automatic_check_refuses_files() -> None:
    client = csrf_app().test_client()
    token = client.get("/token").text
    assert post_upload(client, "/guarded", token).status_code == 413


# Photos of one paper (D-082): read whole, within the same limit as the file


def photo(content: bytes, name: str = "IMG_1.jpg") -> FileStorage:
    return file_part(content, name, "image/jpeg")


def test_photos_are_read_whole_in_order_and_the_fields_go_on(start: Starter) -> None:
    first, second = os.urandom(2 * READ_SIZE + 5), os.urandom(1000)
    body = multipart(
        ("csrf_token", "tok"),
        ("photos", photo(first)),
        ("photos", photo(second, "IMG_2.jpg")),
        ("title", "Bail"),
        ("file", file_part(b"", "")),
    )
    upload = start(body, photo_field="photos", max_photos=10)
    assert upload.photos == [first, second]
    assert upload.file is None
    assert upload.fields == {"csrf_token": "tok", "title": "Bail"}
    upload.finish()


def test_photos_and_file_share_one_limit(start: Starter) -> None:
    body = multipart(
        ("photos", photo(b"p" * 600)),
        ("photos", photo(b"q" * 600)),
    )
    with pytest.raises(UploadError) as excinfo:
        start(body, max_file_bytes=1000, photo_field="photos", max_photos=10)
    assert code_of(excinfo) == "too_large"
    body = multipart(("photos", photo(b"p" * 600)), ("file", file_part(b"%PDF-" + b"x" * 500)))
    with pytest.raises(UploadError) as excinfo:
        read_all(start(body, max_file_bytes=1000, photo_field="photos", max_photos=10))
    assert code_of(excinfo) == "too_large"


def test_photos_beyond_the_count_are_refused(start: Starter) -> None:
    body = multipart(*[("photos", photo(b"p")) for _ in range(3)])
    with pytest.raises(UploadError) as excinfo:
        start(body, photo_field="photos", max_photos=2)
    assert code_of(excinfo) == "too_many_files"


def test_a_photo_after_the_file_is_a_second_file(start: Starter) -> None:
    body = multipart(("file", file_part(b"%PDF-1")), ("photos", photo(b"p")))
    upload = start(body, photo_field="photos", max_photos=10)
    with pytest.raises(UploadError) as excinfo:
        read_all(upload)
    assert code_of(excinfo) == "too_many_files"


def test_without_a_photo_field_photos_are_files(start: Starter) -> None:
    body = multipart(("photos", photo(b"p")), ("photos", photo(b"q")))
    upload = start(body)
    assert upload.photos == []
    with pytest.raises(UploadError) as excinfo:
        read_all(upload)
    assert code_of(excinfo) == "too_many_files"
