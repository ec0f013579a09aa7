"""The person's external links: making one (its address shown once), the list, stopping one.

Routes of the "sharing" blueprint (person.py). The page the recipient opens
is public_links.py.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from vault.accounts import auth, sessions
from vault.accounts.keys import Unlocked
from vault.core.addresses import public_url_for
from vault.core.db import db_session
from vault.core.errors import PolicyError, owned_or_404
from vault.core.extensions import get_keyring
from vault.core.forms import EmptyForm
from vault.documents.opened import own_document, unlocked_vault
from vault.journal.text import recipient_phrase
from vault.models import Document, ExternalLink, LinkPolicy, Role
from vault.sharing import links
from vault.sharing.forms import LinkForm
from vault.sharing.views.person import bp, document_title

# The category whose documents may reveal the offence (warning before any link).
SENSITIVE_CATEGORY = "justice"
# Where, in the session's pending data, a new link's token waits until noted.
PENDING_LINK = "new_link"


def _own_link(owner: Unlocked, link_id: uuid.UUID) -> ExternalLink:
    link = owned_or_404(db_session(), ExternalLink, link_id, vault_id=owner.vault_id)
    return link


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
    owner = unlocked_vault()
    db = db_session()
    rows = []
    for link in links.links_of(db, owner.vault_id):
        document = db.get(Document, link.document_id)
        state = links.state(link)
        rows.append(
            LinkRow(
                link,
                document_title(owner, document) if document else "",
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
        title=document_title(owner, document),
        form=form,
        policy=policy,
        sensitive=document.category == SENSITIVE_CATEGORY,
    )


@bp.get("/liens/nouveau/<uuid:document_id>")
@auth.role_required(Role.PERSON)
def link_form(document_id: uuid.UUID) -> str:
    owner = unlocked_vault()
    document = own_document(owner, document_id)
    policy = links.policy_for(db_session(), owner.user)
    return _render_link_form(owner, document, LinkForm(), policy)


@bp.post("/liens/nouveau/<uuid:document_id>")
@auth.role_required(Role.PERSON)
def create_link(document_id: uuid.UUID) -> BaseResponse | tuple[str, int]:
    owner = unlocked_vault()
    document = own_document(owner, document_id)
    db = db_session()
    policy = links.policy_for(db, owner.user)
    form = LinkForm()
    if policy == LinkPolicy.OFF:
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
        policy = LinkPolicy.OFF if status == 403 else policy
        document = own_document(owner, document_id)
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
    owner = unlocked_vault()
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
        url=public_url_for("public_links.show", token=token),
        title=document_title(owner, document) if document else "",
        recipient=recipient_phrase(link.recipient),
        form=EmptyForm(),
    )


@bp.post("/liens/<uuid:link_id>/adresse")
@auth.role_required(Role.PERSON)
def link_noted(link_id: uuid.UUID) -> BaseResponse:
    owner = unlocked_vault()
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
    owner = unlocked_vault()
    link = _own_link(owner, link_id)
    if links.state(link) not in ("active", "pending"):
        flash(_("This link no longer works."), "info")
        return redirect(url_for("sharing.links_index"))
    document = db_session().get(Document, link.document_id)
    return render_template(
        "links/revoke.html",
        link=link,
        title=document_title(owner, document) if document else "",
        recipient=recipient_phrase(link.recipient),
        form=EmptyForm(),
    )


@bp.post("/liens/<uuid:link_id>/retirer")
@auth.role_required(Role.PERSON)
def revoke_link(link_id: uuid.UUID) -> BaseResponse:
    owner = unlocked_vault()
    link = _own_link(owner, link_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    db = db_session()
    links.revoke_link(db, owner, link.id)
    db.commit()
    flash(_("The link is stopped. Nobody can open it any more."), "success")
    return redirect(url_for("sharing.links_index"))
