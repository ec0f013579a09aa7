"""vault.readahead: order, errors, and a consumer that goes away."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from vault.readahead import read_ahead


def test_chunks_come_in_order_and_the_source_is_closed_at_the_end() -> None:
    closed = threading.Event()

    def source() -> Iterator[bytes]:
        try:
            for i in range(50):
                yield bytes([i]) * 1000
        finally:
            closed.set()

    assert list(read_ahead(source(), depth=2)) == [bytes([i]) * 1000 for i in range(50)]
    assert closed.wait(5)


def test_an_error_in_the_source_reaches_the_consumer_after_the_chunks_before_it() -> None:
    def source() -> Iterator[bytes]:
        yield b"one"
        yield b"two"
        raise OSError("store went away")

    got = []
    with pytest.raises(OSError, match="store went away"):
        for chunk in read_ahead(source()):
            got.append(chunk)
    assert got == [b"one", b"two"]


def test_closing_the_consumer_stops_the_reader_and_closes_the_source() -> None:
    produced = []
    closed = threading.Event()

    def source() -> Iterator[bytes]:
        try:
            for i in range(10_000):
                produced.append(i)
                yield b"x"
        finally:
            closed.set()

    chunks = read_ahead(source(), depth=2)
    assert next(chunks) == b"x"
    chunks.close()  # what a WSGI server does when the client disconnects
    assert closed.wait(5)
    # It read a few chunks ahead, never the whole source.
    assert len(produced) < 10
