"""vault.core.logs: link tokens, query strings and the Referer never reach a log line.

The servers themselves are run in tests/integration/core/test_log_privacy.py; here
each piece is checked on its own, including what those runs do not produce
(an error line that quotes a request, a custom access format).
"""

from __future__ import annotations

import io
import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from vault.core import logs

TOKEN = "kP3vX9_qLm2-TzR8wYb1nC4dE6fG7hJ0aS5uV8xZ1oQ"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f'"GET /lien/{TOKEN} HTTP/1.1" 200', '"GET /lien/<hidden> HTTP/1.1" 200'),
        (f"POST /lien/{TOKEN}?pin=1234", "POST /lien/<hidden>"),
        (f"https://coffre.example/lien/{TOKEN}#x", "https://coffre.example/lien/<hidden>#x"),
        ('"GET /documents/?q=Carte+Vitale&page=2 HTTP/1.1"', '"GET /documents/ HTTP/1.1"'),
        ("/connexion?next=%2Fdocuments%2F%3Fq%3Dx", "/connexion"),
        ("/admin/?q=Ferhat 482931", "/admin/ 482931"),
        ("/liens/4d1c2d4e-1b5f-4d55-9d7f-2b4f0f8f8a11/adresse", None),
        ("nothing to hide", None),
    ],
)
def test_redact(line: str, expected: str | None) -> None:
    assert logs.redact(line) == (line if expected is None else expected)
    assert logs.redact(logs.redact(line)) == logs.redact(line)


def record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise RuntimeError(f"cannot serve /lien/{TOKEN}?q=Carte")
        except RuntimeError:
            import sys

            exc_info = sys.exc_info()
    return logging.LogRecord("t", logging.ERROR, __file__, 1, message, args or None, exc_info)


def formatted(item: logging.LogRecord) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.RedactingFilter())
    handler.handle(item)
    return stream.getvalue()


def test_filter_rewrites_messages_arguments_and_tracebacks() -> None:
    text = formatted(
        record("Error handling request %s %s", "GET", f"/lien/{TOKEN}?q=Carte", exc=True)
    )
    assert TOKEN not in text and "Carte" not in text
    assert "Error handling request GET /lien/<hidden>" in text
    assert "RuntimeError: cannot serve /lien/<hidden>" in text
    assert formatted(record("%(r)s", {"r": "GET /documents/?q=x"})).strip() == "GET /documents/"


def test_install_filters_werkzeug_and_the_root_handlers() -> None:
    handler = logging.StreamHandler(io.StringIO())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        logs.install()
        logs.install()  # twice: still one filter each
        for target in (logging.getLogger("werkzeug"), handler):
            assert sum(isinstance(f, logs.RedactingFilter) for f in target.filters) == 1
    finally:
        root.removeHandler(handler)


def test_gunicorn_atoms_leave_out_tokens_queries_and_the_referer() -> None:
    config = Config()
    config.set("accesslog", "-")
    logger = logs.GunicornLogger(config)
    referer = f"https://coffre.example/lien/{TOKEN}"
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/lien/{TOKEN}?q=Carte",
        "PATH_INFO": f"/lien/{TOKEN}",
        "QUERY_STRING": "q=Carte",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": referer,
        "REMOTE_ADDR": "10.0.0.1",
    }
    request = SimpleNamespace(headers=[("Referer", referer), ("User-Agent", "Firefox")])
    response = SimpleNamespace(
        status="200 OK", sent=12, headers=[("Location", f"/lien/{TOKEN}?x=1")]
    )
    atoms = logger.atoms(response, request, environ, timedelta(seconds=1))
    assert atoms["r"] == "GET /lien/<hidden> HTTP/1.1"
    assert atoms["U"] == "/lien/<hidden>"
    for name in ("q", "f", "{referer}i", "{http_referer}e", "{query_string}e"):
        assert atoms[name] == "-", name
    assert atoms["{location}o"] == "/lien/<hidden>"
    assert atoms["{raw_uri}e"] == "/lien/<hidden>"
    assert atoms["{user-agent}i"] == "Firefox"
    everything = " ".join(str(v) for v in atoms.values())
    assert TOKEN not in everything and "Carte" not in everything
    # The error log gets the filter as well (gunicorn quotes requests there).
    assert any(isinstance(f, logs.RedactingFilter) for f in logger.error_log.filters)
