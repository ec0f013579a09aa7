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
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from gunicorn import glogging

# The token ends at the next separator; what replaces it can never match again.
_LINK_TOKEN = re.compile(r"(/lien/)[^/?#\s\"'<>\\]+")
_QUERY = re.compile(r"\?[^\s\"'<>]*")
HIDDEN = "<hidden>"
# gunicorn atoms left out whole: the Referer (header and variable) and the
# query string on its own (no "?" in it to find).
_DROPPED_ATOMS = frozenset({"f", "{referer}i", "{http_referer}e", "q", "{query_string}e"})


def redact(text: str) -> str:
    """`text` with every link token replaced and every query string removed."""
    return _QUERY.sub("", _LINK_TOKEN.sub(r"\1" + HIDDEN, text))


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and traceback text) through `redact`."""

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
        return True


def _add_filter(target: logging.Logger | logging.Handler) -> None:
    if not any(isinstance(f, RedactingFilter) for f in target.filters):
        target.addFilter(RedactingFilter())


def install() -> None:
    """Redact Werkzeug's request lines and everything the root handlers write (idempotent).

    Werkzeug logs straight to its own logger (a filter there sees every
    request line, even if it got a handler of its own); records of the app's
    loggers reach the root handlers, whose filters see them all.
    """
    _add_filter(logging.getLogger("werkzeug"))
    for handler in logging.getLogger().handlers:
        _add_filter(handler)


class GunicornLogger(glogging.Logger):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn's logger, with link tokens, query strings and the Referer left out."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # Error lines quote the request ("Error handling request GET /lien/...").
        _add_filter(self.error_log)
        _add_filter(self.access_log)

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
