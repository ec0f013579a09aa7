"""What a log line may say about a request: its path, without secrets.

Logs are read by more people, kept longer and copied further than the
database. Two things in a request line are secrets: the token of an external
link (`/lien/<token>` opens a document) and the query string (what a person
typed in a search: a title, a name, a prison number). Both are removed from
every line before it is written, whichever server logs it:

- gunicorn (production): `docker/gunicorn.conf.py` sets `GunicornLogger`,
  whose access-log atoms and error-log lines go through `redact`; its access
  format has no Referer (a page's own address, since browsers send it to the
  same site, names the link or the search);
- Werkzeug's development server (`make run`, `vault run`) and the app's own
  log: `install` puts `RedactingFilter` on the `werkzeug` logger and on the
  root handlers.

The same filter keeps out what a person typed or named (docs/operations.md,
"Logs"): every value of the current request's form and query, a document's
title and file name as the intake reads them (`mask`, per request: a context
variable, so no Flask here), anything shaped like an activation or recovery
code (12 digits or more), and any field a caller adds under a name such as
`passphrase`, `code`, `token`, `title` or `filename`. With
`VAULT_LOG_FORMAT=json` every line is one JSON object carrying the request
id (`request_id`, also the `X-Request-Id` response header).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from gunicorn import glogging
from pythonjsonlogger.json import JsonFormatter

# The token ends at the next separator; what replaces it can never match again.
_LINK_TOKEN = re.compile(r"(/lien/)[^/?#\s\"'<>\\]+")
_QUERY = re.compile(r"\?[^\s\"'<>]*")
HIDDEN = "<hidden>"
# gunicorn atoms left out whole: the Referer (header and variable) and the
# query string on its own (no "?" in it to find).
_DROPPED_ATOMS = frozenset({"f", "{referer}i", "{http_referer}e", "q", "{query_string}e"})


# Activation codes (16 digits in groups of 4) and recovery codes (32): any run of
# 12 digits or more, grouped by spaces or dashes or not.
_CODE = re.compile(r"(?<![\w-])\d{4}(?:[ -]?\d{4}){2,}(?![\w-])")
# Fields a caller might pass to a log call (`extra=`) that name a secret or a person's words.
SENSITIVE_FIELDS = frozenset(
    {
        "passphrase",
        "password",
        "secret",
        "code",
        "activation_code",
        "recovery_code",
        "pin",
        "token",
        "key",
        "title",
        "filename",
        "file_name",
        "name",
        "username",
        "query",
        "q",
        "search",
    }
)
# Shorter values would hide ordinary words of the log lines themselves.
MASK_MIN_CHARS = 4
_MASKED: ContextVar[frozenset[str]] = ContextVar("vault_log_masked", default=frozenset())
REQUEST_ID: ContextVar[str] = ContextVar("vault_request_id", default="-")
# The attributes every LogRecord has: anything else came from a caller's `extra=`.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
}


def new_request(request_id: str) -> None:
    """At the start of each request (this thread's): a fresh id, nothing masked yet."""
    REQUEST_ID.set(request_id)
    _MASKED.set(frozenset())


def mask(*values: str | None) -> None:
    """Keep `values` (what a person typed: a title, a file name...) out of this request's lines."""
    kept = {v for v in (str(v).strip() for v in values if v) if len(v) >= MASK_MIN_CHARS}
    if kept:
        _MASKED.set(_MASKED.get() | kept)


def redact(text: str) -> str:
    """`text` without link tokens, query strings, code-shaped digits or this request's masks."""
    text = _QUERY.sub("", _LINK_TOKEN.sub(r"\1" + HIDDEN, text))
    # Longest first: a title that contains a shorter masked word goes whole.
    for value in sorted(_MASKED.get(), key=len, reverse=True):
        text = text.replace(value, HIDDEN)
    return _CODE.sub(HIDDEN, text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message, traceback text and extra fields through `redact`."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        # A traceback may quote a URL in an exception's message; format it here
        # once (handlers reuse exc_text) so that it is redacted too.
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self._formatter.formatException(record.exc_info))
        for name, value in list(vars(record).items()):
            if name in _RECORD_FIELDS:
                continue
            if name.lower() in SENSITIVE_FIELDS:
                setattr(record, name, HIDDEN)
            elif isinstance(value, str):
                setattr(record, name, redact(value))
        return True


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record: the current request's, or "-" outside one."""

    def filter(self, record: logging.LogRecord) -> bool:
        # gunicorn's access line brings its own (the response header's): the
        # request is over by then.
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


def log_format(environ: Mapping[str, str] | None = None) -> str:
    """ "json" or "text", from VAULT_LOG_FORMAT (default text; the image sets json)."""
    value = (environ if environ is not None else os.environ).get("VAULT_LOG_FORMAT", "")
    return "json" if value.strip().lower() == "json" else "text"


class _RedactingJsonFormatter(JsonFormatter):
    """JSON lines; a traceback is formatted afresh here (not from exc_text): redacted too."""

    # python-json-logger widens logging's return types (a list of lines on request).
    def formatException(self, ei: Any) -> str | list[str]:  # type: ignore[override]
        return _redact_all(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str | list[str]:  # type: ignore[override]
        return _redact_all(super().formatStack(stack_info))


def _redact_all(text: str | list[str]) -> str | list[str]:
    return redact(text) if isinstance(text, str) else [redact(line) for line in text]


def json_formatter() -> logging.Formatter:
    """One JSON object a line: time, level, logger, message, request_id and any extra field."""
    return _RedactingJsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def _add_filter(target: logging.Logger | logging.Handler) -> None:
    if not any(isinstance(f, RedactingFilter) for f in target.filters):
        target.addFilter(RedactingFilter())
    if not any(isinstance(f, RequestIdFilter) for f in target.filters):
        target.addFilter(RequestIdFilter())


def install(json: bool = False) -> None:
    """Redact Werkzeug's request lines and everything the root handlers write (idempotent).

    Werkzeug logs straight to its own logger (a filter there sees every
    request line, even if it got a handler of its own); records of the app's
    loggers reach the root handlers, whose filters see them all. `json`: the
    root handlers write JSON lines.
    """
    _add_filter(logging.getLogger("werkzeug"))
    for handler in logging.getLogger().handlers:
        _add_filter(handler)
        if json:
            handler.setFormatter(json_formatter())


class GunicornLogger(glogging.Logger):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn's logger, with link tokens, query strings and the Referer left out."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # Error lines quote the request ("Error handling request GET /lien/...").
        _add_filter(self.error_log)
        _add_filter(self.access_log)
        self.json = log_format() == "json"
        if self.json:
            for handler in (*self.error_log.handlers, *self.access_log.handlers):
                handler.setFormatter(json_formatter())

    def access(self, resp: Any, req: Any, environ: Mapping[str, Any], request_time: Any) -> None:
        """In JSON, one object a request: its fields by name, already redacted."""
        if not self.json:
            super().access(resp, req, environ, request_time)
            return
        if not (self.cfg.accesslog or self.cfg.logconfig or self.cfg.syslog):
            return
        atoms = self.atoms(resp, req, environ, request_time)
        self.access_log.info(
            "request",
            extra={
                "request_id": atoms.get("{x-request-id}o", "-"),
                "method": atoms.get("m"),
                "path": atoms.get("U"),
                "status": atoms.get("s"),
                "bytes": atoms.get("B"),
                "duration_ms": round(request_time.total_seconds() * 1000, 1),
                "remote": atoms.get("h"),
                "user_agent": atoms.get("a"),
            },
        )

    def atoms(self, resp: Any, req: Any, environ: Mapping[str, Any], request_time: Any) -> Any:
        atoms = super().atoms(resp, req, environ, request_time)
        for name, value in atoms.items():
            if name in _DROPPED_ATOMS:
                atoms[name] = "-"
            elif isinstance(value, str):
                # The request line, the path, the query, any header or variable
                # a custom format might name (RAW_URI, Location...).
                atoms[name] = redact(value)
        return atoms
