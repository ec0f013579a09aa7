"""PostgreSQL stopped in the middle of a request, then started again; the app is not restarted.

The cluster is a private one, created for the test (tests/faults/stack.py):
the machine's shared server, which other test runs use, is never stopped.
Blobs are on SeaweedFS, as in production. pool_pre_ping (vault/core/db.py)
replaces the connections that died with the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.breakable import PrivatePostgres, private_postgresql
from tests.faults.stack import (
    BIG,
    UNAVAILABLE,
    UPLOAD,
    Scene,
    assert_french_page,
    assert_serves_again,
    assert_sound,
    content,
    download,
    migrated,
    prepare,
    serve,
    sha256,
    signed_in,
    upload,
)
from tests.integration.served_app import Server, new_deployment
from tests.s3server import S3Target, fresh_bucket


@pytest.fixture
def stack(
    s3_server: S3Target, big_size: int, tmp_path: Path
) -> Iterator[tuple[Scene, Server, PrivatePostgres]]:
    with private_postgresql() as postgresql:
        deployment = new_deployment(
            migrated(postgresql.url), s3_server.server.url(fresh_bucket()), tmp_path / "instance"
        )
        scene = prepare(deployment, big_size)
        server = serve(deployment, tmp_path / "server")
        try:
            yield scene, server, postgresql
        finally:
            server.stop()
        assert_sound(scene)


def test_postgresql_stopped_mid_upload_gives_the_french_page_and_keeps_nothing(
    stack: tuple[Scene, Server, PrivatePostgres],
) -> None:
    scene, server, postgresql = stack
    client = signed_in(server, scene.person)
    answer = upload(client, content("Relevé", UPLOAD), "Relevé de compte", postgresql.stop)
    assert_french_page(answer.status, answer.body, UNAVAILABLE)
    # The next page of the visit too, while the database is down.
    page = client.get("/documents/")
    assert_french_page(page.status, page.data.decode(), UNAVAILABLE)
    postgresql.start()
    assert_serves_again(server, scene, client)  # the same session, the same server


@pytest.mark.parametrize("big_size", [BIG], ids=["24MiB"])
def test_postgresql_stopped_mid_download_lets_it_finish_and_the_app_recovers(
    stack: tuple[Scene, Server, PrivatePostgres],
) -> None:
    """The journal line is committed before the first byte: the rest needs the store only."""
    scene, server, postgresql = stack
    assert scene.big is not None
    client = signed_in(server, scene.person)
    fetched = download(client, scene.big, postgresql.stop)
    assert fetched.status == 200 and fetched.complete
    assert sha256(fetched.body) == scene.expected[scene.big]
    again = download(client, scene.big)
    assert_french_page(again.status, again.text, UNAVAILABLE)
    postgresql.start()
    assert_serves_again(server, scene, client)
