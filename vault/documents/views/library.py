"""The person's library: list and search, add, rename, replace, delete.

Uploads are read with `StreamingUpload` and encrypted while they arrive, so
their POST views are exempt from CSRFProtect's automatic check (which would
parse, and spool, the body) and check the token from the streamed fields.

A document's own page, its download and its preview are on the same
blueprint, in reading.py.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import date
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

import storage
from vault.accounts import auth
from vault.core import catalog
from vault.core.catalog import CATEGORIES, CATEGORY_BY_CODE, DOCUMENT_TYPES, TYPE_LABELS, is_valid
from vault.core.db import db_session
from vault.core.errors import NotFound, QuotaExceeded
from vault.core.extensions import get_keyring, get_settings, get_store
from vault.core.forms import DocumentDetailsForm, EmptyForm
from vault.core.http import StreamingUpload, UploadError, check_csrf
from vault.documents import service as documents
from vault.documents.service import Unlocked
from vault.documents.uploads import (
    ALLOWED_TYPES,
    clean_filename,
    clean_title,
    peek,
    sniff_type,
    title_from_filename,
)
from vault.documents.uploads import SNIFF_BYTES as SNIFF_BYTES  # re-exported for the deposit view
from vault.models import Document, Role

log = logging.getLogger(__name__)

bp = Blueprint("documents", __name__, url_prefix="/documents")

# Twenty per page: short lists are easier to read on a kiosk or a phone, and the
# first page, the one every visit shows, stays quick to render.
PAGE_SIZE = 20
# Beyond any vault (two million documents), and a SQL offset that fits.
MAX_PAGE = 100_000
ACCEPT = ",".join([*ALLOWED_TYPES, *ALLOWED_TYPES.values()])


def _document(owner: Unlocked, document_id: uuid.UUID) -> Document:
    try:
        return documents.get_document(db_session(), owner.vault_id, document_id)
    except NotFound:
        abort(404)


@bp.get("/")
@auth.role_required(Role.PERSON)
def index() -> str | BaseResponse:
    owner = auth.unlocked_vault()
    query = request.args.get("q", "")[:200]
    category = request.args.get("categorie", "")
    if category not in CATEGORY_BY_CODE:
        category = ""
    try:
        page = min(max(1, int(request.args.get("page", "1"))), MAX_PAGE)
    except ValueError:
        page = 1
    db = db_session()
    items, total = documents.list_documents(
        db,
        owner,
        query=query,
        category=category or None,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )
    if query:
        db.commit()  # a title index rebuilt by the search is kept for the next one
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    base = url_for("documents.index")

    def list_url(**args: str | int | None) -> str:
        # The page's dozen links to itself from one url_for (each costs a
        # routing pass); empty arguments are left out as url_for would.
        given = {k: v for k, v in args.items() if v}
        return base + ("?" + urlencode(given) if given else "")

    if page > pages:
        # A link kept from before documents were deleted: the last page, not
        # an empty list that would say the vault is empty.
        return redirect(list_url(q=query, categorie=category, page=pages if pages > 1 else None))
    labels = catalog.labels()

    return render_template(
        "documents/index.html",
        items=items,
        total=total,
        page=page,
        pages=pages,
        query=query,
        category=category,
        categories=labels.categories,
        category_by_code=CATEGORY_BY_CODE,
        type_labels=labels.types,
        list_url=list_url,
    )


def _details_form() -> DocumentDetailsForm:
    form = DocumentDetailsForm()
    if not form.category.data:
        form.category.data = request.args.get("categorie", "identity")
    return form


@bp.get("/ajouter")
@auth.role_required(Role.PERSON)
def add_form() -> str:
    return _render_add(_details_form())


def _render_add(form: DocumentDetailsForm, errors: list[str] | None = None) -> str:
    owner = auth.unlocked_vault()
    return render_template(
        "documents/add.html",
        used=documents.quota_used(db_session(), owner.vault_id),
        quota=get_settings().vault_quota_bytes,
        form=form,
        errors=errors or [],
        accept=ACCEPT,
        max_mb=get_settings().max_upload_bytes // (1024 * 1024),
        categories=CATEGORIES,
        document_types=DOCUMENT_TYPES,
    )


UPLOAD_MESSAGES = {
    "malformed": lambda: _("The file did not arrive completely. Please try again."),
    "missing_file": lambda: _("Choose a file to add."),
    "empty": lambda: _("This file is empty."),
    "too_large": lambda: (
        _("This file is too large. The limit is %(mb)d MB.")
        % {"mb": get_settings().max_upload_bytes // (1024 * 1024)}
    ),
    "quota": lambda: _("Your vault is full. Delete documents you no longer need, then try again."),
    "too_many_files": lambda: _("Add one file at a time."),
    "field_too_large": lambda: _("A field is too long."),
    "too_many_fields": lambda: _("The form is not valid. Please reload the page."),
    "bad_type": lambda: _(
        "This kind of file is not accepted. Send a PDF, a JPEG photo or a PNG image."
    ),
    "bad_details": lambda: _("Check the category and the type of document."),
    "csrf": lambda: _("This page has expired. Reload it and try again."),
    "storage": lambda: _(
        "The vault is not answering right now. Nothing was saved. Please try again later."
    ),
}


class UploadRefused(Exception):
    """An upload or deposit refused: the message's code and the HTTP status."""

    def __init__(self, code: str, status: int = 400) -> None:
        super().__init__(code)
        self.code, self.status = code, status

    @classmethod
    def from_error(cls, e: UploadError, quota_binds: bool) -> UploadRefused:
        """The refusal for a stream that failed; too large is the quota when that binds."""
        if e.code == "too_large":
            return cls("quota" if quota_binds else "too_large", 413)
        return cls(e.code)


def upload_room(db: Session, vault_id: uuid.UUID) -> tuple[int, bool]:
    """Bytes an upload to the vault may take, and whether its quota (not the size limit) binds."""
    settings = get_settings()
    room = settings.vault_quota_bytes - documents.quota_used(db, vault_id)
    if room < settings.max_upload_bytes:
        return max(room, 0), True
    return settings.max_upload_bytes, False


def _open_upload(owner: Unlocked) -> tuple[StreamingUpload, str, str, Iterator[bytes], bool]:
    """Read the fields, check the token and the file's real type; nothing stored yet."""
    limit, quota_binds = upload_room(db_session(), owner.vault_id)
    if limit == 0:
        raise UploadRefused("quota", 413)
    try:
        upload = StreamingUpload.from_request(request, max_file_bytes=limit)
        try:
            check_csrf(upload)
        except CSRFError:
            raise UploadRefused("csrf") from None
        file = upload.require_file()
        head, chunks = peek(file.chunks(), SNIFF_BYTES)
    except UploadError as e:
        raise UploadRefused.from_error(e, quota_binds) from None
    mime = sniff_type(head)
    if mime is None:
        raise UploadRefused("bad_type", 415)
    return upload, mime, clean_filename(file.filename), chunks, quota_binds


@bp.post("/ajouter")
@auth.role_required(Role.PERSON)
def upload() -> str | BaseResponse | tuple[str, int]:
    owner = auth.unlocked_vault()
    db = db_session()
    form = DocumentDetailsForm(meta={"csrf": False}, formdata=None)
    try:
        upload, mime, filename, chunks, quota_binds = _open_upload(owner)
        form.process(data=upload_details(upload.fields))
        category, doc_type = form.category.data or "", form.doc_type.data or ""
        if not form.validate() or not is_valid(category, doc_type):
            raise UploadRefused("bad_details")
        title = clean_title(form.title.data or "") or title_from_filename(filename)
        try:
            document = documents.add_document(
                db,
                get_store(),
                get_keyring(),
                owner,
                chunks,
                mime=mime,
                title=title or str(TYPE_LABELS[doc_type]),
                filename=filename,
                category=category,
                doc_type=doc_type,
                expiry_date=form.expiry_date.data,
                actor=owner.user,
                quota=get_settings().vault_quota_bytes,
            )
            upload.finish()
        except UploadError as e:
            raise UploadRefused.from_error(e, quota_binds) from None
        except storage.StorageError:
            log.warning("upload failed: blob store unavailable (vault %s)", owner.vault_id)
            raise UploadRefused("storage", 503) from None
        except QuotaExceeded as e:
            # Another upload filled the vault while this one streamed.
            db.rollback()
            documents.delete_blobs(get_store(), e.blobs)
            raise UploadRefused("quota", 413) from None
    except UploadRefused as refused:
        db.rollback()
        return _render_add(form, [UPLOAD_MESSAGES[refused.code]()]), refused.status
    db.commit()
    flash(_("Your document is saved in your vault."), "success")
    return after_upload(url_for("documents.show", document_id=document.id))


def after_upload(location: str) -> BaseResponse:
    """Where to go after an upload: a redirect, or for upload.js a 204 naming the page.

    XHR follows redirects itself, which would spend the flashed confirmation
    on a page the person never sees.
    """
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return Response(status=204, headers={"X-Vault-Location": location})
    return redirect(location)


def upload_details(fields: dict[str, str]) -> dict[str, object]:
    """The details typed with an upload or deposit, for DocumentDetailsForm."""
    expiry: date | None = None
    raw = fields.get("expiry_date", "").strip()
    if raw:
        try:
            expiry = date.fromisoformat(raw)
        except ValueError:
            raise UploadRefused("bad_details") from None
    return {
        "title": fields.get("title", "")[:200],
        "category": fields.get("category", ""),
        "doc_type": fields.get("doc_type", ""),
        "expiry_date": expiry,
    }


@bp.post("/<uuid:document_id>/modifier")
@auth.role_required(Role.PERSON)
def update(document_id: uuid.UUID) -> BaseResponse | tuple[str, int]:
    owner = auth.unlocked_vault()
    document = _document(owner, document_id)
    form = DocumentDetailsForm()
    category, doc_type = form.category.data or "", form.doc_type.data or ""
    if not form.validate_on_submit() or not is_valid(category, doc_type):
        flash(_("Check the category and the type of document."), "error")
        return redirect(url_for("documents.show", document_id=document.id))
    meta = documents.document_meta(owner, document)
    title = " ".join((form.title.data or "").split()) or meta.title
    db = db_session()
    documents.update_document(
        db,
        get_keyring(),
        owner,
        document,
        title=clean_title(title) or meta.title,
        category=category,
        doc_type=doc_type,
        expiry_date=form.expiry_date.data,
    )
    db.commit()
    flash(_("The document is updated."), "success")
    return redirect(url_for("documents.show", document_id=document.id))


@bp.get("/<uuid:document_id>/remplacer")
@auth.role_required(Role.PERSON)
def replace_form(document_id: uuid.UUID) -> str:
    owner = auth.unlocked_vault()
    document = _document(owner, document_id)
    return _render_replace(owner, document)


def _render_replace(owner: Unlocked, document: Document, errors: list[str] | None = None) -> str:
    return render_template(
        "documents/replace.html",
        document=document,
        meta=documents.document_meta(owner, document),
        errors=errors or [],
        accept=ACCEPT,
        max_mb=get_settings().max_upload_bytes // (1024 * 1024),
    )


@bp.post("/<uuid:document_id>/remplacer")
@auth.role_required(Role.PERSON)
def replace(document_id: uuid.UUID) -> BaseResponse | tuple[str, int]:
    owner = auth.unlocked_vault()
    db = db_session()
    document = _document(owner, document_id)
    try:
        upload, mime, filename, chunks, quota_binds = _open_upload(owner)
        try:
            documents.replace_document(
                db,
                get_store(),
                get_keyring(),
                owner,
                document,
                chunks,
                mime=mime,
                filename=filename,
                actor=owner.user,
                quota=get_settings().vault_quota_bytes,
            )
            upload.finish()
        except UploadError as e:
            raise UploadRefused.from_error(e, quota_binds) from None
        except storage.StorageError:
            log.warning("replace failed: blob store unavailable (vault %s)", owner.vault_id)
            raise UploadRefused("storage", 503) from None
        except QuotaExceeded as e:
            db.rollback()
            documents.delete_blobs(get_store(), e.blobs)
            raise UploadRefused("quota", 413) from None
    except UploadRefused as refused:
        db.rollback()
        document = _document(owner, document_id)
        return _render_replace(owner, document, [UPLOAD_MESSAGES[refused.code]()]), refused.status
    db.commit()
    flash(_("The new version is saved. The previous one is kept."), "success")
    return after_upload(url_for("documents.show", document_id=document.id))


@bp.get("/<uuid:document_id>/supprimer")
@auth.role_required(Role.PERSON)
def delete_confirm(document_id: uuid.UUID) -> str:
    owner = auth.unlocked_vault()
    document = _document(owner, document_id)
    return render_template(
        "documents/delete.html",
        document=document,
        meta=documents.document_meta(owner, document),
        form=EmptyForm(),
    )


@bp.post("/<uuid:document_id>/supprimer")
@auth.role_required(Role.PERSON)
def delete(document_id: uuid.UUID) -> BaseResponse:
    owner = auth.unlocked_vault()
    document = _document(owner, document_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    db = db_session()
    blobs = documents.delete_document(db, owner, document)
    db.commit()
    documents.delete_blobs(get_store(), blobs)
    flash(_("The document is deleted. Nobody can open it any more."), "success")
    return redirect(url_for("documents.index"))
