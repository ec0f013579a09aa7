"""Run a chunk iterator in a thread, a few chunks ahead of its consumer.

A download reads the blob from the store, decrypts it and writes it to the
client, one segment after the other: the thread waits for the store, then for
the client, never for both at once. Reading (and decrypting) in a second
thread overlaps the two; socket reads and writes release the GIL. Memory: at
most `depth` chunks wait, plus the one being read and the one being sent.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import Any

# How often a blocked reader looks whether the consumer went away.
_POLL_SECONDS = 0.2


def read_ahead(chunks: Iterator[bytes], depth: int = 2) -> Generator[bytes, None, None]:
    """The chunks of `chunks`, read by a thread up to `depth` chunks ahead.

    The thread starts at the first chunk asked for. An error in `chunks` is
    raised to the consumer where its chunk would have come. Closing the
    returned generator (a WSGI server does when the client goes away) stops the
    thread after its current read; the thread then closes `chunks`, so a blob
    reader inside it is closed from the thread that uses it.
    """
    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(message: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                box.put(message, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for chunk in chunks:
                if not put(("data", chunk)):
                    return
            put(("end", None))
        except Exception as e:  # handed over, raised in the consumer's thread
            put(("error", e))
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def consume() -> Generator[bytes, None, None]:
        threading.Thread(target=run, name="read-ahead", daemon=True).start()
        try:
            while True:
                kind, value = box.get()
                if kind == "data":
                    yield value
                elif kind == "end":
                    return
                else:
                    raise value
        finally:
            stop.set()

    return consume()
