"""A gunicorn worker killed (SIGKILL) in the middle of an upload and of a download.

No answer can come from a process that no longer exists: the person's
browser sees the connection cut, never a success, and a download never looks
complete. The master starts another worker; the same server then serves the
person normally, and nothing the dead worker had begun is left behind.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.faults.stack import (
    UPLOAD,
    assert_serves_again,
    assert_sound,
    content,
    download,
    partial_files,
    prepare,
    serve,
    signed_in,
    upload,
    worker_pids,
)
from tests.integration.served_app import Deployment, Server


def kill_the_worker(server: Server) -> None:
    (worker,) = worker_pids(server)  # one worker: the one serving this request
    os.kill(worker, signal.SIGKILL)


def test_a_worker_killed_mid_upload_leaves_nothing_and_the_server_goes_on(
    deployment: Deployment, big_size: int, tmp_path: Path
) -> None:
    scene = prepare(deployment, big_size)
    server = serve(deployment, tmp_path / "server")
    try:
        client = signed_in(server, scene.person)
        first = worker_pids(server)
        data = content("Relevé", UPLOAD)
        answer = upload(client, data, "Relevé", lambda: kill_the_worker(server))
        assert answer.status is None or answer.status >= 500  # never a success
        # A local store keeps the dead worker's temporary file until `storage gc`
        # (assert_sound runs it as a later day's nightly run would find it).
        leftovers = partial_files(deployment)
        assert leftovers is None or len(leftovers) == 1
        server.wait_ready()
        assert worker_pids(server) != first  # a new worker, same master: no restart
        assert_serves_again(server, scene, client)
    finally:
        server.stop()
    assert_sound(scene)


def test_a_worker_killed_mid_download_cuts_it_short_and_the_server_goes_on(
    deployment: Deployment, tmp_path: Path
) -> None:
    scene = prepare(deployment)
    assert scene.big is not None
    server = serve(deployment, tmp_path / "server")
    try:
        client = signed_in(server, scene.person)
        cut = download(client, scene.big, lambda: kill_the_worker(server))
        assert cut.status == 200
        assert not cut.complete  # the browser marks the download failed
        server.wait_ready()
        assert_serves_again(server, scene, client)
    finally:
        server.stop()
    assert_sound(scene)
