"""The document library on a real S3 server (SeaweedFS), and S3 failing mid-upload."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.factories import csrf_token, make_account, pdf_bytes, signed_in
from tests.s3server import S3Target, SeaweedFS, fresh_bucket
from vault.core.db import db_session, get_database
from vault.core.extensions import get_store
from vault.models import Blob, Document

MIB = 1024 * 1024


def bound_app(
    make_app: Callable[..., Flask], database_url: str, connection: Connection, url: str
) -> Flask:
    app = make_app(database_url=database_url, storage_url=url, max_upload_bytes=64 * MIB)
    get_database(app).bind_to(connection)
    return app


def test_large_upload_and_download_round_trip_on_s3(
    make_app: Callable[..., Flask], database_url: str, connection: Connection, s3_server: S3Target
) -> None:
    app = bound_app(make_app, database_url, connection, s3_server.url)
    client = signed_in(app, make_account(app))
    content = pdf_bytes() + bytes(range(256)) * (80 * 1024)  # about 20 MiB, several S3 parts
    fields = {
        "csrf_token": csrf_token(client, "/documents/ajouter"),
        "title": "Gros",
        "category": "work",
        "doc_type": "cv",
        "file": FileStorage(io.BytesIO(content), "cv.pdf"),
    }
    # Encoded in memory: the test client would spool a large body to a temporary file.
    boundary, body = encode_multipart(fields)
    response = client.post(
        "/documents/ajouter",
        input_stream=io.BytesIO(body),
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 302
    download = client.get(response.headers["Location"] + "/telecharger")
    assert download.status_code == 200
    assert download.data == content


class DyingBody:
    """A multipart body, produced lazily, that kills the S3 server part-way through.

    `tell`/`seek` only let the test client measure it without reading it.
    """

    def __init__(self, head: bytes, size: int, kill_after: int, kill: Callable[[], None]) -> None:
        self._parts: Iterator[bytes] = self._generate(head, size)
        self.length = len(head) + size + len(TAIL)
        self._kill_after, self._kill = kill_after, kill
        self._sent = 0
        self._position = 0
        self._buffer = b""

    @staticmethod
    def _generate(head: bytes, size: int) -> Iterator[bytes]:
        yield head
        chunk = b"%" * (256 * 1024)
        for _ in range(size // len(chunk)):
            yield chunk
        yield TAIL

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = 0) -> int:
        self._position = self.length if whence == 2 else offset
        return self._position

    def read(self, n: int = -1) -> bytes:
        while not self._buffer:
            try:
                self._buffer = next(self._parts)
            except StopIteration:
                return b""
        n = len(self._buffer) if n < 0 else n
        data, self._buffer = self._buffer[:n], self._buffer[n:]
        self._sent += len(data)
        if self._kill is not None and self._sent > self._kill_after:
            kill, self._kill = self._kill, None
            kill()
        return data


TAIL = b"\r\n--B--\r\n"


def test_s3_dying_during_an_upload_leaves_no_row_and_nothing_after_gc(
    make_app: Callable[..., Flask],
    database_url: str,
    connection: Connection,
    seaweedfs_factory: Callable[[], SeaweedFS],
) -> None:
    server = seaweedfs_factory()
    app = bound_app(make_app, database_url, connection, server.url(fresh_bucket()))
    client = signed_in(app, make_account(app))
    token = csrf_token(client, "/documents/ajouter")
    head = (
        b"".join(
            f'--B\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in (
                ("csrf_token", token),
                ("title", "Perdu"),
                ("category", "identity"),
                ("doc_type", "id_card"),
            )
        )
        + b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF-1.4\n'
    )
    body = DyingBody(head, 24 * MIB, kill_after=12 * MIB, kill=server.kill)
    response = client.post(
        "/documents/ajouter",
        input_stream=body,  # type: ignore[arg-type]
        content_type="multipart/form-data; boundary=B",
    )
    assert response.status_code == 503
    assert "ne répond pas" in response.get_data(as_text=True)
    with app.app_context():
        db = db_session()
        assert db.execute(select(func.count()).select_from(Document)).scalar_one() == 0
        assert db.execute(select(func.count()).select_from(Blob)).scalar_one() == 0

    server.start()
    result = app.test_cli_runner().invoke(args=["storage", "gc", "--grace-hours", "1", "--delete"])
    assert result.exit_code == 0, result.output
    assert list(get_store(app).list()) == []
