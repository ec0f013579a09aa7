"""The person's library: list and search, add, rename, replace, delete.

Uploads go through the one intake (vault.documents.intake), which reads them
with `StreamingUpload` and encrypts them while they arrive, so their POST views
are exempt from CSRFProtect's automatic check (which would parse, and spool,
the body); the intake runs the same check on the streamed fields.

A document's own page, its download and its preview are on the same
blueprint, in reading.py.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
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
from flask_babel import to_user_timezone
from werkzeug.wrappers import Response as BaseResponse

from vault.accounts import auth
from vault.accounts.keys import Unlocked
from vault.core import catalog
from vault.core.catalog import (
    CATEGORIES,
    CATEGORY_BY_CODE,
    DOCUMENT_TYPES,
    OTHER_TYPE,
    is_valid,
    type_within,
)
from vault.core.db import db_session
from vault.core.extensions import get_keyring, get_settings, get_store
from vault.core.forms import DocumentDetailsForm, EmptyForm
from vault.documents import service as documents
from vault.documents.intake import Intake, IntakeRefused, Limits
from vault.documents.opened import own_document, unlocked_vault
from vault.documents.photos import MAX_PHOTOS
from vault.documents.uploads import ALLOWED_TYPES, clean_title
from vault.lifecycle import reminders
from vault.models import Document, Role
from vault.models.base import utcnow

log = logging.getLogger(__name__)

bp = Blueprint("documents", __name__, url_prefix="/documents")

# Twenty per page: short lists are easier to read on a kiosk or a phone, and the
# first page, the one every visit shows, stays quick to render.
PAGE_SIZE = 20
# Beyond any vault (two million documents), and a SQL offset that fits.
MAX_PAGE = 100_000
ACCEPT = ",".join([*ALLOWED_TYPES, *ALLOWED_TYPES.values()])


@bp.get("/")
@auth.role_required(Role.PERSON)
def index() -> str | BaseResponse:
    owner = unlocked_vault()
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
    # The reminders belong to the first screen, not to a search or a filtered page.
    first_screen = page == 1 and not query and not category
    # The interface's day (Europe/Paris), as the release pages count expiry.
    day = to_user_timezone(utcnow()).date()

    return render_template(
        "documents/index.html",
        reminders=reminders.first_screen(
            reminders.for_person(db, owner.vault_id, today=day) if first_screen else []
        ),
        Kind=reminders.Kind,
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
    """The add form's details: `?type=` (answering a request) sets the type and its
    category; `?categorie=` the category; its "other" type is the default (D-080)."""
    form = DocumentDetailsForm()
    form.category.data, form.doc_type.data = catalog.preselected(
        request.args.get("type", ""), request.args.get("categorie", "")
    )
    return form


@bp.get("/ajouter")
@auth.role_required(Role.PERSON)
def add_form() -> str:
    return _render_add(_details_form())


def _render_add(form: DocumentDetailsForm, refused: IntakeRefused | None = None) -> str:
    owner = unlocked_vault()
    return render_template(
        "documents/add.html",
        used=documents.quota_used(db_session(), owner.vault_id),
        quota=get_settings().vault_quota_bytes,
        form=form,
        errors=refusal_errors(refused, form),
        accept=ACCEPT,
        max_mb=get_settings().max_upload_bytes // (1024 * 1024),
        max_photos=MAX_PHOTOS,
        categories=CATEGORIES,
        document_types=DOCUMENT_TYPES,
        other_types=OTHER_TYPE,
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
    "bad_date": lambda: _("This date is not possible."),
    "bad_photo": lambda: _(
        "A photo could not be read. Take it again, or send a JPEG or PNG image."
    ),
    "photos_and_file": lambda: _("Send either photos or a file, not both."),
    "busy": lambda: _("The vault is very busy. Nothing was saved. Please try again in a minute."),
    "csrf": lambda: _("This page has expired. Reload it and try again."),
    "storage": lambda: _(
        "The vault is not answering right now. Nothing was saved. Please try again later."
    ),
}


# The person's pages offer photos as well as a file.
PHOTO_PAGE_MESSAGES = {
    "missing_file": lambda: _("Take a photo or choose a file."),
    "too_many_files": lambda: _("%(n)d photos at most for one document.") % {"n": MAX_PHOTOS},
}

# The field under which each refusal is shown (D-081); the others go in the summary only.
REFUSAL_FIELD = {
    "missing_file": "photos",
    "too_many_files": "photos",
    "photos_and_file": "photos",
    "bad_photo": "photos",
    "empty": "file",
    "too_large": "file",
    "bad_type": "file",
    "bad_date": "expiry_date",
}


@dataclass(frozen=True)
class FieldErrors:
    """The errors of an upload form: (field id or "", message) in page order, and by field."""

    items: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.items)

    def of(self, field: str) -> list[str]:
        return [message for name, message in self.items if name == field]


def refusal_errors(
    refused: IntakeRefused | None, form: DocumentDetailsForm | None = None
) -> FieldErrors:
    """What to show for a refused upload, each message next to its field."""
    if refused is None:
        return FieldErrors()
    if refused.code == "bad_details" and form is not None:
        items = tuple(
            (name, str(message))
            for name in ("category", "doc_type", "expiry_date")
            for message in form.errors.get(name, ())
        )
        if items:
            return FieldErrors(items)
    field = REFUSAL_FIELD.get(refused.code, "category" if refused.code == "bad_details" else "")
    message = (UPLOAD_MESSAGES | PHOTO_PAGE_MESSAGES)[refused.code]()
    return FieldErrors(((field, message),))


def upload_limits() -> Limits:
    """The sizes every upload path enforces, from the settings."""
    settings = get_settings()
    return Limits(settings.max_upload_bytes, settings.vault_quota_bytes)


@bp.post("/ajouter")
@auth.role_required(Role.PERSON)
def upload() -> str | BaseResponse | tuple[str, int]:
    owner = unlocked_vault()
    db = db_session()
    form = DocumentDetailsForm(meta={"csrf": False}, formdata=None)
    try:
        intake = Intake.open(
            request, db, get_store(), get_keyring(), owner.vault_id, upload_limits()
        )
        intake.read_details(form)
        intake.receive_file()
        document = intake.add(owner)
    except IntakeRefused as refused:
        db.rollback()
        return _render_add(form, refused), refused.status
    intake.commit()
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


@bp.post("/<uuid:document_id>/modifier")
@auth.role_required(Role.PERSON)
def update(document_id: uuid.UUID) -> BaseResponse | tuple[str, int]:
    owner = unlocked_vault()
    document = own_document(owner, document_id)
    form = DocumentDetailsForm()
    category = form.category.data or ""
    doc_type = form.doc_type.data = type_within(category, form.doc_type.data or "")
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
    owner = unlocked_vault()
    document = own_document(owner, document_id)
    return _render_replace(owner, document)


def _render_replace(
    owner: Unlocked, document: Document, refused: IntakeRefused | None = None
) -> str:
    return render_template(
        "documents/replace.html",
        document=document,
        meta=documents.document_meta(owner, document),
        errors=refusal_errors(refused),
        accept=ACCEPT,
        max_mb=get_settings().max_upload_bytes // (1024 * 1024),
        max_photos=MAX_PHOTOS,
    )


@bp.post("/<uuid:document_id>/remplacer")
@auth.role_required(Role.PERSON)
def replace(document_id: uuid.UUID) -> BaseResponse | tuple[str, int]:
    owner = unlocked_vault()
    db = db_session()
    document = own_document(owner, document_id)
    try:
        intake = Intake.open(
            request, db, get_store(), get_keyring(), owner.vault_id, upload_limits()
        )
        intake.receive_file()
        intake.replace(owner, document)
    except IntakeRefused as refused:
        db.rollback()
        document = own_document(owner, document_id)
        return _render_replace(owner, document, refused), refused.status
    intake.commit()
    flash(_("The new version is saved. The previous one is kept."), "success")
    return after_upload(url_for("documents.show", document_id=document.id))


@bp.get("/<uuid:document_id>/supprimer")
@auth.role_required(Role.PERSON)
def delete_confirm(document_id: uuid.UUID) -> str:
    owner = unlocked_vault()
    document = own_document(owner, document_id)
    return render_template(
        "documents/delete.html",
        document=document,
        meta=documents.document_meta(owner, document),
        form=EmptyForm(),
    )


@bp.post("/<uuid:document_id>/supprimer")
@auth.role_required(Role.PERSON)
def delete(document_id: uuid.UUID) -> BaseResponse:
    owner = unlocked_vault()
    document = own_document(owner, document_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    db = db_session()
    blobs = documents.delete_document(db, owner, document)
    db.commit()
    documents.delete_blobs(get_store(), blobs)
    flash(_("The document is deleted. Nobody can open it any more."), "success")
    return redirect(url_for("documents.index"))
