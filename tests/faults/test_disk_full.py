"""The local blob store's disk fills up in the middle of an upload (the embedded default: SQLite).

The blob folder is a small tmpfs mounted for the test (root only: CI runs
as root; a local run as another user skips it). The operator then makes
room (here: the file system is grown) and the same server goes on.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from storage.local import PARTIAL_DIR
from tests.faults.breakable import small_disk
from tests.faults.stack import (
    NOTHING_SAVED,
    SMALL,
    UPLOAD,
    MiB,
    assert_french_page,
    assert_serves_again,
    assert_sound,
    content,
    prepare,
    serve,
    signed_in,
    sqlite_deployment,
    upload,
)

# The documents prepared take about SMALL; the upload cannot fit in what is left.
DISK_MIB = SMALL // MiB + 8


def test_a_full_disk_mid_upload_gives_the_french_page_and_frees_what_it_wrote(
    tmp_path: Path,
) -> None:
    with small_disk(tmp_path / "blobs", f"{DISK_MIB}m") as folder:
        scene = prepare(sqlite_deployment(tmp_path, folder), SMALL)
        free_before = shutil.disk_usage(folder).free
        server = serve(scene.deployment, tmp_path / "server")
        try:
            client = signed_in(server, scene.person)
            answer = upload(client, content("Relevé", UPLOAD), "Relevé de compte")
            assert_french_page(answer.status, answer.body, NOTHING_SAVED)
            # What the upload had written is gone at once, not left to fill the disk.
            assert list((folder / PARTIAL_DIR).iterdir()) == []
            assert shutil.disk_usage(folder).free == free_before
            # The operator makes room; the same server, not restarted, takes the upload.
            subprocess.run(
                ["mount", "-o", f"remount,size={DISK_MIB * 4}m", str(folder)], check=True
            )
            assert_serves_again(server, scene, client)
        finally:
            server.stop()
        assert_sound(scene)
