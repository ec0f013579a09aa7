"""The S3 server (SeaweedFS) killed in the middle of an upload and of a download.

PostgreSQL and a dedicated SeaweedFS, the app under gunicorn as in the
image. The server is killed with SIGKILL, as a crash or a cut network looks
to the app, then started again on the same data: the app is not restarted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.stack import (
    HUGE,
    NOTHING_SAVED,
    UNAVAILABLE,
    UPLOAD,
    Scene,
    assert_french_page,
    assert_serves_again,
    assert_sound,
    content,
    download,
    prepare,
    serve,
    signed_in,
    upload,
    wait_for_the_store,
)
from tests.integration.served_app import Server, fresh_postgresql, new_deployment
from tests.s3server import SeaweedFS, fresh_bucket, start_seaweedfs


@pytest.fixture(scope="module")
def seaweedfs() -> Iterator[SeaweedFS]:
    """One dedicated SeaweedFS for the module: each test kills it and starts it again."""
    server = start_seaweedfs()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def stack(
    seaweedfs: SeaweedFS, big_size: int, tmp_path: Path
) -> Iterator[tuple[Scene, Server, SeaweedFS]]:
    weed = seaweedfs
    weed.start()  # running already, unless a previous test failed with it down
    with fresh_postgresql() as database_url:
        deployment = new_deployment(database_url, weed.url(fresh_bucket()), tmp_path / "instance")
        scene = prepare(deployment, big_size)
        server = serve(deployment, tmp_path / "server")
        try:
            yield scene, server, weed
        finally:
            server.stop()
            weed.start()  # for the checks, whatever the test did
        wait_for_the_store(deployment)
        assert_sound(scene)


def test_s3_killed_mid_upload_gives_the_french_page_and_keeps_nothing(
    stack: tuple[Scene, Server, SeaweedFS],
) -> None:
    scene, server, weed = stack
    client = signed_in(server, scene.person)
    answer = upload(client, content("Relevé", UPLOAD), "Relevé de compte", weed.kill)
    assert_french_page(answer.status, answer.body, NOTHING_SAVED)
    assert 'id="file"' in answer.body  # the form again, to try later
    # While it is down, a document cannot be read either: the same kind page.
    small = next(d for d in scene.expected if d != scene.big)
    fetched = download(client, small)
    assert_french_page(fetched.status, fetched.text, UNAVAILABLE)
    weed.start()
    wait_for_the_store(scene.deployment)
    assert_serves_again(server, scene, client)


@pytest.mark.parametrize("big_size", [HUGE], ids=["64MiB"])
def test_s3_killed_mid_download_cuts_it_and_the_app_recovers(
    stack: tuple[Scene, Server, SeaweedFS],
) -> None:
    scene, server, weed = stack
    assert scene.big is not None
    client = signed_in(server, scene.person)
    cut = download(client, scene.big, weed.kill)
    assert cut.status == 200 and not cut.complete  # never a short file that looks whole
    fetched = download(client, scene.big)
    assert_french_page(fetched.status, fetched.text, UNAVAILABLE)
    weed.start()
    wait_for_the_store(scene.deployment)
    assert_serves_again(server, scene, client)
    journal = client.page("/journal/")
    assert "a été arrêté" in journal  # the cut download is in the person's journal
