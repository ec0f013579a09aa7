"""Documents read, decrypted and checked ahead of the ZIP writer, in threads."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import storage
from crypto import KeyRing
from vault.accounts.keys import Unlocked
from vault.documents import service as documents
from vault.export.contents import ExportFile

log = logging.getLogger(__name__)

# Reading threads, and the plaintext segments (1 MiB each) each may read ahead.
PREFETCH_READERS = 2
PREFETCH_SEGMENTS = 2
ZIP_INPUT = 64 * 1024


class ExportError(Exception):
    """A document did not come out as its metadata says (size or SHA-256)."""


@dataclass
class Progress:
    """What has streamed so far: the manifest's totals, and the count journaled on failure."""

    documents: int = 0
    size: int = 0
    digests: dict[str, str] = field(default_factory=dict)


class _Stopped(Exception):
    """The archive's consumer went away: the reading thread stops."""


class Prefetch:
    """Reads, decrypts and hashes the documents ahead of the ZIP writer, in threads.

    Why threads: the store answers each read after a delay (a few
    milliseconds on SeaweedFS), and SHA-256, CRC-32 and deflate each cost
    about as much as the transfer itself; all of these but AES-GCM release
    the GIL. `PREFETCH_READERS` threads take the documents in turn
    (reader k reads documents k, k+N...), so one waits for the store while
    another's segments are zipped. Memory: at most `PREFETCH_SEGMENTS`
    plaintext segments wait per reader. The threads touch no database and no
    Flask object: rows were loaded by `plan`, and the store and key ring are
    plain objects.
    """

    def __init__(
        self, store: storage.BlobStore, ring: KeyRing, owner: Unlocked, files: list[ExportFile]
    ) -> None:
        self._store, self._ring, self._owner = store, ring, owner
        count = max(1, min(PREFETCH_READERS, len(files)))
        self._queues: list[queue.Queue[tuple[str, Any]]] = [
            queue.Queue(maxsize=PREFETCH_SEGMENTS) for _ in range(count)
        ]
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(
                target=self._run,
                args=(files[k::count], self._queues[k]),
                name=f"export-reader-{k}",
                daemon=True,
            )
            for k in range(count)
        ]
        self._started = False

    def _put(self, box: queue.Queue[tuple[str, Any]], message: tuple[str, Any]) -> None:
        while True:
            if self._stop.is_set():
                raise _Stopped()
            try:
                box.put(message, timeout=0.2)
                return
            except queue.Full:
                continue

    def _run(self, files: list[ExportFile], box: queue.Queue[tuple[str, Any]]) -> None:
        try:
            for item in files:
                # No second SHA-256 here: every segment's AES-GCM tag, bound to
                # this vault, document and version, already proves the bytes are
                # the ones stored; the manifest carries the digest sealed at upload,
                # which `vault export verify` checks against the files.
                size = 0
                chunks = documents.read_content(self._store, self._ring, self._owner, item.version)
                try:
                    for chunk in chunks:
                        size += len(chunk)
                        self._put(box, ("data", chunk))
                finally:
                    chunks.close()  # type: ignore[attr-defined]  # a generator: closes the blob
                self._put(box, ("end", size))
        except _Stopped:
            return
        except Exception as e:
            with contextlib.suppress(_Stopped):
                self._put(box, ("error", e))

    def content(self, index: int, item: ExportFile, progress: Progress) -> Iterator[bytes]:
        """The plaintext of `item`, the `index`th file, checked against its metadata.

        Yielded in slices of `ZIP_INPUT` bytes, on which zlib runs several
        times faster than on whole segments (its output buffers stay small
        enough to be reused instead of mapped anew).
        """
        if not self._started:
            self._started = True
            for thread in self._threads:
                thread.start()
        box = self._queues[index % len(self._queues)]
        while True:
            kind, value = box.get()
            if kind == "error":
                raise value
            if kind == "end":
                break
            view = memoryview(value)
            for start in range(0, len(view), ZIP_INPUT):
                # stream_zip only hands these to zlib.crc32 and compress, which take buffers.
                yield cast(bytes, view[start : start + ZIP_INPUT])
        size = value
        if size != item.size:
            log.error("export: document %s does not match its metadata", item.document_id)
            raise ExportError(item.path)
        progress.documents += 1
        progress.size += size
        progress.digests[item.path] = item.sha256

    def close(self) -> None:
        self._stop.set()
        if not self._started:
            return
        for box in self._queues:
            # Unblock a put waiting for room; the reader then closes its blob.
            with contextlib.suppress(queue.Empty):
                while True:
                    box.get_nowait()
        for thread in self._threads:
            thread.join(timeout=30)
