"""The person's side of sharing: the blueprint, the counts on every page, shares with counsellors.

The "sharing" blueprint spans this module, person_requests.py (the
counsellors' requests) and person_links.py (external links); the package's
__init__ imports those two so that their routes are registered.

Every id in a URL or a form is looked up inside the signed-in person's own
vault: another person's share, request, link or document answers 404 and
nothing changes. The services flush; these views commit.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SelectChoice

from vault.accounts import auth
from vault.accounts.keys import Unlocked
from vault.core.catalog import CATEGORIES, CATEGORY_BY_CODE, TYPE_CATEGORY, TYPE_LABELS
from vault.core.db import db_session
from vault.core.errors import owned_or_404
from vault.core.extensions import get_keyring
from vault.core.forms import EmptyForm
from vault.documents import service as documents
from vault.documents.opened import own_document, unlocked_vault
from vault.models import (
    Document,
    DocumentRequest,
    Lifecycle,
    Role,
    Share,
    User,
)
from vault.sharing import links
from vault.sharing import service as sharing
from vault.sharing.forms import CategoryShareForm, ShareForm

log = logging.getLogger(__name__)

bp = Blueprint("sharing", __name__)


# --- helpers ------------------------------------------------------------------------------


def _own_share(owner: Unlocked, share_id: uuid.UUID) -> Share:
    share = owned_or_404(db_session(), Share, share_id, vault_id=owner.vault_id)
    return share


def _released(user: User) -> bool:
    return user.profile is not None and user.profile.lifecycle in (
        Lifecycle.RELEASED,
        Lifecycle.CLOSED,
    )


def users_by_id(ids: set[uuid.UUID]) -> dict[uuid.UUID, User]:
    """The accounts of `ids` (counsellors named on a page), in one query."""
    if not ids:
        return {}
    return {u.id: u for u in db_session().execute(select(User).where(User.id.in_(ids))).scalars()}


def _prepare(form: ShareForm, owner: Unlocked) -> list[User]:
    """Offer the person's counsellors (only they are valid choices)."""
    counsellors = sharing.counsellors_of(db_session(), owner.vault_id)
    form.set_counsellors(
        [SelectChoice(str(c.id), c.display_name) for c in counsellors],
        released=_released(owner.user),
    )
    return counsellors


def document_title(owner: Unlocked, document: Document) -> str:
    """The document's title, opened with the person's vault key."""
    return documents.document_meta(owner, document).title


# --- counts shown on every page of a person -----------------------------------------------


def _previous_sign_in(vault_id: uuid.UUID) -> datetime | None:
    """When the person signed in before this session (None: this is the first one)."""
    user = auth.signed_in_user()
    return user.previous_signin_at if user.id == vault_id else None


def _person_id() -> uuid.UUID | None:
    if not current_user.is_authenticated or current_user.role != Role.PERSON:
        return None
    return auth.signed_in_user().id


def _menu_counts() -> sharing.MenuCounts:
    # Both counts in one query, once per request (the menu and the page both
    # show them). Error pages render the menu too, sometimes after a failed
    # transaction: a count must never turn an error page into a second error.
    counts: sharing.MenuCounts | None = g.get("menu_counts")
    if counts is None:
        counts = sharing.MenuCounts(open_requests=0, new_deposits=0)
        person_id = _person_id()
        if person_id is not None:
            try:
                counts = sharing.menu_counts(db_session(), person_id, _previous_sign_in(person_id))
            except SQLAlchemyError:
                log.debug("menu counts unavailable on this page")
        g.menu_counts = counts
    return counts


def open_request_count() -> int:
    return _menu_counts().open_requests


def new_deposit_count() -> int:
    return _menu_counts().new_deposits


@dataclass(frozen=True)
class RequestOffer:
    request: DocumentRequest
    counsellor: str
    type_label: str


def requests_for(document: Document) -> list[RequestOffer]:
    """Open requests this document could answer (same category), for its page."""
    person_id = _person_id()
    if person_id is None or document.vault_id != person_id:
        return []
    db = db_session()
    offers = [
        r
        for r in sharing.open_requests(db, person_id)
        if TYPE_CATEGORY.get(r.doc_type) == document.category
    ]
    names = users_by_id({r.counsellor_id for r in offers})
    return [
        RequestOffer(
            r,
            names[r.counsellor_id].display_name if r.counsellor_id in names else "",
            str(TYPE_LABELS.get(r.doc_type, "")),
        )
        for r in offers
    ]


@bp.app_context_processor
def person_counts() -> dict[str, Any]:
    # Callables: nothing is queried unless a template asks.
    return {
        "open_request_count": open_request_count,
        "new_deposit_count": new_deposit_count,
        "requests_for": requests_for,
    }


# --- shares -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShareRow:
    share: Share
    counsellor: str
    what: str
    icon: str
    document_id: uuid.UUID | None


@bp.get("/partages/")
@auth.role_required(Role.PERSON)
def shares() -> str:
    owner = unlocked_vault()
    db = db_session()
    active = sharing.active_shares(db, owner.user)
    names = users_by_id({s.counsellor_id for s in active})
    rows = []
    for share in active:
        name = names[share.counsellor_id].display_name if share.counsellor_id in names else ""
        if share.document_id is not None:
            document = db.get(Document, share.document_id)
            if document is None:
                continue
            category = CATEGORY_BY_CODE.get(document.category)
            rows.append(
                ShareRow(
                    share,
                    name,
                    document_title(owner, document),
                    category.icon if category else "other",
                    document.id,
                )
            )
        else:
            category = CATEGORY_BY_CODE.get(share.category or "")
            label = str(category.label) if category else share.category or ""
            rows.append(
                ShareRow(
                    share,
                    name,
                    _("Category: %(category)s", category=label),
                    category.icon if category else "other",
                    None,
                )
            )
    return render_template(
        "sharing/index.html",
        rows=rows,
        counsellors=sharing.counsellors_of(db, owner.vault_id),
        link_count=len(links.links_of(db, owner.vault_id)),
    )


def _render_share_document(
    owner: Unlocked, document: Document, form: ShareForm, counsellors: list[User]
) -> str:
    db = db_session()
    names = {c.id: c.display_name for c in counsellors}
    current = [
        (names.get(s.counsellor_id, ""), s)
        for s in sharing.active_shares(db, owner.user)
        if s.document_id == document.id
    ]
    return render_template(
        "sharing/share_document.html",
        document=document,
        title=document_title(owner, document),
        form=form,
        counsellors=counsellors,
        current=current,
    )


@bp.get("/partages/document/<uuid:document_id>")
@auth.role_required(Role.PERSON)
def share_document_form(document_id: uuid.UUID) -> str:
    owner = unlocked_vault()
    document = own_document(owner, document_id)
    form = ShareForm()
    counsellors = _prepare(form, owner)
    return _render_share_document(owner, document, form, counsellors)


@bp.post("/partages/document/<uuid:document_id>")
@auth.role_required(Role.PERSON)
def share_document(document_id: uuid.UUID) -> BaseResponse | tuple[str, int]:
    owner = unlocked_vault()
    document = own_document(owner, document_id)
    form = ShareForm()
    counsellors = _prepare(form, owner)
    if not form.validate_on_submit():
        return _render_share_document(owner, document, form, counsellors), 400
    days, until_release = form.days()
    db = db_session()
    # NotFound (the assignment ended between the page and the click) is the
    # core handler's 404.
    sharing.share_document(
        db,
        get_keyring(),
        owner,
        document,
        uuid.UUID(form.counsellor.data),
        days=days,
        until_release=until_release,
    )
    db.commit()
    flash(_("The document is shared. You can stop sharing at any time."), "success")
    return redirect(url_for("documents.show", document_id=document.id))


def _render_share_category(form: CategoryShareForm, counsellors: list[User]) -> str:
    return render_template(
        "sharing/share_category.html",
        form=form,
        counsellors=counsellors,
        categories=CATEGORIES,
    )


@bp.get("/partages/categorie")
@auth.role_required(Role.PERSON)
def share_category_form() -> str:
    owner = unlocked_vault()
    form = CategoryShareForm()
    if not form.category.data and request.args.get("categorie") in CATEGORY_BY_CODE:
        form.category.data = request.args["categorie"]
    return _render_share_category(form, _prepare(form, owner))


@bp.post("/partages/categorie")
@auth.role_required(Role.PERSON)
def share_category() -> BaseResponse | tuple[str, int]:
    owner = unlocked_vault()
    form = CategoryShareForm()
    counsellors = _prepare(form, owner)
    if not form.validate_on_submit():
        return _render_share_category(form, counsellors), 400
    days, until_release = form.days()
    db = db_session()
    sharing.share_category(
        db,
        get_keyring(),
        owner,
        form.category.data,
        uuid.UUID(form.counsellor.data),
        days=days,
        until_release=until_release,
    )
    db.commit()
    flash(
        _("The category is shared, with the documents you add to it later."),
        "success",
    )
    return redirect(url_for("sharing.shares"))


def _share_label(owner: Unlocked, share: Share) -> str:
    if share.document_id is not None:
        document = db_session().get(Document, share.document_id)
        return f"« {document_title(owner, document)} »" if document else ""
    category = CATEGORY_BY_CODE.get(share.category or "")
    return str(_("the category %(category)s", category=category.label if category else ""))


@bp.get("/partages/<uuid:share_id>/retirer")
@auth.role_required(Role.PERSON)
def revoke_confirm(share_id: uuid.UUID) -> str | BaseResponse:
    owner = unlocked_vault()
    share = _own_share(owner, share_id)
    if not sharing.share_is_active(share, owner.user):
        flash(_("This share has already ended."), "info")
        return redirect(url_for("sharing.shares"))
    counsellor = db_session().get(User, share.counsellor_id)
    return render_template(
        "sharing/revoke.html",
        share=share,
        what=_share_label(owner, share),
        counsellor=counsellor.display_name if counsellor else "",
        form=EmptyForm(),
    )


@bp.post("/partages/<uuid:share_id>/retirer")
@auth.role_required(Role.PERSON)
def revoke(share_id: uuid.UUID) -> BaseResponse:
    owner = unlocked_vault()
    share = _own_share(owner, share_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    db = db_session()
    sharing.revoke(db, owner, share.id)
    db.commit()
    if share.category:
        flash(
            _("Sharing is stopped. Your counsellor can no longer open these documents."), "success"
        )
    else:
        flash(_("Sharing is stopped. Your counsellor can no longer open it."), "success")
    return redirect(url_for("sharing.shares"))
