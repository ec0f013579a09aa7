"""What goes into the exit pack: the documents' rows and titles, and what the summary shows.

`plan` loads everything the archive needs from the database before the
response starts; the writer (vault.export.writer) then streams without it
until the end.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.accounts.keys import Unlocked
from vault.documents import service as documents
from vault.export.names import UniquePaths, category_order, safe_filename, safe_folder
from vault.lifecycle import checklist
from vault.models import Document, DocumentVersion, JournalEvent, User


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
    order = {code: i for i, code in enumerate(category_order())}
    found.sort(key=lambda r: (order.get(r[0].category, len(order)), r[2].title.casefold(), r[0].id))
    names = UniquePaths()
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
