"""Each refusal and outcome of an intake in words (French through the catalogue)."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from vault.core.languages import CODES
from vault.intake.csvfile import MAX_BYTES, MAX_LINES, FileRefused
from vault.intake.service import LineReport, Outcome

REASONS: dict[str, LazyString] = {
    "bad_action": _l("The action must be “arrivee”, “transfert” or “sortie”."),
    "missing_prison_number": _l("The prison number is missing."),
    "bad_prison_number": _l(
        "The prison number is not valid (letters, digits, spaces, “.”, “/” or “-”, "
        "32 characters at most)."
    ),
    "missing_establishment": _l("The establishment is missing."),
    "unknown_establishment": _l(
        "This establishment does not exist in the vault. Check its name on the page "
        "“Establishments”."
    ),
    "missing_last_name": _l("The last name is missing."),
    "missing_first_name": _l("The first name is missing."),
    "long_last_name": _l("The last name is too long (100 characters at most)."),
    "long_first_name": _l("The first name is too long (100 characters at most)."),
    "bad_date": _l("The date is not valid. Write it as 31/12/2025."),
    "impossible_birth_date": _l("This date of birth is not possible."),
    "missing_destination": _l("The establishment of destination is missing."),
    "same_establishment": _l("The establishment of destination is the same as the current one."),
    "unknown_destination": _l("The establishment of destination does not exist in the vault."),
    "missing_release_date": _l("The release date is missing."),
    "future_date": _l("The release date is in the future."),
    "too_old": _l("The release date is too far in the past."),
    "bad_followup": _l("The follow-up column must say “oui” or “non”."),
    "extra_cells": _l("This line has more cells than the header."),
    "unknown_counsellor": _l(
        "No active counsellor has this username. Write the counsellor's username, "
        "for example “claire.conseil”."
    ),
    "unknown_person": _l(
        "Nobody has this prison number in this establishment. Check the number, "
        "or record the arrival first."
    ),
    "ambiguous": _l(
        "Several people have this prison number in this establishment. Record this "
        "change by hand on each person's page."
    ),
    "other_person": _l(
        "This prison number already belongs to a person with another name in this establishment."
    ),
    "number_taken": _l(
        "Someone already has this prison number in the establishment of destination."
    ),
    "released": _l("This person is already recorded as released."),
    "closed": _l("This person's vault is closed."),
    "transferred": _l("This person was transferred."),
    "detained": _l("This person is detained."),
}

OUTCOMES: dict[str, LazyString] = {
    Outcome.CREATED: _l("Account opened"),
    Outcome.UPDATED: _l("Updated"),
    Outcome.UNCHANGED: _l("Unchanged"),
    Outcome.REFUSED: _l("Refused"),
}


def reason_text(code: str) -> str:
    """One refusal in words; "duplicate:12" names the earlier line."""
    if code.startswith("duplicate:"):
        return str(
            _(
                "Line %(line)s already has this prison number and establishment.",
                line=code.partition(":")[2],
            )
        )
    if code == "bad_language":
        return str(
            _(
                "This language is not known. Write one of these codes: %(codes)s "
                "(or the language's name, for example “arabe”).",
                codes=", ".join(CODES),
            )
        )
    return str(REASONS.get(code, _("This line cannot be applied.")))


def report_text(report: LineReport) -> str:
    """The reasons of a refused line, as one sentence per reason."""
    return " ".join(reason_text(code) for code in report.reasons)


def file_error_text(error: FileRefused) -> str:
    """Why a whole file was refused."""
    texts = {
        "encoding": _("The file is not in UTF-8. In your spreadsheet, save it as “CSV UTF-8”."),
        "empty": _("The file is empty."),
        "too_large": _(
            "The file is too large (%(mb)s MB at most). Split it into several files.",
            mb=MAX_BYTES // (1024 * 1024),
        ),
        "too_many_lines": _(
            "The file has too many lines (%(n)s at most). Split it into several files.",
            n=MAX_LINES,
        ),
        "no_header": _("The first line must name the columns."),
        "missing_column": _(
            "The column “%(column)s” is missing from the first line.", column=error.detail
        ),
        "unknown_column": _(
            "The column “%(column)s” is not one of the columns of the format.",
            column=error.detail,
        ),
        "malformed": _(
            "The file cannot be read after line %(line)s (a quotation mark is not closed?).",
            line=error.detail,
        ),
    }
    return str(texts.get(error.code, _("This file cannot be read.")))
