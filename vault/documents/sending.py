"""Answering with a document: the one helper every route that sends one goes through.

The person's download and preview, the counsellor's download and an external
link's download all answer here, so their headers cannot drift apart: the
document's own name (`Content-Disposition`), a sandbox CSP (nothing served
from a document may run a script, a plugin or a form) and the exact length
taken from the store. Nothing is cached: vault/core/security.py gives every
response but a static asset no-store. What is read, and how it is verified,
is vault/documents/downloads.py.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Response, render_template, stream_with_context
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

import storage
from vault.core import metrics
from vault.core.db import db_session
from vault.core.envelope import DataKey
from vault.core.kiosk import from_kiosk
from vault.core.pdf.render import render_pdf, render_sheet_page
from vault.documents.downloads import (
    Damaged,
    Recipient,
    journal_failure,
    open_version,
    verified_body,
)
from vault.documents.uploads import content_disposition
from vault.models import DocumentVersion

log = logging.getLogger(__name__)

# A sandbox for anything we serve from a document: no script, no plugin, no form.
DOCUMENT_CSP = "default-src 'none'; sandbox"

KIOSK_TITLE = _l("Nothing is saved on a kiosk")
KIOSK_MESSAGE = _l(
    "On a kiosk, documents are shown on the screen and never saved: the next person must "
    "not find them. Open the document to see it. After your release, you can download it "
    "from any phone or computer."
)
DAMAGED_TITLE = _l("Document damaged")
DAMAGED_MESSAGE = _l(
    "This document did not pass its integrity check: it may be damaged or may have been "
    "altered. It was not sent. Please report it to the team that runs the vault."
)


def send_document(
    db: Session,
    store: storage.BlobStore,
    version: DocumentVersion,
    dek: DataKey,
    *,
    title: str,
    recipient: Recipient,
    headers: Mapping[str, str] | None = None,
) -> Response | tuple[str, int]:
    """The attachment response for `version` of the recipient's document, or the "damaged" page.

    The blob is bound to the vault and document `recipient` names. Commits
    what the caller recorded in `db` once the first segment verified; rolls
    it back and journals a failure if it does not. On a kiosk network nothing
    is sent as a file (docs/kiosk.md): the page says why, and nothing the
    caller recorded is kept.
    """
    if from_kiosk():
        db.rollback()
        return kiosk_refusal()
    try:
        plaintext = open_version(
            store,
            version,
            dek,
            vault_id=recipient.vault_id,
            document_id=recipient.document_id,
        )
    except Damaged:
        metrics.DOWNLOADS.labels("document", "failed").inc()
        log.error("document %s not sent: it fails its integrity check", recipient.document_id)
        db.rollback()
        journal_failure(db, recipient, "integrity")
        return damaged_page()
    if version.size != plaintext.length:
        # Only the database says otherwise: what is sent is the stored document.
        log.warning(
            "document %s: recorded size %d differs from the stored content (%d bytes)",
            recipient.document_id,
            version.size,
            plaintext.length,
        )
    try:
        db.commit()
    except BaseException:
        plaintext.reader.close()
        raise
    body = verified_body(plaintext, recipient, db_session)
    response = Response(stream_with_context(body), mimetype=version.mime, direct_passthrough=True)
    response.headers["Content-Length"] = str(plaintext.length)
    response.headers["Content-Disposition"] = content_disposition(title, version.mime)
    response.headers["Content-Security-Policy"] = DOCUMENT_CSP
    response.headers.update(headers or {})
    return response


def send_preview(image: bytes, mime: str) -> Response:
    """A document's preview image, shown in the page (inline), in the same sandbox."""
    metrics.DOWNLOADS.labels("preview", "sent").inc()
    metrics.DOWNLOAD_BYTES.labels("preview").inc(len(image))
    response = Response(image, mimetype=mime)
    response.headers["Content-Disposition"] = "inline"
    response.headers["Content-Security-Policy"] = DOCUMENT_CSP
    return response


def kiosk_refusal() -> tuple[str, int]:
    """The French page for a file asked for on a kiosk: nothing lands on a shared terminal."""
    page = render_template(
        "errors/error.html", status=403, title=KIOSK_TITLE, message=KIOSK_MESSAGE
    )
    return page, 403


def damaged_page() -> tuple[str, int]:
    """The French page for a document that fails its checks (nothing of it was sent)."""
    page = render_template(
        "errors/error.html", status=500, title=DAMAGED_TITLE, message=DAMAGED_MESSAGE
    )
    return page, 500


def answer_sheet(
    template_name: str, filename: str, *, back_url: str, **context: object
) -> Response | str:
    """A printed sheet: a PDF to download, or on a kiosk a page the browser prints.

    On a kiosk network a PDF would be saved on the shared terminal, codes
    included (docs/kiosk.md): the same sheet is shown as a page instead.
    """
    if from_kiosk():
        return render_sheet_page(template_name, back_url=back_url, **context)
    return send_sheet(render_pdf(template_name, **context), filename)


def send_sheet(pdf: bytes, filename: str) -> Response:
    """A sheet the vault printed (activation, recovery kit): a PDF to download, never cached.

    Not a stored document: it goes out as rendered, without the document CSP.
    """
    metrics.DOWNLOADS.labels("sheet", "sent").inc()
    metrics.DOWNLOAD_BYTES.labels("sheet").inc(len(pdf))
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
