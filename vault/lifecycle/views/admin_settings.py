"""The administrator's lifecycle settings: establishments' networks, the release checklist."""

from __future__ import annotations

import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response as BaseResponse

from vault.access.networks import BadNetwork
from vault.accounts import auth
from vault.core.catalog import CATEGORIES, DOCUMENT_TYPES
from vault.core.db import db_session
from vault.core.errors import PolicyError, owned_or_404
from vault.core.forms import EmptyForm
from vault.lifecycle import service as lifecycle
from vault.lifecycle import settings
from vault.lifecycle.forms import NetworksForm
from vault.lifecycle.views.common import bp, refusal
from vault.models import Establishment, Role


@bp.route("/admin/etablissements/<uuid:establishment_id>/reseaux", methods=["GET", "POST"])
@auth.role_required(Role.ADMINISTRATOR)
def networks(establishment_id: uuid.UUID) -> BaseResponse | tuple[str, int]:
    db = db_session()
    place = owned_or_404(db, Establishment, establishment_id)
    form = NetworksForm(data={"networks": place.networks, "restrict": place.restrict_signin})
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            try:
                saved = lifecycle.set_networks(
                    db,
                    place,
                    form.networks.data or "",
                    bool(form.restrict.data),
                    by=auth.signed_in_user(),
                )
            except BadNetwork as e:
                form.networks.errors = [
                    _(
                        "“%(line)s” is not a network. Write one per line, for example "
                        "10.20.0.0/16 or 192.168.1.7.",
                        line=e.line[:60],
                    )
                ]
            except lifecycle.LifecycleRefused as e:
                form.networks.errors = [refusal(e.code)]
            else:
                db.commit()
                if place.restrict_signin:
                    message = ngettext(
                        "Saved. People detained at %(name)s sign in only from %(num)d network.",
                        "Saved. People detained at %(name)s sign in only from %(num)d networks.",
                        len(saved),
                        name=place.name,
                    )
                else:
                    message = _(
                        "Saved. People detained at %(name)s can sign in from anywhere.",
                        name=place.name,
                    )
                flash(message, "success")
                return redirect(url_for("lifecycle.networks", establishment_id=place.id))
            db.rollback()
    return render_template("lifecycle/networks.html", establishment=place, form=form), status


# --- the administrator: the release checklist ------------------------------------------------

# Rows shown for new items under the current ones.
BLANK_ROWS = 2


def _type_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    return [
        (str(c.label), [(code, str(label)) for code, label in DOCUMENT_TYPES[c.code]])
        for c in CATEGORIES
    ]


def _submitted_entries() -> list[settings.ChecklistEntry]:
    """The rows of the checklist editor, as typed; rows left blank or marked removed are dropped."""
    try:
        rows = int(request.form.get("rows", "0"))
    except ValueError:
        rows = 0
    rows = max(0, min(rows, settings.MAX_ITEMS + BLANK_ROWS))
    entries = []
    for i in range(rows):
        label = request.form.get(f"label-{i}", "")[: settings.LABEL_MAX * 2]
        types = tuple(request.form.getlist(f"types-{i}"))
        if request.form.get(f"remove-{i}") or (not label.strip() and not types):
            continue
        entries.append(settings.ChecklistEntry(request.form.get(f"code-{i}", ""), label, types))
    return entries


def _checklist_problems(codes: list[str]) -> list[str]:
    messages = {
        "empty": _("Keep at least one item in the list."),
        "too_many": ngettext(
            "The list can have at most %(num)d item.",
            "The list can have at most %(num)d items.",
            settings.MAX_ITEMS,
        ),
        "label": ngettext(
            "Each item needs a name of at most %(num)d character.",
            "Each item needs a name of at most %(num)d characters.",
            settings.LABEL_MAX,
        ),
        "types": _("Each item needs at least one type of document."),
        "unknown_type": _("Choose types of document from the list."),
        "duplicate": _("Two items have the same name."),
    }
    return [str(messages.get(code, code)) for code in codes]


@bp.route("/admin/parametres/liste-de-sortie", methods=["GET", "POST"])
@auth.role_required(Role.ADMINISTRATOR)
def checklist_settings() -> BaseResponse | tuple[str, int]:
    db = db_session()
    form = EmptyForm()
    problems: list[str] = []
    status = 200
    if request.method == "POST":
        entries = _submitted_entries()
        if not form.validate_on_submit():
            abort(400)
        try:
            settings.set_checklist(db, entries, by=auth.signed_in_user())
        except PolicyError as e:
            problems = _checklist_problems(e.problems)
            status = 400
        else:
            db.commit()
            flash(_("The release checklist is saved. Everyone sees the new list."), "success")
            return redirect(url_for("lifecycle.checklist_settings"))
    else:
        entries = settings.checklist_entries(db)
    rows = [*entries, *(settings.ChecklistEntry("", "", ()) for _ in range(BLANK_ROWS))]
    return render_template(
        "lifecycle/checklist_settings.html",
        form=form,
        rows=rows,
        groups=_type_groups(),
        problems=problems,
        is_default=settings.checklist_is_default(db),
    ), status


@bp.post("/admin/parametres/liste-de-sortie/par-defaut")
@auth.role_required(Role.ADMINISTRATOR)
def checklist_reset() -> BaseResponse:
    if not EmptyForm().validate_on_submit():
        abort(400)
    db = db_session()
    settings.reset_checklist(db, by=auth.signed_in_user())
    db.commit()
    flash(_("The release checklist is back to the default list."), "success")
    return redirect(url_for("lifecycle.checklist_settings"))
