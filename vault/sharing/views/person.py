"""The person's side of sharing: shares with counsellors, their requests, external links.

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

from vault.accounts import auth, sessions
from vault.core.catalog import CATEGORIES, CATEGORY_BY_CODE, TYPE_CATEGORY, TYPE_LABELS
from vault.core.db import db_session
from vault.core.errors import NotFound, PolicyError
from vault.core.extensions import get_keyring
from vault.core.forms import EmptyForm
from vault.documents import service as documents
from vault.documents.service import Listed, Unlocked
from vault.journal.text import recipient_phrase
from vault.models import (
    Document,
    DocumentRequest,
    ExternalLink,
    Lifecycle,
    Role,
    Share,
    User,
)
from vault.sharing import links
from vault.sharing import service as sharing
from vault.sharing.forms import AnswerForm, CategoryShareForm, LinkForm, ShareForm

log = logging.getLogger(__name__)

bp = Blueprint("sharing", __name__)

# The category whose documents may reveal the offence (warning before any link).
SENSITIVE_CATEGORY = "justice"
ANSWERED_SHOWN = 20
PENDING_LINK = "new_link"


# --- helpers ------------------------------------------------------------------------------


def _document(owner: Unlocked, document_id: uuid.UUID) -> Document:
    try:
        return documents.get_document(db_session(), owner.vault_id, document_id)
    except NotFound:
        abort(404)


def _own_share(owner: Unlocked, share_id: uuid.UUID) -> Share:
    share = db_session().get(Share, share_id)
    if share is None or share.vault_id != owner.vault_id:
        abort(404)
    return share


def _own_request(owner: Unlocked, request_id: uuid.UUID) -> DocumentRequest:
    found = db_session().get(DocumentRequest, request_id)
    if found is None or found.vault_id != owner.vault_id:
        abort(404)
    return found


def _own_link(owner: Unlocked, link_id: uuid.UUID) -> ExternalLink:
    link = db_session().get(ExternalLink, link_id)
    if link is None or link.vault_id != owner.vault_id:
        abort(404)
    return link


def _released(user: User) -> bool:
    return user.profile is not None and user.profile.lifecycle in (
        Lifecycle.RELEASED,
        Lifecycle.CLOSED,
    )


def _users(ids: set[uuid.UUID]) -> dict[uuid.UUID, User]:
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


def _title(owner: Unlocked, document: Document) -> str:
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
    names = _users({r.counsellor_id for r in offers})
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
    owner = auth.unlocked_vault()
    db = db_session()
    active = sharing.active_shares(db, owner.user)
    names = _users({s.counsellor_id for s in active})
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
                    _title(owner, document),
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
        title=_title(owner, document),
        form=form,
        counsellors=counsellors,
        current=current,
    )


@bp.get("/partages/document/<uuid:document_id>")
@auth.role_required(Role.PERSON)
def share_document_form(document_id: uuid.UUID) -> str:
    owner = auth.unlocked_vault()
    document = _document(owner, document_id)
    form = ShareForm()
    counsellors = _prepare(form, owner)
    return _render_share_document(owner, document, form, counsellors)


@bp.post("/partages/document/<uuid:document_id>")
@auth.role_required(Role.PERSON)
def share_document(document_id: uuid.UUID) -> BaseResponse | tuple[str, int]:
    owner = auth.unlocked_vault()
    document = _document(owner, document_id)
    form = ShareForm()
    counsellors = _prepare(form, owner)
    if not form.validate_on_submit():
        return _render_share_document(owner, document, form, counsellors), 400
    days, until_release = form.days()
    db = db_session()
    try:
        sharing.share_document(
            db,
            get_keyring(),
            owner,
            document,
            uuid.UUID(form.counsellor.data),
            days=days,
            until_release=until_release,
        )
    except NotFound:
        # The assignment ended between the page and the click.
        abort(404)
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
    owner = auth.unlocked_vault()
    form = CategoryShareForm()
    if not form.category.data and request.args.get("categorie") in CATEGORY_BY_CODE:
        form.category.data = request.args["categorie"]
    return _render_share_category(form, _prepare(form, owner))


@bp.post("/partages/categorie")
@auth.role_required(Role.PERSON)
def share_category() -> BaseResponse | tuple[str, int]:
    owner = auth.unlocked_vault()
    form = CategoryShareForm()
    counsellors = _prepare(form, owner)
    if not form.validate_on_submit():
        return _render_share_category(form, counsellors), 400
    days, until_release = form.days()
    db = db_session()
    try:
        sharing.share_category(
            db,
            get_keyring(),
            owner,
            form.category.data,
            uuid.UUID(form.counsellor.data),
            days=days,
            until_release=until_release,
        )
    except NotFound:
        abort(404)
    db.commit()
    flash(
        _("The category is shared, with the documents you add to it later."),
        "success",
    )
    return redirect(url_for("sharing.shares"))


def _share_label(owner: Unlocked, share: Share) -> str:
    if share.document_id is not None:
        document = db_session().get(Document, share.document_id)
        return f"« {_title(owner, document)} »" if document else ""
    category = CATEGORY_BY_CODE.get(share.category or "")
    return str(_("the category %(category)s", category=category.label if category else ""))


@bp.get("/partages/<uuid:share_id>/retirer")
@auth.role_required(Role.PERSON)
def revoke_confirm(share_id: uuid.UUID) -> str | BaseResponse:
    owner = auth.unlocked_vault()
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
    owner = auth.unlocked_vault()
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


# --- requests -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestRow:
    request: DocumentRequest
    counsellor: str
    type_label: str
    category: str
    document_title: str | None
    still_followed: bool
    # The counsellor's message, opened with the person's key ("" if none).
    message: str


def _request_rows(owner: Unlocked, found: list[DocumentRequest]) -> list[RequestRow]:
    db = db_session()
    names = _users({r.counsellor_id for r in found})
    messages = sharing.request_messages(found, owner.user, owner.key)
    followed = {c.id for c in sharing.counsellors_of(db, owner.vault_id)}
    rows = []
    for r in found:
        title = None
        if r.document_id is not None:
            document = db.get(Document, r.document_id)
            title = _title(owner, document) if document else None
        rows.append(
            RequestRow(
                r,
                names[r.counsellor_id].display_name if r.counsellor_id in names else "",
                str(TYPE_LABELS.get(r.doc_type, "")),
                TYPE_CATEGORY.get(r.doc_type, "other"),
                title,
                r.counsellor_id in followed,
                messages.get(r.id, ""),
            )
        )
    return rows


@bp.get("/demandes/")
@auth.role_required(Role.PERSON)
def requests_index() -> str:
    owner = auth.unlocked_vault()
    db = db_session()
    answered = list(
        db.execute(
            select(DocumentRequest)
            .where(DocumentRequest.vault_id == owner.vault_id, DocumentRequest.status != "open")
            .order_by(DocumentRequest.answered_at.desc())
            .limit(ANSWERED_SHOWN)
        ).scalars()
    )
    return render_template(
        "sharing/requests.html",
        open_rows=_request_rows(owner, sharing.open_requests(db, owner.vault_id)),
        answered_rows=_request_rows(owner, answered),
    )


def _choices(owner: Unlocked, wanted: DocumentRequest) -> list[Listed]:
    """The person's documents, those of the asked type first, then its category."""
    items, _total = documents.list_documents(db_session(), owner, limit=500)
    category = TYPE_CATEGORY.get(wanted.doc_type)

    def rank(item: Listed) -> int:
        if item.doc_type == wanted.doc_type:
            return 0
        return 1 if item.category == category else 2

    return sorted(items, key=rank)


def _render_answer(owner: Unlocked, found: DocumentRequest, form: AnswerForm) -> str:
    (row,) = _request_rows(owner, [found])
    return render_template(
        "sharing/answer.html",
        row=row,
        form=form,
        items=_choices(owner, found),
        category_by_code=CATEGORY_BY_CODE,
        type_labels=TYPE_LABELS,
    )


@bp.get("/demandes/<uuid:request_id>")
@auth.role_required(Role.PERSON)
def answer_form(request_id: uuid.UUID) -> str | BaseResponse:
    owner = auth.unlocked_vault()
    found = _own_request(owner, request_id)
    if found.status != "open":
        flash(_("This request is already answered."), "info")
        return redirect(url_for("sharing.requests_index"))
    return _render_answer(owner, found, AnswerForm())


@bp.post("/demandes/<uuid:request_id>")
@auth.role_required(Role.PERSON)
def answer(request_id: uuid.UUID) -> BaseResponse | tuple[str, int]:
    owner = auth.unlocked_vault()
    found = _own_request(owner, request_id)
    form = AnswerForm()
    if found.status != "open":
        flash(_("This request is already answered."), "info")
        return redirect(url_for("sharing.requests_index"))
    if not form.validate_on_submit():
        return _render_answer(owner, found, form), 400
    try:
        document_id = uuid.UUID(form.document.data)
    except ValueError:
        abort(404)
    document = _document(owner, document_id)
    db = db_session()
    if sharing.active_assignment(db, owner.vault_id, found.counsellor_id) is None:
        flash(_("This counsellor no longer follows you. Nothing was shared."), "error")
        return redirect(url_for("sharing.requests_index"))
    sharing.answer_request(db, get_keyring(), owner, found.id, document)
    db.commit()
    flash(_("Your counsellor can now open this document."), "success")
    return redirect(url_for("sharing.requests_index"))


# --- external links -----------------------------------------------------------------------


def link_state_label(state: str) -> str:
    labels = {
        "active": _("Works"),
        "pending": _("Waits for your counsellor's approval"),
        "refused": _("Refused by your counsellor"),
        "revoked": _("Stopped"),
        "blocked": _("Stopped after too many wrong codes: make a new link if needed"),
        "retired": _("Stopped by a security update: make a new link if needed"),
        "expired": _("Expired"),
        "used_up": _("All downloads used"),
    }
    return str(labels.get(state, state))


@dataclass(frozen=True)
class LinkRow:
    link: ExternalLink
    title: str
    recipient: str
    state: str
    state_label: str


@bp.get("/liens/")
@auth.role_required(Role.PERSON)
def links_index() -> str:
    owner = auth.unlocked_vault()
    db = db_session()
    rows = []
    for link in links.links_of(db, owner.vault_id):
        document = db.get(Document, link.document_id)
        state = links.state(link)
        rows.append(
            LinkRow(
                link,
                _title(owner, document) if document else "",
                recipient_phrase(link.recipient),
                state,
                link_state_label(state),
            )
        )
    return render_template("links/index.html", rows=rows)


def _render_link_form(owner: Unlocked, document: Document, form: LinkForm, policy: str) -> str:
    return render_template(
        "links/new.html",
        document=document,
        title=_title(owner, document),
        form=form,
        policy=policy,
        sensitive=document.category == SENSITIVE_CATEGORY,
    )


@bp.get("/liens/nouveau/<uuid:document_id>")
@auth.role_required(Role.PERSON)
def link_form(document_id: uuid.UUID) -> str:
    owner = auth.unlocked_vault()
    document = _document(owner, document_id)
    policy = links.policy_for(db_session(), owner.user)
    return _render_link_form(owner, document, LinkForm(), policy)


@bp.post("/liens/nouveau/<uuid:document_id>")
@auth.role_required(Role.PERSON)
def create_link(document_id: uuid.UUID) -> BaseResponse | tuple[str, int]:
    owner = auth.unlocked_vault()
    document = _document(owner, document_id)
    db = db_session()
    policy = links.policy_for(db, owner.user)
    form = LinkForm()
    if policy == "off":
        return _render_link_form(owner, document, form, policy), 403
    valid = form.validate_on_submit()
    if document.category == SENSITIVE_CATEGORY and not form.understood.data:
        form.understood.errors = [
            *form.understood.errors,
            _("Tick « I understand » to make a link to this document."),
        ]
        valid = False
    if not valid:
        return _render_link_form(owner, document, form, policy), 400
    try:
        link, token = links.create_link(
            db,
            get_keyring(),
            owner,
            document.id,
            recipient=form.recipient.data,
            days=form.days.data,
            pin=form.pin.data or None,
            max_downloads=form.max_downloads.data,
        )
    except PolicyError as e:
        db.rollback()
        status = 403 if "policy_off" in e.problems else 400
        policy = "off" if status == 403 else policy
        document = _document(owner, document_id)
        return _render_link_form(owner, document, form, policy), status
    # The token exists nowhere else: keep it, encrypted with this session, until
    # the person says they noted the address (a reload must not lose it).
    opened, ticket = auth.open_session(), auth.current_ticket()
    pending = sessions.get_pending(opened.row, ticket)
    pending[PENDING_LINK] = {"id": str(link.id), "token": token}
    sessions.set_pending(opened.row, ticket, pending)
    db.commit()
    return redirect(url_for("sharing.link_created", link_id=link.id))


def _pending_token(link: ExternalLink) -> str | None:
    pending = sessions.get_pending(auth.open_session().row, auth.current_ticket())
    data = pending.get(PENDING_LINK)
    if isinstance(data, dict) and data.get("id") == str(link.id):
        token = data.get("token")
        return token if isinstance(token, str) else None
    return None


@bp.get("/liens/<uuid:link_id>/adresse")
@auth.role_required(Role.PERSON)
def link_created(link_id: uuid.UUID) -> str | BaseResponse:
    owner = auth.unlocked_vault()
    link = _own_link(owner, link_id)
    token = _pending_token(link)
    if token is None:
        flash(
            _(
                "The address of a link is shown only once. If you lost it, stop the link "
                "and make a new one."
            ),
            "info",
        )
        return redirect(url_for("sharing.links_index"))
    document = db_session().get(Document, link.document_id)
    return render_template(
        "links/created.html",
        link=link,
        url=url_for("public_links.show", token=token, _external=True),
        title=_title(owner, document) if document else "",
        recipient=recipient_phrase(link.recipient),
        form=EmptyForm(),
    )


@bp.post("/liens/<uuid:link_id>/adresse")
@auth.role_required(Role.PERSON)
def link_noted(link_id: uuid.UUID) -> BaseResponse:
    owner = auth.unlocked_vault()
    link = _own_link(owner, link_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if _pending_token(link) is not None:
        opened, ticket = auth.open_session(), auth.current_ticket()
        pending = sessions.get_pending(opened.row, ticket)
        pending.pop(PENDING_LINK, None)
        sessions.set_pending(opened.row, ticket, pending)
        db_session().commit()
    return redirect(url_for("sharing.links_index"))


@bp.get("/liens/<uuid:link_id>/retirer")
@auth.role_required(Role.PERSON)
def revoke_link_confirm(link_id: uuid.UUID) -> str | BaseResponse:
    owner = auth.unlocked_vault()
    link = _own_link(owner, link_id)
    if links.state(link) not in ("active", "pending"):
        flash(_("This link no longer works."), "info")
        return redirect(url_for("sharing.links_index"))
    document = db_session().get(Document, link.document_id)
    return render_template(
        "links/revoke.html",
        link=link,
        title=_title(owner, document) if document else "",
        recipient=recipient_phrase(link.recipient),
        form=EmptyForm(),
    )


@bp.post("/liens/<uuid:link_id>/retirer")
@auth.role_required(Role.PERSON)
def revoke_link(link_id: uuid.UUID) -> BaseResponse:
    owner = auth.unlocked_vault()
    link = _own_link(owner, link_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    db = db_session()
    links.revoke_link(db, owner, link.id)
    db.commit()
    flash(_("The link is stopped. Nobody can open it any more."), "success")
    return redirect(url_for("sharing.links_index"))
