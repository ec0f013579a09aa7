"""The check of an exit pack, and the names and formats it checks.

`verify_archive` checks an export without the app or its database: an
operator or the person may run ``vault export verify`` on any machine. So this
module imports the standard library and `vault.journal.chain` (the journal's
canonical form and hash, pure too) and nothing else of the vault;
tests/unit/test_export_verify.py keeps it so.

The writer (vault.export.writer) takes the archive's names and format numbers
from here: the format is defined once, by what its check accepts.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO, Any

from vault.journal.chain import CHAIN_FIELDS, GENESIS, chain_hash

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "JOURNAL_FORMAT",
    "JOURNAL_NAME",
    "MANIFEST_NAME",
    "OWN_FILES",
    "SUMMARY_NAME",
    "Verdict",
    "verify_archive",
]

FORMAT = "vault-export"
FORMAT_VERSION = 1
JOURNAL_FORMAT = "vault-journal"
MANIFEST_NAME = "manifest.json"
JOURNAL_NAME = "journal.json"
SUMMARY_NAME = "resume.pdf"
OWN_FILES = (MANIFEST_NAME, JOURNAL_NAME, SUMMARY_NAME)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    documents: int = 0
    entry: str = ""
    problem: str = ""


class _Bad(Exception):
    def __init__(self, entry: str, problem: str) -> None:
        super().__init__(f"{entry}: {problem}")
        self.entry, self.problem = entry, problem


def verify_archive(path: str | IO[bytes]) -> Verdict:
    """Check an exit pack: every listed file and its SHA-256, nothing unlisted, the journal.

    Needs no database and no configuration. Stops at the first problem and
    names the entry.
    """
    name = path if isinstance(path, str) else getattr(path, "name", "archive")
    try:
        with zipfile.ZipFile(path) as archive_file:
            count = _verify(archive_file)
    except _Bad as bad:
        return Verdict(False, entry=bad.entry, problem=bad.problem)
    except FileNotFoundError:
        return Verdict(False, entry=str(name), problem="no such file")
    except IsADirectoryError:
        return Verdict(False, entry=str(name), problem="a directory, not a ZIP archive")
    except PermissionError:
        return Verdict(False, entry=str(name), problem="cannot be read (permission denied)")
    except zipfile.BadZipFile:
        return Verdict(False, entry=str(name), problem="not a ZIP archive, or its end is missing")
    except OSError as e:
        return Verdict(False, entry=str(name), problem=f"cannot be read ({e.strerror or 'error'})")
    return Verdict(True, documents=count)


def _verify(archive_file: zipfile.ZipFile) -> int:
    infos = archive_file.infolist()
    seen: set[str] = set()
    for info in infos:
        if info.filename in seen:
            raise _Bad(info.filename, "appears twice in the archive")
        seen.add(info.filename)
    if MANIFEST_NAME not in seen:
        raise _Bad(MANIFEST_NAME, "missing: not an export of the vault")
    manifest = _json_member(archive_file, MANIFEST_NAME)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _Bad(MANIFEST_NAME, "not the manifest of a vault export")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise _Bad(MANIFEST_NAME, f"format version {manifest.get('format_version')!r} is unknown")
    entries = manifest.get("files")
    if not isinstance(entries, list):
        raise _Bad(MANIFEST_NAME, "has no list of files")
    listed: set[str] = set()
    for index, entry in enumerate(entries):
        listed.add(_verify_file(archive_file, seen, entry, index))
    for info in infos:
        if info.filename in listed or info.filename in OWN_FILES:
            continue
        if info.is_dir() and any(p.startswith(info.filename) for p in listed):
            continue  # a folder entry some zip tools add
        raise _Bad(info.filename, "not listed in the manifest")
    _verify_journal(archive_file, seen, manifest.get("journal"))
    if SUMMARY_NAME not in seen:
        raise _Bad(SUMMARY_NAME, "missing")
    with archive_file.open(SUMMARY_NAME) as f:
        if not f.read(5) == b"%PDF-":
            raise _Bad(SUMMARY_NAME, "not a PDF")
    return len(listed)


def _json_member(archive_file: zipfile.ZipFile, name: str) -> Any:
    try:
        with archive_file.open(name) as f:
            return json.load(f)
    except zipfile.BadZipFile as e:
        raise _Bad(name, f"damaged ({e})") from None
    except (ValueError, UnicodeDecodeError):
        raise _Bad(name, "not valid JSON") from None
    except (RuntimeError, NotImplementedError, EOFError, zlib.error) as e:
        raise _Bad(name, f"cannot be read ({type(e).__name__})") from None


def _verify_file(archive_file: zipfile.ZipFile, seen: set[str], entry: Any, index: int) -> str:
    label = f"{MANIFEST_NAME} files[{index}]"
    if not isinstance(entry, dict):
        raise _Bad(label, "not an object")
    path, size, digest = entry.get("path"), entry.get("size"), entry.get("sha256")
    if not isinstance(path, str) or not path:
        raise _Bad(label, "has no path")
    if not _is_safe_path(path):
        raise _Bad(path, "unsafe path (absolute, '..', backslash or control character)")
    if path in OWN_FILES:
        raise _Bad(path, "a document cannot take this name")
    if not isinstance(size, int) or not isinstance(digest, str):
        raise _Bad(path, "the manifest gives no size or SHA-256")
    if path not in seen:
        raise _Bad(path, "listed in the manifest but missing from the archive")
    actual = hashlib.sha256()
    count = 0
    try:
        with archive_file.open(path) as f:
            while chunk := f.read(1024 * 1024):
                actual.update(chunk)
                count += len(chunk)
    except zipfile.BadZipFile as e:
        raise _Bad(path, f"damaged ({e})") from None
    except (RuntimeError, NotImplementedError, EOFError, zlib.error) as e:
        raise _Bad(path, f"cannot be read ({type(e).__name__})") from None
    if count != size:
        raise _Bad(path, f"size {count} bytes, the manifest says {size}")
    if actual.hexdigest() != digest.lower():
        raise _Bad(path, "SHA-256 differs from the manifest")
    return path


def _is_safe_path(path: str) -> bool:
    if path.startswith("/") or "\\" in path or any(unicodedata.category(c) == "Cc" for c in path):
        return False
    # Split by hand: PurePosixPath would quietly drop "." and empty segments.
    parts = path.split("/")
    return not any(p in ("", ".", "..") for p in parts) and ":" not in parts[0]


def _verify_journal(archive_file: zipfile.ZipFile, seen: set[str], expected: Any) -> None:
    if JOURNAL_NAME not in seen:
        raise _Bad(JOURNAL_NAME, "missing")
    data = _json_member(archive_file, JOURNAL_NAME)
    if not isinstance(data, dict) or data.get("format") != JOURNAL_FORMAT:
        raise _Bad(JOURNAL_NAME, "not the journal of a vault export")
    events = data.get("events")
    if not isinstance(events, list):
        raise _Bad(JOURNAL_NAME, "has no list of events")
    prev = GENESIS
    for index, event in enumerate(events, start=1):
        where = f"{JOURNAL_NAME} event {index}"
        if not isinstance(event, dict) or not all(name in event for name in CHAIN_FIELDS):
            raise _Bad(where, "incomplete")
        if event.get("seq") != index:
            raise _Bad(where, f"numbered {event.get('seq')!r}: an event is missing or moved")
        if event.get("prev_hash") != prev:
            raise _Bad(where, "does not follow the previous event (chain broken)")
        if chain_hash(prev, event) != event.get("hash"):
            raise _Bad(where, "its hash does not match its content (altered)")
        prev = str(event["hash"])
    if isinstance(expected, dict):
        if expected.get("events") != len(events) or expected.get("last_hash") != prev:
            raise _Bad(JOURNAL_NAME, "does not end where the manifest says (events missing)")
    else:
        raise _Bad(MANIFEST_NAME, "does not describe the journal")
