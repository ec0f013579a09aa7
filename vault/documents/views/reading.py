"""Reading a document of the person's library: its page, its download, its preview.

Routes of the "documents" blueprint (library.py); the package's __init__
imports this module so that they are registered with the others. Every
plaintext leaves through vault/documents/sending.py.
"""

from __future__ import annotations

import logging
import uuid

from flask import Response, abort, current_app, render_template
from flask_limiter import Limiter
from limits import parse_many
from sqlalchemy.orm import Session

from vault.accounts import auth
from vault.accounts.keys import Unlocked
from vault.core.catalog import CATEGORIES, CATEGORY_BY_CODE, DOCUMENT_TYPES, TYPE_LABELS
from vault.core.db import db_session
from vault.core.extensions import get_keyring, get_store
from vault.core.forms import DocumentDetailsForm
from vault.documents import downloads, pages
from vault.documents import service as documents
from vault.documents.downloads import Damaged, Recipient, journal_failure
from vault.documents.opened import own_document, unlocked_vault
from vault.documents.previews import PREVIEW_MIME, PreviewError, render_preview
from vault.documents.sending import damaged_page, send_document, send_preview
from vault.documents.views.library import bp
from vault.journal import service as journal
from vault.models import DocumentVersion, Role, User

log = logging.getLogger(__name__)

# Previews are rendered from the whole document in memory; above this, none.
PREVIEW_MAX_BYTES = 32 * 1024 * 1024
# Renders (not previews already made) per person: a person looks at a few
# documents a minute; a script opening every document of a vault in a loop
# would otherwise keep the workers busy for everyone else.
PREVIEW_RATE = "10 per minute;100 per hour"


@bp.get("/<uuid:document_id>")
@auth.role_required(Role.PERSON)
def show(document_id: uuid.UUID) -> str:
    owner = unlocked_vault()
    document = own_document(owner, document_id)
    meta = documents.document_meta(owner, document)
    form = DocumentDetailsForm(
        formdata=None,
        data={
            "title": meta.title,
            "category": document.category,
            "doc_type": document.doc_type,
            "expiry_date": document.expiry_date,
        },
    )
    db = db_session()
    depositor = db.get(User, document.deposited_by_id) if document.deposited_by_id else None
    current = documents.current_version(db, document)
    return render_template(
        "documents/show.html",
        document=document,
        meta=meta,
        form=form,
        category=CATEGORY_BY_CODE.get(document.category),
        type_label=TYPE_LABELS.get(document.doc_type, ""),
        versions=document.versions,
        depositor=depositor,
        categories=CATEGORIES,
        document_types=DOCUMENT_TYPES,
        # Known to have none: say so rather than ask the browser for an image.
        preview_possible=current.preview_failed_at is None and current.size <= PREVIEW_MAX_BYTES,
        pages=pages.pages_of(
            get_store(),
            current,
            documents.version_dek(get_keyring(), owner, current),
            vault_id=owner.vault_id,
            viewer=owner.user,
        ),
    )


@bp.get("/<uuid:document_id>/page/<int:number>")
@auth.role_required(Role.PERSON)
def page(document_id: uuid.UUID, number: int) -> Response | tuple[str, int]:
    owner = unlocked_vault()
    db = db_session()
    document = own_document(owner, document_id)
    version = documents.current_version(db, document)
    return pages.send_page(
        db,
        get_store(),
        version,
        documents.version_dek(get_keyring(), owner, version),
        recipient=Recipient(owner.vault_id, document.id, owner.user, "document.viewed"),
        number=number,
    )


@bp.get("/<uuid:document_id>/telecharger")
@auth.role_required(Role.PERSON)
def download(document_id: uuid.UUID) -> Response | tuple[str, int]:
    owner = unlocked_vault()
    db = db_session()
    document = own_document(owner, document_id)
    version = documents.current_version(db, document)
    meta = documents.document_meta(owner, document)
    journal.append(
        db,
        vault_id=owner.vault_id,
        action="document.downloaded",
        actor=owner.user,
        document_id=document.id,
    )
    return send_document(
        db,
        get_store(),
        version,
        documents.version_dek(get_keyring(), owner, version),
        title=meta.title,
        recipient=Recipient(owner.vault_id, document.id, owner.user),
    )


@bp.get("/<uuid:document_id>/apercu")
@auth.role_required(Role.PERSON)
def preview(document_id: uuid.UUID) -> Response | tuple[str, int]:
    owner = unlocked_vault()
    db = db_session()
    document = own_document(owner, document_id)
    version = documents.current_version(db, document)
    store, ring = get_store(), get_keyring()
    image = documents.stored_preview(store, ring, owner, version)
    if image is None:
        try:
            image = _render_preview(db, owner, version)
        except Damaged:
            # Like a download that fails its checks: nothing shown, journaled as failed.
            log.error("document %s not previewed: it fails its integrity check", document.id)
            recipient = Recipient(owner.vault_id, document.id, owner.user, "document.viewed")
            journal_failure(db, recipient, "integrity")
            return damaged_page()
        documents.save_preview(db, store, ring, owner, version, image)
    journal.append(
        db,
        vault_id=owner.vault_id,
        action="document.viewed",
        actor=owner.user,
        document_id=document.id,
    )
    db.commit()
    return send_preview(image, PREVIEW_MIME)


def _render_preview(db: Session, owner: Unlocked, version: DocumentVersion) -> bytes:
    """A new preview of `version`, or an answer without one, quickly.

    404: there is none and there will be none (remembered failure, too large);
    429: this person asked for too many renders; 503: no worker is free or the
    machine was too busy to finish in time. The page shows its French "no
    preview" text in each case; the serving thread waits at most the slot wait
    plus the render deadline (vault.documents.previews).

    Raises Damaged when the stored document fails its checks.
    """
    if version.preview_failed_at is not None:
        abort(404)
    if not _render_allowed(owner.user):
        abort(429)
    # The length from the store, as downloads take it: not the clear size column.
    plaintext = downloads.open_version(
        get_store(),
        version,
        documents.version_dek(get_keyring(), owner, version),
        vault_id=owner.vault_id,
        document_id=version.document_id,
    )
    with plaintext.reader:
        if plaintext.length > PREVIEW_MAX_BYTES:
            abort(404)
        content = downloads.read_whole(plaintext)
    try:
        return render_preview(content, version.mime)
    except PreviewError as e:
        log.info("no preview for document %s: %s", version.document_id, e)
        if not e.permanent:
            abort(503)
        documents.remember_preview_failed(db, version)
        db.commit()
        abort(404)
    finally:
        del content


def _render_allowed(user: User) -> bool:
    """Count one render against `user`'s budget; False once it is spent."""
    limiter: Limiter = current_app.extensions["vault.limiter"]
    return all(
        limiter.limiter.hit(item, "preview-render", str(user.id))
        for item in parse_many(PREVIEW_RATE)
    )
