"""The page an external recipient opens: one document, no account, nothing about its owner.

The token in the URL is the recipient's credential: its SHA-256 names the row,
and with the server key ring (and the PIN, when there is one) it unwraps the
document key. These pages show nothing but the document title, and only once
a PIN, if any, is given: the title alone can say too much (a court decision).
Pages are never cached (no-store is global), the token never leaves the site
in a Referer, and no log line holds it (vault/core/logs.py).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, render_template
from flask_babel import gettext as _

from vault.core.db import db_session
from vault.core.errors import Throttled
from vault.core.extensions import get_keyring, get_store
from vault.core.messages import too_many_attempts
from vault.documents.downloads import Recipient
from vault.documents.sending import send_document
from vault.models import ExternalLink
from vault.sharing import links
from vault.sharing.forms import OpenLinkForm
from vault.sharing.links import LinkGone, WrongPin

log = logging.getLogger(__name__)

bp = Blueprint("public_links", __name__, url_prefix="/lien")

# Search engines must not index a link someone pasted somewhere public.
NO_INDEX = {"X-Robots-Tag": "noindex, nofollow"}


def _find(token: str) -> ExternalLink:
    return links.find(db_session(), token)


def _gone(state: str) -> tuple[str, int, dict[str, str]]:
    messages = {
        "expired": _("This link has expired. Ask the person who sent it for a new one."),
        "used_up": _(
            "This link was used as many times as allowed. Ask the person who sent it for a new one."
        ),
        "revoked": _("The person who sent this link has stopped it."),
        "blocked": _(
            "This link was stopped after too many wrong codes. "
            "Ask the person who sent it for a new one."
        ),
        "retired": _(
            "This link was stopped by a security update. Ask the person who sent it for a new one."
        ),
        "refused": _("This link was not approved. It does not work."),
        "pending": _("This link is not working yet: it waits for an approval. Try again later."),
    }
    message = messages.get(state, _("This link no longer works."))
    return render_template("links/gone.html", message=message), 410, NO_INDEX


def _page(
    token: str,
    link: ExternalLink,
    form: OpenLinkForm,
    error: str | None = None,
    status: int = 200,
) -> tuple[str, int, dict[str, str]]:
    page = render_template(
        "links/open.html",
        token=token,
        form=form,
        title=links.title_of(get_keyring(), link, token),
        needs_pin=link.has_pin,
        expires_at=link.expires_at,
        error=error,
    )
    return page, status, NO_INDEX


@bp.get("/<token>")
def show(token: str) -> tuple[str, int, dict[str, str]]:
    link = _find(token)
    state = links.state(link)
    if state != "active":
        return _gone(state)
    try:
        return _page(token, link, OpenLinkForm())
    except LinkGone:
        return _gone(links.state(link))


@bp.post("/<token>")
def download(token: str) -> Response | tuple[str, int, dict[str, str]]:
    link = _find(token)
    if links.state(link) != "active":
        return _gone(links.state(link))
    form = OpenLinkForm()
    # Error pages get an empty form: a typed PIN is never sent back in a page.
    blank = OpenLinkForm(formdata=None)
    if not form.validate_on_submit():
        return _page(token, link, blank, _("This code is not right."), 400)
    db = db_session()
    try:
        opened = links.open_link(db, get_keyring(), token, form.pin.data or None)
    except LinkGone:
        return _gone(links.state(link))
    except Throttled as e:
        page, _status, headers = _page(token, link, blank, too_many_attempts(e.retry_after), 429)
        return page, 429, headers | {"Retry-After": str(e.retry_after)}
    except WrongPin as e:
        db.commit()  # the failure count (for the delays and the cap) and the journal lines
        if e.stopped:
            return _gone(links.state(link))
        return _page(token, link, blank, _("This code is not right."), 403)
    # The link's use and journal line are committed only once the document's
    # first segment verified: an unreachable store (503) or a damaged
    # document counts nothing.
    log.info("external link %s opened", link.id)
    sent = send_document(
        db,
        get_store(),
        opened.version,
        opened.dek,
        title=opened.title,
        recipient=Recipient(
            link.vault_id,
            link.document_id,
            None,
            action="link.opened",
            details={"recipient": link.recipient},
        ),
        headers=NO_INDEX,
    )
    if isinstance(sent, tuple):
        return sent[0], sent[1], NO_INDEX
    return sent
