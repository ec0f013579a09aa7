"""The exit pack: the whole vault as one streamed ZIP, and the check of such a ZIP.

What the person takes with them (issue 6, DESIGN.md §5): every document in a
folder of its category, then ``manifest.json`` (metadata and SHA-256 of every
file), ``journal.json`` (the hash chain, with the plain-words sentences) and
``resume.pdf`` (inventory, expiry dates, missing papers, counsellors, how to
sign in from outside, the retention rule and a fresh recovery kit).

Memory stays constant whatever the vault holds: each document is decrypted
segment by segment from the blob store straight into `stream_zip`, which
writes local headers with data descriptors (ZIP64 when needed), so nothing is
held whole and no plaintext touches a disk. The manifest comes after the
files because the SHA-256 it records is computed while they stream, and
checked there against the one sealed in the document's metadata.

An error in the middle (a blob failing its tag, a store going away) raises
out of the generator: the server then cuts the response, and the archive has
no central directory, so no reader takes it for a complete one. The new
recovery kit is issued only once every document has streamed and verified,
so a failed export leaves the previous kit working.

`verify_archive` checks an export without the app or its database: an
operator or the person may run ``vault export verify`` on any machine.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import queue
import re
import threading
import unicodedata
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from stat import S_IFREG
from typing import IO, Any, cast

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from stream_zip import NO_COMPRESSION_64, ZIP_64, ZIP_AUTO, MemberFile, stream_zip

import storage
from crypto import KeyRing
from vault.accounts import service as accounts
from vault.documents import service as documents
from vault.documents.service import Unlocked
from vault.documents.uploads import download_name
from vault.journal import service as journal
from vault.lifecycle import checklist
from vault.models import Document, DocumentVersion, JournalEvent, User
from vault.models.base import utcnow
from vault.sharing import service as sharing

log = logging.getLogger(__name__)

FORMAT = "vault-export"
FORMAT_VERSION = 1
JOURNAL_FORMAT = "vault-journal"
MANIFEST_NAME = "manifest.json"
JOURNAL_NAME = "journal.json"
SUMMARY_NAME = "resume.pdf"
OWN_FILES = (MANIFEST_NAME, JOURNAL_NAME, SUMMARY_NAME)
GENESIS = journal.GENESIS
# The fields of an event that its hash covers (vault.journal.service._canonical).
CHAIN_FIELDS = ("seq", "time", "vault", "actor", "role", "action", "document", "outcome", "details")

# Papers are PDF, JPEG and PNG, compressed already: deflating them again costs
# CPU for nothing. Level 0 still goes through deflate's stored blocks, which
# stream_zip can write with a data descriptor (its stored method needs the
# CRC before the data, that is a second pass).
DOCUMENT_LEVEL = 0
TEXT_LEVEL = 6
# The size of what the generator yields: large enough that a 1 GiB export is
# a few thousand writes, small enough to stay far below the memory budget.
OUTPUT_CHUNK = 256 * 1024
# Owner-only: an unzipped vault on a shared computer should not be readable
# by the other accounts of that computer.
FILE_MODE = S_IFREG | 0o600
JOURNAL_BATCH = 500
# Reading threads, and the plaintext segments (1 MiB each) each may read ahead.
PREFETCH_READERS = 2
PREFETCH_SEGMENTS = 2
ZIP_INPUT = 64 * 1024
RETENTION_YEARS_DEFAULT = 3

# Names inside the archive: what every unzip tool on every system accepts.
FOLDER_MAX_CHARS = 60
FILE_MAX_BYTES = 200  # UTF-8; most file systems allow 255 bytes per name
_FOLDER_SAFE = re.compile(r"[^A-Za-z0-9 ,'()&+\-_.]+")
# Forbidden in Windows file names (and "/" everywhere); download_name already
# removed control and invisible format characters.
_WINDOWS_FORBIDDEN = re.compile(r'[<>:"/\\|?*]')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{p}{n}" for p in ("COM", "LPT") for n in "123456789"
}


class ExportError(Exception):
    """A document did not come out as its metadata says (size or SHA-256)."""


# --- names inside the archive -------------------------------------------------------------


def ascii_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii")


def safe_folder(label: str, fallback: str) -> str:
    """A folder name from a category label: ASCII, no separator, no dot-only name, capped."""
    name = _FOLDER_SAFE.sub("_", ascii_fold(label))
    name = " ".join(name.split()).strip(" ._")[:FOLDER_MAX_CHARS].rstrip(" ._")
    return _not_reserved(name) or fallback


def safe_filename(title: str, mime: str) -> str:
    """A file name from a decrypted title: the download's name, safe on every system."""
    name = download_name(title, mime)  # no control, bidi or path characters; no leading dot
    stem, ext = _split_extension(name, mime)
    stem = _WINDOWS_FORBIDDEN.sub("_", stem).strip(" .") or "document"
    return _capped(_not_reserved(stem), ext)


def _split_extension(name: str, mime: str) -> tuple[str, str]:
    from vault.documents.uploads import ALLOWED_TYPES

    ext = ALLOWED_TYPES.get(mime, "")
    if ext and name.endswith(ext):
        return name[: -len(ext)], ext
    return name, ""


def _not_reserved(stem: str) -> str:
    # "CON.pdf" cannot be created on Windows, whatever the extension.
    return stem + "_" if stem.split(".")[0].upper() in _WINDOWS_RESERVED else stem


def _capped(stem: str, ext: str, suffix: str = "") -> str:
    room = FILE_MAX_BYTES - len((suffix + ext).encode())
    encoded = stem.encode()
    if len(encoded) > room:
        stem = encoded[:room].decode("utf-8", "ignore").rstrip(" .") or "document"
    return stem + suffix + ext


class _Names:
    """Unique paths: "Titre.pdf", "Titre (2).pdf"..., compared without case.

    Windows and macOS file systems ignore case, so two names differing only by
    it would overwrite each other when unzipped.
    """

    def __init__(self) -> None:
        self._taken: set[str] = {name.casefold() for name in OWN_FILES}

    def add(self, folder: str, filename: str, mime: str) -> str:
        stem, ext = _split_extension(filename, mime)
        n = 1
        path = f"{folder}/{filename}"
        while path.casefold() in self._taken:
            n += 1
            path = f"{folder}/{_capped(stem, ext, f' ({n})')}"
        self._taken.add(path.casefold())
        return path


# --- what goes in -------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFile:
    """One document of the archive, with what the manifest says about it."""

    path: str
    document_id: uuid.UUID
    version: DocumentVersion
    title: str
    filename: str
    category: str
    doc_type: str
    mime: str
    expiry_date: date | None
    added_at: datetime
    size: int
    sha256: str  # as sealed in the metadata at upload
    crc32: int | None = None  # likewise; lets the entry be stored without deflate


@dataclass(frozen=True)
class Summary:
    """Everything the printable summary shows, for the view's renderer."""

    display_name: str
    username: str
    exported_at: datetime
    files: list[ExportFile]
    counsellors: list[str]
    checklist: checklist.Checklist
    recovery_code: str
    retention_years: int


@dataclass(frozen=True)
class Renderers:
    """What the archive needs from the web layer: labels, sentences, the PDF.

    Kept out of this module so that it depends on no request: the view gives
    translated labels and WeasyPrint, a test may give plain functions.
    """

    folder_label: Callable[[str], str]
    type_label: Callable[[str], str]
    # (event, its actor, titles by document, people by id) -> (when, sentence)
    describe_event: Callable[
        [JournalEvent, User | None, Mapping[uuid.UUID, str], Mapping[uuid.UUID, User]],
        tuple[str, str],
    ]
    retention_rule: Callable[[int], str]
    summary_pdf: Callable[[Summary], bytes]


def plan(db: Session, owner: Unlocked, folder_label: Callable[[str], str]) -> list[ExportFile]:
    """The documents of the archive, by category then title, with their unique paths.

    Loads every row and title now, so that streaming needs no database until
    the end (the view commits before the response starts).
    """
    rows = db.execute(
        select(Document, DocumentVersion)
        .join(
            DocumentVersion,
            (DocumentVersion.document_id == Document.id)
            & (DocumentVersion.version == Document.current_version),
        )
        .where(Document.vault_id == owner.vault_id)
    ).all()
    found = []
    for document, version in rows:
        if version.wrapped_dek is None:
            # A deposit made since this request took deposits in: the next export has it.
            continue
        meta = documents.document_meta(owner, document)
        found.append((document, version, meta))
    order = {code: i for i, code in enumerate(_category_order())}
    found.sort(key=lambda r: (order.get(r[0].category, len(order)), r[2].title.casefold(), r[0].id))
    names = _Names()
    folders: dict[str, str] = {}
    files = []
    for document, version, meta in found:
        if document.category not in folders:
            folders[document.category] = safe_folder(
                folder_label(document.category), document.category or "autres"
            )
        path = names.add(
            folders[document.category], safe_filename(meta.title, version.mime), version.mime
        )
        files.append(
            ExportFile(
                path=path,
                document_id=document.id,
                version=version,
                title=meta.title,
                filename=meta.filename,
                category=document.category,
                doc_type=document.doc_type,
                mime=version.mime,
                expiry_date=document.expiry_date,
                added_at=document.created_at,
                size=version.size,
                sha256=meta.sha256,
                crc32=meta.crc32,
            )
        )
    return files


def _category_order() -> list[str]:
    from vault.core.catalog import CATEGORIES

    return [c.code for c in CATEGORIES]


# --- the stream ---------------------------------------------------------------------------


@dataclass
class _Progress:
    documents: int = 0
    size: int = 0
    digests: dict[str, str] = field(default_factory=dict)


class _Stopped(Exception):
    """The archive's consumer went away: the reading thread stops."""


class _Prefetch:
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

    def content(self, index: int, item: ExportFile, progress: _Progress) -> Iterator[bytes]:
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


def archive(
    db: Session,
    store: storage.BlobStore,
    ring: KeyRing,
    owner: Unlocked,
    files: list[ExportFile],
    renderers: Renderers,
    *,
    retention_years: int = RETENTION_YEARS_DEFAULT,
    now: datetime | None = None,
) -> Iterator[bytes]:
    """The ZIP of `files` (from `plan`), then manifest, journal and summary, as chunks.

    The one service that commits: its work happens while the response
    streams, after the view has returned. Once every document has streamed
    and verified, it issues the new recovery kit and journals
    "export.created" in one transaction; if anything fails before, it
    journals the failure (best effort) and raises, so the download breaks.
    """
    exported_at = (now or utcnow()).replace(microsecond=0)
    progress = _Progress()
    prefetch = _Prefetch(store, ring, owner, files)

    def members() -> Iterator[MemberFile]:
        for index, item in enumerate(files):
            yield (
                item.path,
                item.added_at,
                FILE_MODE,
                # Documents are PDF, JPEG and PNG, already compressed: stored as
                # they are when the CRC-32 is known (stream_zip still checks it).
                NO_COMPRESSION_64(item.size, item.crc32)
                if item.crc32 is not None
                else ZIP_AUTO(item.size, level=DOCUMENT_LEVEL),
                prefetch.content(index, item, progress),
            )
        # Every document is out and verified: the kit can replace the old one.
        # The summary that prints it is rendered before the commit, so a
        # rendering failure leaves the previous kit working.
        code = accounts.issue_recovery_kit(db, ring, owner.user, owner.key)
        journal.append(
            db,
            vault_id=owner.vault_id,
            action="export.created",
            actor=owner.user,
            details={"documents": progress.documents, "size": progress.size},
        )
        head = _journal_head(db, owner.vault_id)
        summary = renderers.summary_pdf(
            Summary(
                display_name=owner.user.display_name,
                username=owner.user.username,
                exported_at=exported_at,
                files=files,
                counsellors=[c.display_name for c in sharing.counsellors_of(db, owner.vault_id)],
                checklist=checklist.for_person(db, owner.vault_id, today=exported_at.date()),
                recovery_code=code,
                retention_years=retention_years,
            )
        )
        manifest = _manifest(owner, files, progress, exported_at, head, retention_years, renderers)
        db.commit()
        yield (
            MANIFEST_NAME,
            exported_at,
            FILE_MODE,
            ZIP_AUTO(len(manifest), level=TEXT_LEVEL),
            (manifest,),
        )
        yield (
            JOURNAL_NAME,
            exported_at,
            FILE_MODE,
            ZIP_64,
            _journal_json(db, owner, files, head[0], renderers),
        )
        yield (
            SUMMARY_NAME,
            exported_at,
            FILE_MODE,
            ZIP_AUTO(len(summary), level=TEXT_LEVEL),
            (summary,),
        )

    def guarded() -> Iterator[bytes]:
        try:
            yield from stream_zip(
                members(),
                chunk_size=OUTPUT_CHUNK,
                get_compressobj=lambda: zlib.compressobj(level=TEXT_LEVEL, wbits=-zlib.MAX_WBITS),
            )
        except Exception as e:
            # Ids and the error's kind only: a message may carry a title.
            log.error(
                "export of vault %s aborted after %d document(s): %s",
                owner.vault_id,
                progress.documents,
                type(e).__name__,
            )
            _journal_failure(db, owner, progress)
            raise
        finally:
            prefetch.close()

    return guarded()


def _journal_failure(db: Session, owner: Unlocked, progress: _Progress) -> None:
    try:
        db.rollback()
        journal.append(
            db,
            vault_id=owner.vault_id,
            action="export.created",
            actor=owner.user,
            outcome="failed",
            details={"documents": progress.documents},
        )
        db.commit()
    except SQLAlchemyError:
        db.rollback()
        log.exception("export of vault %s: could not journal the failure", owner.vault_id)


def _journal_head(db: Session, vault_id: uuid.UUID) -> tuple[int, str]:
    row = db.execute(
        select(JournalEvent.seq, JournalEvent.hash)
        .where(JournalEvent.vault_id == vault_id)
        .order_by(JournalEvent.seq.desc())
        .limit(1)
    ).one()
    return int(row[0]), str(row[1])


def _dumps(value: Any, indent: int | None = None) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=indent, sort_keys=False).encode()


def _manifest(
    owner: Unlocked,
    files: list[ExportFile],
    progress: _Progress,
    exported_at: datetime,
    head: tuple[int, str],
    retention_years: int,
    renderers: Renderers,
) -> bytes:
    entries = [
        {
            "path": item.path,
            "title": item.title,
            "original_filename": item.filename,
            "category": item.category,
            "category_label": renderers.folder_label(item.category),
            "type": item.doc_type,
            "type_label": renderers.type_label(item.doc_type),
            "mime": item.mime,
            "expiry_date": item.expiry_date.isoformat() if item.expiry_date else None,
            "added_at": item.added_at.isoformat(),
            "size": item.size,
            "sha256": progress.digests[item.path],
            "document_id": str(item.document_id),
            "version": item.version.version,
        }
        for item in files
    ]
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": exported_at.isoformat(),
        "person": {"display_name": owner.user.display_name, "username": owner.user.username},
        "documents": len(entries),
        "total_size": progress.size,
        "files": entries,
        "journal": {"path": JOURNAL_NAME, "events": head[0], "last_hash": head[1]},
        "summary": {"path": SUMMARY_NAME},
        "retention": {
            "years_after_last_sign_in": retention_years,
            "rule": renderers.retention_rule(retention_years),
        },
    }
    return _dumps(manifest, indent=2) + b"\n"


def _journal_json(
    db: Session, owner: Unlocked, files: list[ExportFile], last_seq: int, renderers: Renderers
) -> Iterator[bytes]:
    """The chain from its first event to `last_seq`, written as it is read, in batches."""
    titles = {item.document_id: item.title for item in files}
    people: dict[uuid.UUID, User] = {}
    header = {
        "format": JOURNAL_FORMAT,
        "format_version": FORMAT_VERSION,
        "vault": str(owner.vault_id),
        "genesis": GENESIS,
        "hash": "sha256(prev_hash || JSON of the fields "
        + ", ".join(CHAIN_FIELDS)
        + ", keys sorted, no spaces, UTF-8)",
    }
    yield _dumps(header)[:-1] + b',"events":[\n'
    after = 0
    first = True
    while after < last_seq:
        batch = list(
            db.execute(
                select(JournalEvent)
                .where(
                    JournalEvent.vault_id == owner.vault_id,
                    JournalEvent.seq > after,
                    JournalEvent.seq <= last_seq,
                )
                .order_by(JournalEvent.seq)
                .limit(JOURNAL_BATCH)
            ).scalars()
        )
        if not batch:
            break
        _load_people(db, batch, people)
        out = []
        for event in batch:
            # The very fields and encoding the chain hashes (journal.event_hash).
            entry: dict[str, Any] = json.loads(journal._canonical(event))
            entry["prev_hash"], entry["hash"] = event.prev_hash, event.hash
            actor = people.get(event.actor_id) if event.actor_id else None
            entry["actor_name"] = actor.display_name if actor else None
            entry["when"], entry["text"] = renderers.describe_event(event, actor, titles, people)
            out.append(("" if first else ",\n").encode() + _dumps(entry))
            first = False
        yield b"".join(out)
        after = batch[-1].seq
        # A long journal must not pile up in the session's identity map.
        for event in batch:
            db.expunge(event)
    # Only read since the commit: end that transaction before the summary streams.
    db.rollback()
    yield b"\n]}\n"


def _load_people(db: Session, batch: list[JournalEvent], people: dict[uuid.UUID, User]) -> None:
    """The users a batch names (actors, and the counsellor of a share or an assignment)."""
    wanted: set[uuid.UUID] = set()
    for event in batch:
        if event.actor_id:
            wanted.add(event.actor_id)
        try:
            named = json.loads(event.details or "{}").get("counsellor")
            if named:
                wanted.add(uuid.UUID(str(named)))
        except (ValueError, AttributeError):
            pass
    wanted -= people.keys()
    if wanted:
        for user in db.execute(select(User).where(User.id.in_(wanted))).scalars():
            people[user.id] = user


# --- checking an export -------------------------------------------------------------------


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


def chain_hash(prev_hash: str, event: Mapping[str, Any]) -> str:
    """journal.event_hash recomputed from an exported event."""
    body = {name: event.get(name) for name in CHAIN_FIELDS}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(prev_hash.encode() + text.encode()).hexdigest()


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


def stream_to(chunks: Iterable[bytes], out: IO[bytes]) -> int:
    """Write `chunks` to `out`; the number of bytes (for the benchmark and the tests)."""
    total = 0
    for chunk in chunks:
        out.write(chunk)
        total += len(chunk)
    return total
