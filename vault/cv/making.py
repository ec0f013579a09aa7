"""The PDF of a CV or a cover letter, and its place in the vault.

The layout is one of our templates (templates/pdf/cv_*.html, letter.html),
rendered by the locked-down renderer (vault.core.pdf.render: plain values,
no network, our static files only) from a context of plain strings built
here. The PDF goes into the vault through the one intake
(vault.documents.intake.Intake.generated) as a document of type "CV" or
"Cover letter" in "Work and CV": the first PDF adds the document, each next
one adds a version of it (D-134), so sharing, requests, the release
checklist and the exit pack see it like any other document.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from sqlalchemy.orm import Session

import storage
from crypto import KeyRing
from vault.accounts.keys import Unlocked
from vault.core.errors import NotFound
from vault.core.pdf.render import render_pdf
from vault.cv.content import (
    LETTER_LOCALE,
    LEVEL_LABELS,
    LICENCE_LABELS,
    SKILL_LABELS,
    TEMPLATE_CODES,
    Record,
    blank,
    items,
    strings,
    text,
)
from vault.documents import service as documents
from vault.documents.intake import Details, Intake, Limits
from vault.models import Document

CATEGORY = "work"


def cv_context(record: Record) -> dict[str, Any]:
    """The CV as plain strings and lists, in the order the templates show them."""
    skills = [
        str(SKILL_LABELS[c]) for c in strings(record, "skills", "picked") if c in SKILL_LABELS
    ]
    skills += [s.strip() for s in text(record, "skills", "other").split("\n") if s.strip()]
    languages = [
        {
            "name": i.get("language", "").strip(),
            "level": str(LEVEL_LABELS.get(i.get("level", ""), "")),
        }
        for i in items(record, "languages")
        if i.get("language", "").strip()
    ]
    licences = [
        str(LICENCE_LABELS[c]) for c in strings(record, "licence", "kinds") if c in LICENCE_LABELS
    ]
    return {
        "first_name": text(record, "identity", "first_name").strip(),
        "last_name": text(record, "identity", "last_name").strip(),
        "phone": text(record, "identity", "phone").strip(),
        "email": text(record, "identity", "email").strip(),
        "town": text(record, "identity", "town").strip(),
        "job": text(record, "job", "title").strip(),
        "summary": text(record, "job", "summary").strip(),
        "experience": [i for i in items(record, "experience") if not blank(i)],
        "training": [i for i in items(record, "training") if not blank(i)],
        "skills": skills,
        "languages": languages,
        "licences": licences,
        "interests": text(record, "interests").strip(),
    }


def letter_context(record: Record, sender: dict[str, str]) -> dict[str, Any]:
    """The letter as plain strings; `sender` is the CV's name and contact, when known.

    The letter goes to an employer in France: its fixed words (date, subject,
    greeting, closing) are French whatever the interface's language (D-141).
    """
    job = text(record, "job", "title").strip()
    town = sender.get("town", "")
    with force_locale(LETTER_LOCALE):
        dated = _("on %(date)s", date=format_date(date.today(), "long"))
        lines = {
            "date": f"{town}, {dated}" if town else dated,
            "subject": _("Subject:"),
            "job": _("application for the job of %(job)s", job=job),
            "opening": _("Dear Sir or Madam,"),
            "closing": _("Yours faithfully,"),
        }
    return {
        "job": job,
        "employer": text(record, "job", "employer").strip(),
        "employer_town": text(record, "job", "town").strip(),
        "name": text(record, "job", "name").strip() or sender.get("name", ""),
        "contact": [line for line in (sender.get("phone", ""), sender.get("email", "")) if line],
        "town": town,
        "lines": lines,
        "paragraphs": [p for p in (text(record, k).strip() for k in ("p1", "p2", "p3")) if p],
    }


def template_of(record: Record) -> str:
    chosen = text(record, "template")
    return chosen if chosen in TEMPLATE_CODES else TEMPLATE_CODES[0]


def labels_locale(record: Record) -> str:
    return "en" if text(record, "labels") == "en" else "fr"


def cv_labels() -> dict[str, str]:
    """The CV's section titles, in the locale in force.

    Passed as values: the templates' own gettext is bound to the interface's
    French catalogue, while these follow `force_locale` (English is the msgids).
    """
    return {
        "contact": _("Contact"),
        "skills": _("Skills"),
        "languages": _("Languages"),
        "licence": _("Driving licence"),
        "experience": _("Experience"),
        "training": _("Diplomas and training"),
        "interests": _("Interests"),
    }


def printable(record: Record) -> dict[str, Any]:
    """What the CV's page and PDF show, titles in the language the person chose."""
    with force_locale(labels_locale(record)):
        return {"cv": cv_context(record), "labels": cv_labels(), "template": template_of(record)}


def render_cv(record: Record) -> bytes:
    """The CV's PDF, in the template and the label language the person chose."""
    context = printable(record)
    with force_locale(labels_locale(record)):
        return render_pdf(f"pdf/cv_{context['template']}.html", **context)


def render_letter(record: Record, sender: dict[str, str]) -> bytes:
    """The letter's PDF, in French (D-141)."""
    with force_locale(LETTER_LOCALE):
        return render_pdf("pdf/letter.html", letter=letter_context(record, sender))


def cv_title(record: Record) -> str:
    job = text(record, "job", "title").strip()
    return str(_("CV – %(job)s", job=job) if job else _("CV"))


def letter_title(record: Record) -> str:
    employer = text(record, "job", "employer").strip()
    if not employer:
        return str(_("Cover letter"))
    return str(_("Cover letter – %(employer)s", employer=employer))


def file_into_vault(
    db: Session,
    store: storage.BlobStore,
    ring: KeyRing,
    owner: Unlocked,
    limits: Limits,
    pdf: bytes,
    *,
    doc_type: str,
    title: str,
    filename: str,
    previous: str,
) -> tuple[Intake, Document]:
    """Add `pdf` as a new version of the document `previous` names, or as a new document.

    `previous` is the id the draft remembers ("" for none); a document the
    person deleted since is not found, and a new one is made. Returns the
    intake, whose `commit` the view calls, and the document. Raises
    IntakeRefused (quota, storage) like any upload.
    """
    details = Details(title=title, category=CATEGORY, doc_type=doc_type, expiry_date=None)
    intake = Intake.generated(
        db, store, ring, owner.vault_id, limits, pdf, details=details, filename=filename
    )
    document = _previous_document(db, owner, previous, doc_type)
    if document is None:
        return intake, intake.add(owner)
    intake.replace(owner, document)
    return intake, document


def _previous_document(
    db: Session, owner: Unlocked, previous: str, doc_type: str
) -> Document | None:
    try:
        document_id = uuid.UUID(previous)
    except ValueError:
        return None
    try:
        document = documents.get_document(db, owner.vault_id, document_id)
    except NotFound:
        return None
    # A document retyped since (the person filed it as something else) is
    # left alone: the next PDF starts a new one.
    if document.meta_sealed or document.doc_type != doc_type:
        return None
    return document
