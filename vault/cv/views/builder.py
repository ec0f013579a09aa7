"""The guided CV builder: one short step per screen, saved at each step.

Each step is one form; a valid answer is sealed into the draft
(vault.cv.drafts) before the next screen, so the person can stop anywhere
and come back (even after signing out). "Add" and "Remove" of the repeated
items are buttons of the same form: no script is needed (D-132). The last
step makes the PDF.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from vault.accounts import auth
from vault.core.db import db_session
from vault.cv import drafts, making
from vault.cv.content import (
    CV_STEP,
    CV_STEPS,
    LANGUAGE_LEVELS,
    LICENCES,
    MAX_ITEMS,
    NEUTRAL_PLACES,
    TRADES,
    Record,
    blank,
    items,
    next_slug,
    previous_slug,
    strings,
    text,
)
from vault.cv.forms import (
    ExperienceForm,
    FinishForm,
    IdentityForm,
    InterestsForm,
    JobForm,
    LanguagesForm,
    LicenceForm,
    SkillsForm,
    TrainingForm,
)
from vault.cv.views.common import (
    ADD,
    BACK,
    LEAVE,
    action,
    file_pdf,
    removed_index,
    saved_and_left,
)
from vault.documents.opened import unlocked_vault
from vault.models import DraftKind, Role

bp = Blueprint("cv", __name__, url_prefix="/cv")

FORMS: dict[str, Any] = {
    "identite": IdentityForm,
    "emploi": JobForm,
    "experience": ExperienceForm,
    "formation": TrainingForm,
    "competences": SkillsForm,
    "langues": LanguagesForm,
    "permis": LicenceForm,
    "loisirs": InterestsForm,
}
# The steps whose form is a list of items, and where the record keeps them.
LISTS = {"experience": "experience", "formation": "training", "langues": "languages"}


@bp.get("/")
@auth.role_required(Role.PERSON)
def index() -> str:
    owner = unlocked_vault()
    db = db_session()
    record = drafts.load(db, owner, DraftKind.CV)
    started = drafts.exists(db, owner, DraftKind.CV)
    resume = text(record, "step") if text(record, "step") in CV_STEP else CV_STEPS[0].slug
    return render_template(
        "cv/index.html",
        started=started,
        resume=resume,
        resume_step=CV_STEP[resume],
        steps=CV_STEPS,
        has_pdf=bool(record.get("document_id")),
        document_id=record.get("document_id"),
        letter_started=drafts.exists(db, owner, DraftKind.LETTER),
    )


def _data(slug: str, record: Record) -> dict[str, Any]:
    """The form's data from the draft."""
    if slug == "identite":
        return dict(record.get("identity") or {})
    if slug == "emploi":
        return dict(record.get("job") or {})
    if slug in LISTS:
        return {"items": items(record, LISTS[slug]) or [{}]}
    if slug == "competences":
        return {
            "picked": strings(record, "skills", "picked"),
            "other": text(record, "skills", "other"),
        }
    if slug == "permis":
        return {"kinds": strings(record, "licence", "kinds")}
    if slug == "loisirs":
        return {"interests": text(record, "interests")}
    return {}


def _clean(value: object) -> str:
    """One line's spaces collapsed; a text's lines kept, each stripped."""
    raw = str(value or "")
    if "\n" not in raw:
        return " ".join(raw.split())
    return "\n".join(line.strip() for line in raw.splitlines()).strip()


def _apply(slug: str, form: Any, record: Record) -> None:
    """Write the form's answers into the draft."""
    if slug == "identite":
        record["identity"] = {
            name: _clean(form[name].data)
            for name in ("first_name", "last_name", "phone", "email", "town")
        }
    elif slug == "emploi":
        record["job"] = {"title": _clean(form.title.data), "summary": _clean(form.summary.data)}
    elif slug in LISTS:
        record[LISTS[slug]] = [
            {k: _clean(v) for k, v in item.items() if k != "csrf_token"} for item in form.items.data
        ]
    elif slug == "competences":
        record["skills"] = {
            "picked": list(form.picked.data or []),
            "other": _clean(form.other.data),
        }
    elif slug == "permis":
        record["licence"] = {"kinds": list(form.kinds.data or [])}
    elif slug == "loisirs":
        record["interests"] = _clean(form.interests.data)


@bp.route("/etape/<slug>", methods=["GET", "POST"])
@auth.role_required(Role.PERSON)
def step(slug: str) -> str | BaseResponse | tuple[str, int]:
    if slug not in CV_STEP:
        abort(404)
    owner = unlocked_vault()
    db = db_session()
    record = drafts.load(db, owner, DraftKind.CV)
    if slug == "fin":
        return _render_finish(record, FinishForm(data=_finish_data(record)))
    form_class = FORMS[slug]
    if request.method == "GET":
        return _render_step(slug, form_class(data=_data(slug, record)), record)
    form = form_class()
    removing = removed_index()
    if slug in LISTS and removing is not None and removing < len(form.items.entries):
        # Removed before checking: an item being removed need not be valid.
        form.items.entries.pop(removing)
    if not form.validate():
        return _render_step(slug, form, record), 400
    _apply(slug, form, record)
    pressed = action()
    if slug in LISTS:
        kept = [i for i in items(record, LISTS[slug]) if not blank(i)]
        if pressed == ADD and len(kept) < MAX_ITEMS:
            kept.append({})
        record[LISTS[slug]] = kept
    following = next_slug(CV_STEPS, slug) or slug
    stay = pressed == ADD or removing is not None
    record["step"] = slug if stay else following
    drafts.save(db, owner, DraftKind.CV, record)
    db.commit()
    if pressed == LEAVE:
        return saved_and_left()
    if stay:
        return redirect(url_for("cv.step", slug=slug) + "#items")
    if pressed == BACK:
        return redirect(url_for("cv.step", slug=previous_slug(CV_STEPS, slug) or slug))
    return redirect(url_for("cv.step", slug=following))


def _render_step(slug: str, form: Any, record: Record) -> str:
    step_info = CV_STEP[slug]
    number = [s.slug for s in CV_STEPS].index(slug) + 1
    return render_template(
        f"cv/step_{slug}.html",
        form=form,
        step=step_info,
        number=number,
        count=len(CV_STEPS),
        previous=previous_slug(CV_STEPS, slug),
        trades=TRADES,
        levels=LANGUAGE_LEVELS,
        licences=LICENCES,
        neutral_places=[str(p) for p in NEUTRAL_PLACES],
        max_items=MAX_ITEMS,
    )


def _finish_data(record: Record) -> dict[str, str]:
    return {"template": making.template_of(record), "labels": making.labels_locale(record)}


def _render_finish(record: Record, form: FinishForm) -> str:
    return render_template(
        "cv/step_fin.html",
        form=form,
        step=CV_STEP["fin"],
        number=len(CV_STEPS),
        count=len(CV_STEPS),
        previous=previous_slug(CV_STEPS, "fin"),
        cv=making.cv_context(record),
        steps=CV_STEPS,
        missing=not (text(record, "identity", "last_name") and text(record, "job", "title")),
    )


@bp.post("/pdf")
@auth.role_required(Role.PERSON)
def make_pdf() -> str | BaseResponse | tuple[str, int]:
    owner = unlocked_vault()
    db = db_session()
    record = drafts.load(db, owner, DraftKind.CV)
    form = FinishForm()
    if not form.validate():
        return _render_finish(record, form), 400
    if not (text(record, "identity", "last_name") and text(record, "job", "title")):
        # The two answers a CV cannot go without: the steps that ask them.
        return redirect(url_for("cv.step", slug="identite"))
    record["template"], record["labels"] = form.template.data, form.labels.data
    pdf = making.render_cv(record)
    return file_pdf(
        DraftKind.CV,
        record,
        pdf,
        doc_type="cv",
        title=making.cv_title(record),
        filename=_("cv") + ".pdf",
        print_template="cv/print.html",
        print_context=making.printable(record),
    )
