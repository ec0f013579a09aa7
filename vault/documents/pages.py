"""Documents shown as pages: each page an image rendered on request, never stored (D-100).

The person's document page and a counsellor's page of a shared document show
every page of the document as an image (`templates/documents/_pages.html`),
so that reading one needs no download: on a kiosk nothing reaches the disk
(issue 13). Each page is rendered by the sandboxed preview worker
(vault/documents/previews.py) from the document decrypted in memory, sent
inline with the sandbox CSP and `no-store` (vault/documents/sending.py), and
forgotten: no page is written anywhere, in clear or encrypted.

Bounds: `PAGE_CAP` pages are shown (the rest through the download, where the
network allows it); documents over `PREVIEW_MAX_BYTES` show no page; renders
count against a budget per user (`PAGE_RATE`); a document that breaks the
renderer is remembered as the preview is (D-052) and is not rendered again.

A web edge of the documents feature (like sending.py): it answers with
Flask responses and counts renders with the app's limiter.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass

from flask import Response, abort, current_app
from flask_limiter import Limiter
from limits import parse_many
from sqlalchemy.orm import Session

import storage
from vault.core.envelope import DataKey
from vault.documents.blobs import remember_preview_failed
from vault.documents.downloads import Damaged, Recipient, journal_failure, open_version, read_whole
from vault.documents.previews import (
    PREVIEW_MIME,
    NoSuchPage,
    PreviewError,
    count_pages,
    render_page,
)
from vault.documents.sending import damaged_page, send_preview
from vault.journal import service as journal
from vault.models import DocumentVersion, User

log = logging.getLogger(__name__)

# Page counts already made in this process, by version row. A version's
# content never changes (a new file is a new row), so a count stays true;
# without it every opening of a PDF's page decrypted the whole file and
# started the sandboxed worker again (about a second under load,
# docs/benchmarks.md, "Load"). Only a number per id: nothing of the content.
_COUNTS: OrderedDict[uuid.UUID, int] = OrderedDict()
_COUNTS_MAX = 20_000
_COUNTS_LOCK = threading.Lock()


def _known_count(version_id: uuid.UUID) -> int | None:
    with _COUNTS_LOCK:
        count = _COUNTS.get(version_id)
        if count is not None:
            _COUNTS.move_to_end(version_id)
        return count


def _remember_count(version_id: uuid.UUID, count: int) -> None:
    with _COUNTS_LOCK:
        _COUNTS[version_id] = count
        while len(_COUNTS) > _COUNTS_MAX:
            _COUNTS.popitem(last=False)


# At most this many pages are shown: a 20-page letter is already long to read
# on a kiosk, and each page is one worker run.
PAGE_CAP = 20
# Documents are rendered from their whole plaintext in memory; above this, no page.
PREVIEW_MAX_BYTES = 32 * 1024 * 1024
# Page renders (and page counts) per user. Reading two documents of twenty
# pages in a minute stays within it; a script fetching every page of a vault
# in a loop does not, and leaves the two workers to everyone else.
PAGE_RATE = "60 per minute;600 per hour"


@dataclass(frozen=True)
class Pages:
    """What the page viewer shows: `shown` pages of `total`."""

    total: int

    @property
    def shown(self) -> int:
        return min(self.total, PAGE_CAP)

    @property
    def numbers(self) -> range:
        return range(1, self.shown + 1)


def possible(version: DocumentVersion) -> bool:
    """False when the version is known to have no pages (a remembered failure, too large)."""
    return version.preview_failed_at is None and version.size <= PREVIEW_MAX_BYTES


def pages_of(
    store: storage.BlobStore,
    version: DocumentVersion,
    dek: DataKey,
    *,
    vault_id: uuid.UUID,
    viewer: User,
) -> Pages | None:
    """The pages to show of `version`, or None when none can be shown now.

    An image is one page and costs nothing; a PDF is decrypted in memory and
    counted by the worker. None: known to have none, a busy machine, a spent
    budget or a damaged document (its download says so); the page then shows
    the single preview or its text.
    """
    if not possible(version):
        return None
    if version.mime != "application/pdf":
        return Pages(1)
    known = _known_count(version.id)
    if known is not None:
        return Pages(known)
    if not _render_allowed(viewer):
        return None
    try:
        content = _plaintext(store, version, dek, vault_id)
    except Damaged:
        log.error("document %s: no pages, it fails its integrity check", version.document_id)
        return None
    if content is None:
        return None
    try:
        count = count_pages(content, version.mime)
        _remember_count(version.id, count)
        return Pages(count)
    except PreviewError as e:
        log.info("no pages for document %s: %s", version.document_id, e)
        return None
    finally:
        del content


def send_page(
    db: Session,
    store: storage.BlobStore,
    version: DocumentVersion,
    dek: DataKey,
    *,
    recipient: Recipient,
    number: int,
    journal_first_page: bool = True,
) -> Response | tuple[str, int]:
    """Page `number` of `version` as a PNG shown inline, rendered now and kept nowhere.

    404: no such page, or none will ever be made (remembered failure, too
    large, past `PAGE_CAP`); 429: the viewer's budget is spent; 503: the
    machine is busy. With `journal_first_page`, page 1 is journaled as the
    document viewed (one line per look, not one per page); without, the page
    that shows the pages journals the look itself (a counsellor's, D-101).
    The caller has checked that `recipient.actor` may read the document.
    """
    viewer = recipient.actor
    assert viewer is not None
    if not 1 <= number <= PAGE_CAP or not possible(version):
        abort(404)
    if not _render_allowed(viewer):
        abort(429)
    try:
        content = _plaintext(store, version, dek, recipient.vault_id)
    except Damaged:
        log.error("document %s: page not sent, it fails its integrity check", version.document_id)
        journal_failure(db, recipient, "integrity")
        return damaged_page()
    if content is None:
        abort(404)
    try:
        _count, image = render_page(content, version.mime, number)
    except NoSuchPage:
        abort(404)
    except PreviewError as e:
        log.info("page %d of document %s not made: %s", number, version.document_id, e)
        if not e.permanent:
            abort(503)
        remember_preview_failed(db, version)
        db.commit()
        abort(404)
    finally:
        del content
    if number == 1 and journal_first_page:
        journal.append(
            db,
            vault_id=recipient.vault_id,
            action=recipient.action,
            actor=viewer,
            document_id=recipient.document_id,
        )
        db.commit()
    return send_preview(image, PREVIEW_MIME)


def _plaintext(
    store: storage.BlobStore, version: DocumentVersion, dek: DataKey, vault_id: uuid.UUID
) -> bytes | None:
    """The whole verified plaintext of `version`, or None above `PREVIEW_MAX_BYTES`.

    The length from the store, as downloads take it: not the clear size column.
    Raises Damaged.
    """
    plaintext = open_version(
        store, version, dek, vault_id=vault_id, document_id=version.document_id
    )
    with plaintext.reader:
        if plaintext.length > PREVIEW_MAX_BYTES:
            return None
        return read_whole(plaintext)


def _render_allowed(user: User) -> bool:
    """Count one render against `user`'s page budget; False once it is spent."""
    limiter: Limiter = current_app.extensions["vault.limiter"]
    return all(
        limiter.limiter.hit(item, "page-render", str(user.id)) for item in parse_many(PAGE_RATE)
    )
