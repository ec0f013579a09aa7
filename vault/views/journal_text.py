"""Journal events as sentences a person reads ("You added 'Carte Vitale'")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from flask_babel import format_datetime
from flask_babel import gettext as _

from vault.models import JournalEvent, User


@dataclass(frozen=True)
class Line:
    when: str
    time: datetime
    text: str
    refused: bool


def _who(actor: User | None, owner: User) -> str:
    if actor is None:
        return str(_("Someone"))
    if actor.role == "counsellor":
        return str(_("Your counsellor %(name)s", name=actor.display_name))
    if actor.role == "administrator":
        return str(_("The administrator %(name)s", name=actor.display_name))
    return actor.display_name


def describe(
    event: JournalEvent, owner: User, actor: User | None, titles: dict[uuid.UUID, str]
) -> Line:
    title = titles.get(event.document_id) if event.document_id else None
    doc = f"« {title} »" if title else _("a document deleted since")
    refused = event.outcome != "ok"
    if actor is not None and actor.id == owner.id:
        text = _by_you(event.action, doc, refused)
    else:
        text = _by_other(event.action, _who(actor, owner), doc, refused)
    return Line(
        when=format_datetime(event.time, "d MMMM y 'à' HH:mm"),
        time=event.time,
        text=text,
        refused=refused,
    )


def _by_you(action: str, doc: str, refused: bool) -> str:
    if action == "passphrase.changed" and refused:
        return str(_("An attempt to change your secret phrase failed (wrong current phrase)."))
    texts = {
        "account.activated": _("You activated your vault and chose your secret phrase."),
        "signin": _("You signed in."),
        "passphrase.changed": _("You changed your secret phrase."),
        "signout.everywhere": _("You signed out on every device."),
        "document.added": _("You added %(doc)s.", doc=doc),
        "document.replaced": _("You replaced %(doc)s with a new version.", doc=doc),
        "document.renamed": _("You changed the details of %(doc)s.", doc=doc),
        "document.deleted": _("You deleted a document."),
        "document.viewed": _("You looked at %(doc)s.", doc=doc),
        "document.downloaded": _("You downloaded %(doc)s.", doc=doc),
    }
    return str(texts.get(action, _("Other operation (%(action)s).", action=action)))


def _by_other(action: str, who: str, doc: str, refused: bool) -> str:
    texts = {
        "account.opened": _("Your vault was opened by %(who)s.", who=who),
        "account.activation_reissued": _("%(who)s printed a new activation sheet.", who=who),
        "signin.password": _("Someone tried to sign in with a wrong secret phrase."),
        "signin.activation": _("Someone tried to use a wrong activation code."),
        "document.added": _("%(who)s added %(doc)s.", who=who, doc=doc),
        "document.viewed": _("%(who)s looked at %(doc)s.", who=who, doc=doc),
        "document.downloaded": _("%(who)s downloaded %(doc)s.", who=who, doc=doc),
    }
    return str(texts.get(action, _("Other operation (%(action)s).", action=action)))
