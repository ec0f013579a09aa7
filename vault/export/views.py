"""The exit pack: a page that explains it, and the download behind a fresh sign-in.

The person types their secret phrase again before the archive streams: an
open session at an unattended kiosk must not be enough to carry a whole vault
away. The export leaves the recovery kit alone (D-090): a new sheet is the
person's own request (vault.recovery.views, "renew").
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import date

from flask import Blueprint, Response, render_template, stream_with_context
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, Length

from vault.accounts import auth
from vault.accounts import service as accounts
from vault.accounts.keys import Unlocked
from vault.core.addresses import public_url_for
from vault.core.catalog import CATEGORY_BY_CODE, TYPE_LABELS
from vault.core.db import db_session
from vault.core.errors import SignInRefused, Throttled
from vault.core.extensions import get_keyring, get_settings, get_store
from vault.core.forms import REQUIRED
from vault.core.kiosk import from_kiosk
from vault.core.languages import language
from vault.core.messages import too_many_attempts
from vault.core.pdf.render import in_locale, render_pdf, sheet_locales
from vault.core.throttle import HashingBusy
from vault.documents import service as documents
from vault.documents.opened import unlocked_vault
from vault.export import service as export
from vault.journal.text import describe
from vault.lifecycle import retention
from vault.lifecycle.checklist import Status, document_status
from vault.models import JournalEvent, Role, User

log = logging.getLogger(__name__)

bp = Blueprint("export", __name__, url_prefix="/export")

# The locale's long date: "30 juin 2031" in French, "30 يونيو 2031" in Arabic.
DATE_FORMAT = "long"


class ExportForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF is untyped
    passphrase = PasswordField(_l("Your secret phrase"), [DataRequired(REQUIRED), Length(max=1024)])


def retention_years() -> int:
    return get_settings().retention_years


def retention_rule(years: int) -> str:
    return retention.rule_text(years)


def _render_page(form: ExportForm, problems: list[str] | None = None) -> str:
    owner = unlocked_vault()
    db = db_session()
    _items, count = documents.list_documents(db, owner, limit=1)
    return render_template(
        "export/index.html",
        form=form,
        problems=problems or [],
        count=count,
        size=documents.quota_used(db, owner.vault_id),
        retention=retention_rule(retention_years()),
    )


@bp.get("/")
@auth.role_required(Role.PERSON)
def index() -> str:
    return _render_page(ExportForm())


@bp.post("/")
@auth.role_required(Role.PERSON)
def download() -> Response | tuple[str, int]:
    form = ExportForm()
    if from_kiosk():
        # An unencrypted archive of the whole vault never lands on a shared
        # terminal (docs/kiosk.md); the page explains how to get it.
        return _render_page(form), 403
    owner = unlocked_vault()
    if not form.validate_on_submit():
        return _render_page(form), 400
    db = db_session()
    try:
        accounts.confirm_passphrase(
            db, get_keyring(), owner, form.passphrase.data or "", action="export.created"
        )
    except SignInRefused:
        db.commit()  # the failure count and the journal line
        return _render_page(form, [_("Your secret phrase is not right.")]), 400
    except Throttled as e:
        db.commit()
        return _render_page(form, [too_many_attempts(e.retry_after)]), 429
    except HashingBusy:
        db.rollback()
        return _render_page(form, [_("The vault is busy. Please try again in a minute.")]), 503
    db.commit()
    body = exit_pack(owner)
    response = Response(stream_with_context(body), mimetype="application/zip")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="coffre-{date.today().isoformat()}.zip"'
    )
    response.headers["Cache-Control"] = "no-store"
    # A proxy that buffers would hold the whole archive before the first byte.
    response.headers["X-Accel-Buffering"] = "no"
    return response


def exit_pack(owner: Unlocked) -> Iterator[bytes]:
    """The archive of `owner`'s vault as chunks (needs a request context until consumed).

    The route streams it; the benchmark drains it the same way.
    """
    db = db_session()
    files = export.plan(db, owner, _memo(folder_label))
    # The rows are loaded: no transaction stays open while the archive streams.
    db.commit()
    return export.archive(
        db,
        get_store(),
        get_keyring(),
        owner,
        files,
        renderers(owner),
        retention_years=retention_years(),
    )


def folder_label(code: str) -> str:
    category = CATEGORY_BY_CODE.get(code)
    return str(category.label) if category else code


def type_label(code: str) -> str:
    return str(TYPE_LABELS.get(code, code))


def _memo(label: Callable[[str], str]) -> Callable[[str], str]:
    """`label` remembered for this export: the manifest asks once per document."""
    known: dict[str, str] = {}

    def cached(code: str) -> str:
        if code not in known:
            known[code] = label(code)
        return known[code]

    return cached


def renderers(owner: Unlocked) -> export.Renderers:
    def describe_event(
        event: JournalEvent,
        actor: User | None,
        titles: Mapping[uuid.UUID, str],
        people: Mapping[uuid.UUID, User],
    ) -> tuple[str, str]:
        line = describe(event, owner.user, actor, titles, people)
        return line.when, line.text

    return export.Renderers(
        folder_label=_memo(folder_label),
        type_label=_memo(type_label),
        describe_event=describe_event,
        retention_rule=retention_rule,
        summary_pdf=lambda summary: summary_pdf(
            summary, public_url_for("auth.sign_in"), owner.user.locale
        ),
    )


def summary_pdf(summary: export.Summary, sign_in_url: str, locale: str | None = None) -> bytes:
    """resume.pdf: plain values only, as every printed sheet (vault.core.pdf.render).

    The inventory counts the documents of each category and names those with
    an expiry date, soonest first: what a person acts on at release. Every
    title is in the archive's folders and in manifest.json; a printed line
    per document would make dozens of pages (and minutes of WeasyPrint) for a
    full vault.

    In the person's language (`locale`, their account's) and then again in
    French for the staff, each a whole copy from its own first page (D-171).
    """
    locales = sheet_locales(locale)
    copies = [
        {
            "lang": code,
            "dir": language(code).direction,
            **in_locale(code, _summary_values, summary, sign_in_url),
        }
        for code in locales
    ]
    return render_pdf("pdf/exit_summary.html", copies=copies, sheet_lang=locales[0])


def _summary_values(summary: export.Summary, sign_in_url: str) -> dict[str, object]:
    """One copy's values, in the locale in force: labels, dates and sentences."""
    today = summary.exported_at.date()
    counts: dict[str, int] = {}
    for item in summary.files:
        counts[item.category] = counts.get(item.category, 0) + 1
    folders = {item.category: item.path.partition("/")[0] for item in summary.files}
    categories = [
        {"label": folder_label(code), "count": count, "folder": folders[code]}
        for code, count in counts.items()
    ]
    dated = sorted(
        (item for item in summary.files if item.expiry_date is not None),
        key=lambda item: (item.expiry_date, item.title.casefold()),
    )
    expiries = []
    for item in dated:
        assert item.expiry_date is not None
        # The checklist's rule, so that the summary and the checklist agree.
        status = document_status(item.expiry_date, today)
        expiries.append(
            {
                "title": item.title,
                "type": type_label(item.doc_type),
                "date": format_date(item.expiry_date, DATE_FORMAT),
                "state": status.value if status in (Status.EXPIRED, Status.EXPIRING) else "",
            }
        )
    checklist = summary.checklist
    missing = [str(s.item.label) for s in checklist.items if s.status == Status.MISSING]
    return {
        "display_name": summary.display_name,
        "username": summary.username,
        "exported_on": format_date(today, DATE_FORMAT),
        "count": len(summary.files),
        "categories": categories,
        "expiries": expiries,
        "missing": missing,
        "checklist_done": checklist.done,
        "checklist_total": checklist.total,
        "counsellors": summary.counsellors,
        "sign_in_url": sign_in_url,
        "retention": retention_rule(summary.retention_years),
    }
