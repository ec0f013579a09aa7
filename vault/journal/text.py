"""Journal events as sentences a person reads ("You added 'Carte Vitale'")."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import format_date, format_time
from flask_babel import gettext as _

from vault.core.bidi import isolate
from vault.core.catalog import CATEGORY_BY_CODE, TYPE_LABELS
from vault.models import JournalEvent, LinkStatus, Role, User

# What the filters of the history page group together (by action prefix).
ACTION_GROUPS: dict[str, tuple[str, ...]] = {
    "documents": ("document.",),
    "sharing": ("share.", "request.", "link.", "assignment."),
    "account": (
        "signin",
        "signout.",
        "account.",
        "passphrase.",
        "recovery",
        "lifecycle.",
        "retention.",
        "vault.",
    ),
}


@dataclass(frozen=True)
class Line:
    when: str
    time: datetime
    text: str
    refused: bool


def when(moment: datetime) -> str:
    """A journal line's time in the reader's language: "6 décembre 2026 à 14:30" in French.

    The locale's long date and short time (Babel, in Europe/Paris), joined by
    a translated "at": CLDR's own joiner for French is now a comma.
    """
    return str(
        _(
            "%(date)s at %(time)s",
            date=format_date(moment, "long"),
            time=format_time(moment, "short"),
        )
    )


def recipient_phrase(code: str) -> str:
    """The recipient of an external link, inside a sentence ("sent to an employer")."""
    phrases = {
        "employer": _("an employer"),
        "lawyer": _("a lawyer"),
        "landlord": _("a landlord"),
        "administration": _("an administration"),
    }
    return str(phrases.get(code, _("someone else")))


def _who(actor: User | None, owner: User) -> str:
    if actor is None:
        return str(_("Someone"))
    if actor.role == Role.COUNSELLOR:
        return str(_("Your counsellor %(name)s", name=isolate(actor.display_name)))
    if actor.role == Role.ADMINISTRATOR:
        return str(_("The administrator %(name)s", name=isolate(actor.display_name)))
    return isolate(actor.display_name)


def details_of(event: JournalEvent) -> dict[str, Any]:
    try:
        details = json.loads(event.details or "{}")
    except ValueError:
        return {}
    return details if isinstance(details, dict) else {}


def people_in(details: dict[str, Any]) -> set[uuid.UUID]:
    """Users named in an event's details (the counsellor of a share or an assignment)."""
    try:
        return {uuid.UUID(details["counsellor"])} if details.get("counsellor") else set()
    except (ValueError, TypeError):
        return set()


@dataclass(frozen=True)
class _Words:
    """The pieces a sentence may use, already in plain words."""

    doc: str
    counsellor: str
    category: str
    type: str
    recipient: str
    status: str
    # Why a download failed: "integrity" or "storage" (vault/documents/downloads.py).
    reason: str


def _words(
    event: JournalEvent, titles: Mapping[uuid.UUID, str], people: Mapping[uuid.UUID, User]
) -> _Words:
    details = details_of(event)
    title = titles.get(event.document_id) if event.document_id else None
    named = next(iter(people_in(details)), None)
    counsellor = people.get(named) if named else None
    category = CATEGORY_BY_CODE.get(str(details.get("category") or ""))
    return _Words(
        # What people typed, isolated: an Arabic title in a French sentence
        # (or a Latin name in an Arabic one) must not pull the words around it.
        doc=f"« {isolate(title)} »" if title else str(_("a document deleted since")),
        counsellor=isolate(counsellor.display_name) if counsellor else str(_("a counsellor")),
        category=str(category.label) if category else "",
        type=str(TYPE_LABELS.get(str(details.get("type") or ""), _("a document"))),
        recipient=recipient_phrase(str(details.get("recipient") or "")),
        status=str(details.get("status") or ""),
        reason=str(details.get("reason") or ""),
    )


def describe(
    event: JournalEvent,
    owner: User,
    actor: User | None,
    titles: Mapping[uuid.UUID, str],
    people: Mapping[uuid.UUID, User] | None = None,
) -> Line:
    words = _words(event, titles, people or {})
    refused = event.outcome != "ok"
    if actor is not None and actor.id == owner.id:
        text = _by_you(event.action, words, refused)
    else:
        text = _by_other(event.action, _who(actor, owner), words, refused)
    return Line(
        when=when(event.time),
        time=event.time,
        text=text,
        refused=refused,
    )


def _failed_download(action: str, who: str | None, w: _Words) -> str | None:
    """The sentence of a download that failed (vault/documents/downloads.py), or None."""
    if w.reason == "storage":
        why = _("the vault stopped answering")
    else:
        why = _("the document did not pass its integrity check")
    if action == "link.opened":
        return str(
            _(
                "The link to %(doc)s sent to %(recipient)s was opened, but the download was "
                "stopped: %(why)s.",
                doc=w.doc,
                recipient=w.recipient,
                why=why,
            )
        )
    if action != "document.downloaded":
        return None
    if who is None:
        return str(_("Your download of %(doc)s was stopped: %(why)s.", doc=w.doc, why=why))
    return str(
        _(
            "%(who)s tried to download %(doc)s, but the download was stopped: %(why)s.",
            who=who,
            doc=w.doc,
            why=why,
        )
    )


def _by_you(action: str, w: _Words, refused: bool) -> str:
    if refused and (failed := _failed_download(action, None, w)):
        return failed
    if action == "passphrase.changed" and refused:
        return str(_("An attempt to change your secret phrase failed (wrong current phrase)."))
    if action == "signin" and refused:
        # The only sign-in refused after the right phrase: outside the establishment.
        return str(
            _("A sign-in with your secret phrase from outside the establishment was refused.")
        )
    if action == "vault.closed" and refused:
        return str(_("An attempt to close your vault failed (wrong secret phrase)."))
    if action == "export.created":
        if refused:
            return str(
                _(
                    "A download of all your documents did not go through "
                    "(wrong secret phrase or an error)."
                )
            )
        return str(_("You downloaded all your documents (exit pack)."))
    if action == "recovery_kit.issued" and refused:
        return str(_("An attempt to get a new recovery sheet failed (wrong secret phrase)."))
    if action == "recovery_kit.issued":
        return str(_("A new recovery sheet was made for you; the previous one no longer works."))
    if action == "link.created" and w.status == LinkStatus.PENDING:
        return str(
            _(
                "You made a link to %(doc)s for %(recipient)s. It waits for your "
                "counsellor's approval.",
                doc=w.doc,
                recipient=w.recipient,
            )
        )
    if action == "share.revoked" and w.category:
        return str(
            _(
                "You stopped sharing the category %(category)s with %(counsellor)s.",
                category=w.category,
                counsellor=w.counsellor,
            )
        )
    texts = {
        "account.activated": _("You activated your vault and chose your secret phrase."),
        "signin": _("You signed in."),
        "passphrase.changed": _("You changed your secret phrase."),
        "signout.everywhere": _("You signed out on every device."),
        "document.added": _("You added %(doc)s.", doc=w.doc),
        "document.replaced": _("You replaced %(doc)s with a new version.", doc=w.doc),
        "document.renamed": _("You changed the details of %(doc)s.", doc=w.doc),
        "document.deleted": _("You deleted a document."),
        "document.viewed": _("You looked at %(doc)s.", doc=w.doc),
        "document.downloaded": _("You downloaded %(doc)s.", doc=w.doc),
        "share.created": _(
            "You shared %(doc)s with %(counsellor)s.", doc=w.doc, counsellor=w.counsellor
        ),
        "share.category_created": _(
            "You shared the category %(category)s with %(counsellor)s, with the documents "
            "added to it later.",
            category=w.category,
            counsellor=w.counsellor,
        ),
        "share.revoked": _(
            "You stopped sharing %(doc)s with %(counsellor)s.", doc=w.doc, counsellor=w.counsellor
        ),
        "request.answered": _(
            "You answered the request for %(type)s with %(doc)s.", type=w.type, doc=w.doc
        ),
        "link.created": _(
            "You made a link to %(doc)s for %(recipient)s.", doc=w.doc, recipient=w.recipient
        ),
        "link.revoked": _("You stopped the link to %(doc)s.", doc=w.doc),
        "recovery.requested": _(
            "You typed your recovery code and asked your counsellor to approve a recovery."
        ),
        "recovery.completed": _(
            "You chose a new secret phrase with your recovery sheet. You were signed out on "
            "every other device."
        ),
        "recovery_kit.issued": _("You received a new recovery sheet. The old one no longer works."),
        "retention.kept": _("You signed in: your vault is kept. It was going to be deleted."),
        "vault.closed": _("You closed your vault. Your documents were deleted."),
    }
    return str(texts.get(action, _("Other operation (%(action)s).", action=action)))


def _by_other(action: str, who: str, w: _Words, refused: bool) -> str:
    if refused and (failed := _failed_download(action, who, w)):
        return failed
    texts = {
        "account.opened": _("Your vault was opened by %(who)s.", who=who),
        "account.activation_reissued": _("%(who)s printed a new activation sheet.", who=who),
        "signin.password": _("Someone tried to sign in with a wrong secret phrase."),
        "signin.activation": _("Someone tried to use a wrong activation code."),
        "document.added": _("%(who)s added %(doc)s.", who=who, doc=w.doc),
        "document.deposited": _("%(who)s deposited %(doc)s in your vault.", who=who, doc=w.doc),
        "document.viewed": _("%(who)s looked at %(doc)s.", who=who, doc=w.doc),
        "document.downloaded": _("%(who)s downloaded %(doc)s.", who=who, doc=w.doc),
        "request.created": _("%(who)s asks you for a document: %(type)s.", who=who, type=w.type),
        "link.opened": _(
            "The link to %(doc)s sent to %(recipient)s was opened.",
            doc=w.doc,
            recipient=w.recipient,
        ),
        "link.wrong_pin": _(
            "Someone tried to open the link to %(doc)s with a wrong code.", doc=w.doc
        ),
        # Only the rule stops a link in someone else's name: too many wrong codes.
        "link.revoked": _("The link to %(doc)s was stopped after too many wrong codes.", doc=w.doc),
        "link.approved": _(
            "%(who)s approved your link to %(doc)s. It works now.", who=who, doc=w.doc
        ),
        "link.refused": _(
            "%(who)s refused your link to %(doc)s. It will not work.", who=who, doc=w.doc
        ),
        "assignment.started": _(
            "%(who)s made %(counsellor)s your counsellor.", who=who, counsellor=w.counsellor
        ),
        "assignment.ended": _(
            "%(who)s ended the follow-up by %(counsellor)s. Their access to your documents "
            "is stopped.",
            who=who,
            counsellor=w.counsellor,
        ),
        "recovery.kit": _("Someone tried to use a wrong recovery code."),
        "recovery.approved": _("%(who)s approved your recovery.", who=who),
        "recovery.declined": _("%(who)s declined your recovery request.", who=who),
        "recovery.escrow_opened": _(
            "The recovery officer %(who)s checked your identity and opened a recovery.", who=who
        ),
        "recovery.escrow_confirmed": _(
            "The recovery officer %(who)s confirmed the recovery.", who=who
        ),
        "recovery.escrow_cancelled": _(
            "The recovery officer %(who)s cancelled the recovery.", who=who
        ),
        "recovery.escrow_completed": _(
            "Your vault got a new activation sheet after a recovery with two officers. Your "
            "documents are kept."
        ),
        "lifecycle.transferred": _(
            "%(who)s recorded your transfer to another establishment.", who=who
        ),
        "lifecycle.released": _("%(who)s recorded your release.", who=who),
        "lifecycle.followup": _("%(who)s changed your follow-up after release.", who=who),
        "retention.notice": _(
            "Your vault will be deleted if you do not sign in. The date is on the page "
            "“My release”."
        ),
        "vault.deleted": _("Your vault was deleted: nobody had signed in for too long."),
    }
    return str(texts.get(action, _("Other operation (%(action)s).", action=action)))
