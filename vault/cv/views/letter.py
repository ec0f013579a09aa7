"""The guided cover-letter builder: the job and the employer, then three paragraphs.

Each paragraph step offers suggested sentences with the job and the
employer filled in; the first fills an empty paragraph, a button puts
another in its place, and the person edits it as they like. Saved at each
step like the CV (vault.cv.drafts); the last step makes the PDF, filed as a
"Cover letter" in "Work and CV" (D-136: a new employer, a new document).
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from vault.accounts import auth
from vault.core.db import db_session
from vault.cv import drafts, making
from vault.cv.content import (
    LETTER_STEP,
    LETTER_STEPS,
    PARAGRAPH_KEYS,
    Record,
    next_slug,
    previous_slug,
    suggestions,
    text,
)
from vault.cv.forms import LetterFinishForm, LetterJobForm, ParagraphForm
from vault.cv.views.common import BACK, LEAVE, action, file_pdf, saved_and_left
from vault.documents.opened import unlocked_vault
from vault.models import DraftKind, Role

bp = Blueprint("letter", __name__, url_prefix="/cv/lettre")


def _sender(record_cv: Record) -> dict[str, str]:
    """The name and contact the CV holds, for the letter's header."""
    name = " ".join(
        part
        for part in (
            text(record_cv, "identity", "first_name"),
            text(record_cv, "identity", "last_name"),
        )
        if part
    )
    return {
        "name": name,
        "phone": text(record_cv, "identity", "phone"),
        "email": text(record_cv, "identity", "email"),
        "town": text(record_cv, "identity", "town"),
    }


def _used() -> int | None:
    name = action()
    if name.startswith("use-") and name[4:].isdigit():
        return int(name[4:])
    return None


@bp.route("/etape/<slug>", methods=["GET", "POST"])
@auth.role_required(Role.PERSON)
def step(slug: str) -> str | BaseResponse | tuple[str, int]:
    if slug not in LETTER_STEP:
        abort(404)
    owner = unlocked_vault()
    db = db_session()
    record = drafts.load(db, owner, DraftKind.LETTER)
    sender = _sender(drafts.load(db, owner, DraftKind.CV))
    if slug == "fin":
        return _render(slug, LetterFinishForm(), record, sender)
    if slug == "poste":
        job = dict(record.get("job") or {})
        job.setdefault("name", sender["name"])
        form = LetterJobForm(data=job)
    else:
        key = PARAGRAPH_KEYS[slug]
        offered = suggestions(slug, record)
        written = text(record, key) or (offered[0].text if offered else "")
        form = ParagraphForm(data={"paragraph": written})
    if request.method == "GET":
        return _render(slug, form, record, sender)
    used = _used()
    offered = suggestions(slug, record)
    if slug != "poste" and used is not None and used < len(offered):
        # "Use this sentence": it takes the paragraph's place, to edit on the same step.
        record[PARAGRAPH_KEYS[slug]] = offered[used].text
        record["step"] = slug
        drafts.save(db, owner, DraftKind.LETTER, record)
        db.commit()
        return redirect(url_for("letter.step", slug=slug) + "#paragraph")
    if not form.validate():
        return _render(slug, form, record, sender), 400
    if slug == "poste":
        record["job"] = {
            name: " ".join(str(form[name].data or "").split())
            for name in ("title", "employer", "town", "name")
        }
    else:
        record[PARAGRAPH_KEYS[slug]] = str(form.paragraph.data).strip()
    following = next_slug(LETTER_STEPS, slug) or slug
    record["step"] = following
    drafts.save(db, owner, DraftKind.LETTER, record)
    db.commit()
    pressed = action()
    if pressed == LEAVE:
        return saved_and_left()
    if pressed == BACK:
        return redirect(url_for("letter.step", slug=previous_slug(LETTER_STEPS, slug) or slug))
    return redirect(url_for("letter.step", slug=following))


def _render(slug: str, form: object, record: Record, sender: dict[str, str]) -> str:
    return render_template(
        f"cv/letter_{'paragraph' if slug in PARAGRAPH_KEYS else slug}.html",
        form=form,
        slug=slug,
        step=LETTER_STEP[slug],
        number=[s.slug for s in LETTER_STEPS].index(slug) + 1,
        count=len(LETTER_STEPS),
        previous=previous_slug(LETTER_STEPS, slug),
        suggestions=suggestions(slug, record),
        letter=making.letter_context(record, sender),
        ready=bool(text(record, "job", "employer") and text(record, "p1")),
    )


@bp.post("/pdf")
@auth.role_required(Role.PERSON)
def make_pdf() -> str | BaseResponse | tuple[str, int]:
    owner = unlocked_vault()
    db = db_session()
    record = drafts.load(db, owner, DraftKind.LETTER)
    sender = _sender(drafts.load(db, owner, DraftKind.CV))
    form = LetterFinishForm()
    if not form.validate():
        return _render("fin", form, record, sender), 400
    if not (text(record, "job", "employer") and text(record, "p1")):
        return redirect(url_for("letter.step", slug="poste"))
    employer = text(record, "job", "employer")
    if record.get("document_for") != employer:
        # Another employer, another letter: a new document, not a version (D-136).
        record["document_id"] = ""
    record["document_for"] = employer
    pdf = making.render_letter(record, sender)
    return file_pdf(
        DraftKind.LETTER,
        record,
        pdf,
        doc_type="cover_letter",
        title=making.letter_title(record),
        filename=_("cover-letter") + ".pdf",
        print_template="cv/print_letter.html",
        print_context={"letter": making.letter_context(record, sender)},
    )
