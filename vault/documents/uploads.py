"""Upload checks that need no Flask: the type by magic bytes, names to show and download.

What a client declares (the part's Content-Type, the filename's extension) is
never trusted for a decision: the type comes from the first bytes of the file,
and the name is only ever a label.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Final
from urllib.parse import quote

import puremagic
from werkzeug.http import dump_options_header

# The types the vault accepts, with the extension a download gets. Archives and
# office formats stay out (docs/architecture.md §5) until they can be handled safely.
ALLOWED_TYPES: Final[Mapping[str, str]] = MappingProxyType(
    {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
)

# The exact signature each allowed type must start with. PDF readers tolerate
# junk before `%PDF-`, but accepting that is how PDF polyglots are built.
SIGNATURES: Final[Mapping[str, bytes]] = MappingProxyType(
    {
        "application/pdf": b"%PDF-",
        "image/jpeg": b"\xff\xd8\xff",
        "image/png": b"\x89PNG\r\n\x1a\n",
    }
)

# How much of the start of a file sniff_type wants: enough for puremagic's
# offset signatures that matter (tar at 257, and the like), small enough to
# hold in memory while the rest of the upload waits.
SNIFF_BYTES: Final = 8 * 1024

MAX_FILENAME_CHARS: Final = 120
# A suffix longer than this after the last dot is part of the name, not an
# extension worth keeping whole when truncating.
_MAX_EXTENSION_CHARS = 10
_PATH_SEPARATORS = re.compile(r"[/\\]")
# RFC 5987 attr-char, as werkzeug.utils.send_file quotes `filename*`.
_RFC5987_SAFE = "!#$&+-.^_`|~"
_ASCII_FALLBACK_UNSAFE = re.compile(r"[^A-Za-z0-9 ._()\-]+")
DEFAULT_DOWNLOAD_STEM: Final = "document"


def sniff_type(head: bytes) -> str | None:
    """The allowed MIME type that `head` (the first bytes of a file) really is, or None."""
    expected = next((mime for mime, sig in SIGNATURES.items() if head.startswith(sig)), None)
    if expected is None:
        return None
    try:
        matches = puremagic.magic_string(head)
    except (puremagic.PureError, ValueError):
        return None
    if not matches:
        return None
    # The signature must also be among puremagic's best guesses: a longer,
    # more specific match elsewhere (JPEG-LS starts like a JPEG, a tar header
    # can start with `%PDF-`, an SVG can end a "PDF") means the file is, or
    # also is, something we do not accept.
    best = max(match.confidence for match in matches)
    if expected not in {match.mime_type for match in matches if match.confidence == best}:
        return None
    return expected


def peek(chunks: Iterator[bytes], n: int) -> tuple[bytes, Iterator[bytes]]:
    """The first `n` bytes of `chunks` (fewer at the end), and an iterator over all of it."""
    iterator = iter(chunks)
    taken: list[bytes] = []
    size = 0
    while size < n:
        chunk = next(iterator, None)
        if chunk is None:
            break
        taken.append(chunk)
        size += len(chunk)
    head = bytearray()
    for chunk in taken:
        # Slicing copies only what the head needs, even from a large last chunk.
        head += chunk[: n - len(head)]
    return bytes(head), itertools.chain(taken, iterator)


def clean_filename(raw: str | None) -> str:
    """A display name safe to store and show, or "" when nothing usable remains."""
    if not raw:
        return ""
    # Only the last path component: a name is a label, never a location, and
    # old browsers on Windows send `C:\Users\...` paths.
    return _clean_label(_PATH_SEPARATORS.split(raw)[-1])


def clean_title(text: str) -> str:
    """A document title safe to store and show: like a file name, but "/" is kept.

    "Attestation 01/2025" is a date, not a path.
    """
    return _clean_label(text)


def _clean_label(text: str) -> str:
    name = "".join(_clean_char(c) for c in text)
    name = unicodedata.normalize("NFC", name)
    # str.split() also splits on NBSP, U+2028/2029 and other Unicode spaces.
    name = " ".join(name.split())
    # Leading dots make hidden files and `..`; trailing dots and spaces are
    # dropped by Windows when saving, so the saved name would differ.
    name = name.strip(" .")
    return _truncate(name, MAX_FILENAME_CHARS)


def _clean_char(c: str) -> str:
    category = unicodedata.category(c)
    if c.isspace():
        # Tabs, CR/LF, NEL, line separators: a space, collapsed later, rather
        # than gluing the words on either side together.
        return " "
    # Cc: NUL, C0, DEL, C1. Cf: bidi overrides and isolates (U+202A-202E,
    # U+2066-2069), LRM/RLM, ALM and other invisible format characters that
    # make a name display differently from what it is. Cs: lone surrogates,
    # which cannot be encoded to store. Co, Cn: private use and unassigned.
    if category in {"Cc", "Cf", "Cs", "Co", "Cn"}:
        return ""
    return c


def _truncate(name: str, limit: int) -> str:
    if len(name) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > _MAX_EXTENSION_CHARS:
        return name[:limit].rstrip(" .")
    stem = stem[: limit - len(ext) - 1].rstrip(" .")
    return f"{stem}.{ext}" if stem else name[:limit].rstrip(" .")


def title_from_filename(name: str) -> str:
    """A default document title from a cleaned filename: no extension, words spaced."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > _MAX_EXTENSION_CHARS:
        stem = name
    return " ".join(stem.replace("_", " ").replace("-", " ").split())


def download_name(title: str, mime: str) -> str:
    """The filename a download gets: the document's title with its type's extension."""
    extension = ALLOWED_TYPES.get(mime, "")
    # A title is free text where "2024/2025" is a date range, not a path.
    stem = _clean_label(_PATH_SEPARATORS.sub("-", title))
    if extension and stem.lower().endswith(extension):
        stem = stem[: -len(extension)].rstrip(" .")
    stem = _truncate(stem, MAX_FILENAME_CHARS - len(extension)) or DEFAULT_DOWNLOAD_STEM
    return stem + extension


def content_disposition(title: str, mime: str) -> str:
    """The `Content-Disposition: attachment` header value for a document download.

    It carries an ASCII `filename` for old clients and, when the name is not
    plain ASCII, the real name as RFC 5987 `filename*`, quoted like
    `flask.send_file(download_name=...)` does.
    """
    name = download_name(title, mime)
    fallback = _ascii_fallback(name, ALLOWED_TYPES.get(mime, ""))
    options = {"filename": fallback}
    if fallback != name:
        options["filename*"] = "UTF-8''" + quote(name, safe=_RFC5987_SAFE)
    return dump_options_header("attachment", options)


def _ascii_fallback(name: str, extension: str) -> str:
    # send_file's fallback only drops non-ASCII characters, which turns
    # "Пропуск.pdf" into ".pdf", a hidden file; keep a readable stem instead.
    stem = name[: -len(extension)] if extension and name.endswith(extension) else name
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    stem = " ".join(_ASCII_FALLBACK_UNSAFE.sub("_", stem).split()).strip(" ._")
    return (stem or DEFAULT_DOWNLOAD_STEM) + extension
