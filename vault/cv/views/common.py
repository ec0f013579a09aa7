"""What both builders' pages share: the kiosk check, the step buttons, filing the PDF.

On a kiosk network (VAULT_KIOSK_NETWORKS) nothing may be saved to the
device: the PDF is filed in the vault and the page answers with the same
content as a page to print (the browser's print), never an attachment
(docs/architecture.md §5, D-135).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from vault.core.db import db_session
from vault.core.extensions import get_keyring, get_settings, get_store
from vault.core.kiosk import from_kiosk
from vault.cv import drafts
from vault.cv.content import Record
from vault.cv.making import file_into_vault
from vault.documents.intake import IntakeRefused, Limits
from vault.documents.opened import unlocked_vault
from vault.models import DraftKind

# The buttons of a step: go on, go back, or keep the draft and stop here.
NEXT, BACK, LEAVE, ADD = "next", "back", "leave", "add"


def action() -> str:
    return request.form.get("action", NEXT)[:20]


def removed_index() -> int | None:
    """The item a "Remove" button names ("remove-2"), if that is the button pressed."""
    name = action()
    if name.startswith("remove-") and name[7:].isdigit():
        return int(name[7:])
    return None


def limits() -> Limits:
    settings = get_settings()
    return Limits(settings.max_upload_bytes, settings.vault_quota_bytes)


def saved_and_left() -> BaseResponse:
    flash(_("Your draft is saved. You can come back to it at any time."), "success")
    return redirect(url_for("cv.index"))


REFUSED = {
    "quota": lambda: _("Your vault is full. Delete documents you no longer need, then try again."),
    "too_large": lambda: _("This PDF is too large for your vault."),
    "storage": lambda: _(
        "The vault is not answering right now. Nothing was saved. Please try again later."
    ),
}


def refusal_message(code: str) -> str:
    message = REFUSED.get(code)
    return str(message() if message else _("The PDF could not be made. Please try again."))


def file_pdf(
    kind: DraftKind,
    record: Record,
    pdf: bytes,
    *,
    doc_type: str,
    title: str,
    filename: str,
    print_template: str,
    print_context: dict[str, object],
) -> BaseResponse | str | tuple[str, int]:
    """File `pdf` in the vault (a new version of the last one), then show or print it."""
    owner = unlocked_vault()
    db = db_session()
    try:
        intake, document = file_into_vault(
            db,
            get_store(),
            get_keyring(),
            owner,
            limits(),
            pdf,
            doc_type=doc_type,
            title=title,
            filename=filename,
            previous=str(record.get("document_id", "")),
        )
        record["document_id"] = str(document.id)
        drafts.save(db, owner, kind, record)
    except IntakeRefused as refused:
        db.rollback()
        flash(refusal_message(refused.code), "error")
        endpoint = "cv.step" if kind == DraftKind.CV else "letter.step"
        return redirect(url_for(endpoint, slug="fin"))
    intake.commit()
    if from_kiosk():
        # Nothing saved to a kiosk: the same content as a page to print.
        page = render_template(print_template, document=document, **print_context)
        return page
    flash(_("Your PDF is saved in your vault, in “Work and CV”."), "success")
    return redirect(url_for("documents.show", document_id=document.id))
