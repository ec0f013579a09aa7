"""The intake file (docs/intake.md): read and check every line, touching nothing.

Pure: bytes in, lines and refusals out. What the database must confirm (the
establishment exists, the person is there) is the service's second look
(vault.intake.service). Refusals are stable codes; vault.intake.messages says
each in French.

One file holds every kind of line, told apart by the `action` column, so that
an establishment's daily export is one file whatever happened that day.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from babel import Locale

from vault.core.digits import ascii_digits
from vault.core.languages import LANGUAGES

# The largest file accepted (the administrator's page and the command alike):
# an establishment's yearly intake is a few thousand lines.
MAX_BYTES = 4 * 1024 * 1024
MAX_LINES = 20_000
NAME_MAX = 100
PRISON_NUMBER_MAX = 32  # PersonProfile.prison_number
# Letters, digits and the separators management software puts in a number.
PRISON_NUMBER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ./-]*")
EARLIEST_BIRTH = date(1900, 1, 1)


class Action(StrEnum):
    ARRIVAL = "arrivee"
    TRANSFER = "transfert"
    RELEASE = "sortie"


# The columns, in docs/intake.md's order; headers are matched without case,
# accents or spaces ("Numéro d'écrou" is numero_ecrou).
COLUMNS = (
    "action",
    "numero_ecrou",
    "etablissement",
    "nom",
    "prenom",
    "date_naissance",
    "conseiller",
    "etablissement_destination",
    "numero_ecrou_destination",
    "date_sortie",
    "suivi",
    "langue",
)
REQUIRED_COLUMNS = ("action", "numero_ecrou", "etablissement")
# The same columns as people write them in a spreadsheet's first line.
HEADER_ALIASES = {
    "numero_d_ecrou": "numero_ecrou",
    "numero": "numero_ecrou",
    "date_de_naissance": "date_naissance",
    "date_de_sortie": "date_sortie",
    "etablissement_de_destination": "etablissement_destination",
    "destination": "etablissement_destination",
    "numero_d_ecrou_destination": "numero_ecrou_destination",
    "numero_d_ecrou_de_destination": "numero_ecrou_destination",
    "langue_de_la_personne": "langue",
}


def _language_names() -> dict[str, str]:
    """Every way a file may name a language, folded: its code ("ar"), its own
    name ("العربية", "Русский") and its French name ("arabe", "russe")."""
    french = Locale("fr").languages
    names: dict[str, str] = {}
    for language in LANGUAGES:
        for name in (language.code, language.name, french.get(language.code, "")):
            if name:
                names[name.casefold()] = language.code
                if fold(name):  # Arabic or Cyrillic letters fold to nothing
                    names[fold(name)] = language.code
    return names


YES = {"oui", "o", "yes", "1", "vrai"}
NO = {"non", "n", "no", "0", "faux", ""}


class FileRefused(Exception):
    """The whole file cannot be read: "encoding", "empty", "too_large", "too_many_lines",
    "no_header", "missing_column", "unknown_column" (with the column), "malformed"."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Line:
    """One checked line; `number` is its line in the file (the header is line 1)."""

    number: int
    action: Action
    prison_number: str
    establishment: str
    last_name: str = ""
    first_name: str = ""
    birth_date: date | None = None
    counsellor: str = ""
    destination: str = ""
    destination_number: str = ""
    released_on: date | None = None
    followup: bool = False
    locale: str | None = None  # the person's language, a code of vault.core.languages

    @property
    def key(self) -> tuple[str, str]:
        """What makes a line the same person: prison number and establishment."""
        return (fold(self.prison_number), fold(self.establishment))


@dataclass(frozen=True)
class Refusal:
    number: int
    # Codes, in the order found; `fields` names the column of each.
    reasons: tuple[str, ...]
    fields: tuple[str, ...] = field(default=())
    prison_number: str = ""  # as written, for the report (maybe the faulty part)


def fold(text: str) -> str:
    """Case, accents and runs of spaces ignored (a name typed twice matches itself)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(plain.casefold().split())


LANGUAGE_NAMES = _language_names()


def _header_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9]+", "_", fold(text)).strip("_")
    return HEADER_ALIASES.get(name, name)


def _decode(data: bytes) -> str:
    if not data.strip():
        raise FileRefused("empty")
    if len(data) > MAX_BYTES:
        raise FileRefused("too_large")
    try:
        # utf-8-sig: spreadsheets save a byte-order mark, or not.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused("encoding") from None


def _delimiter(first_line: str) -> str:
    # French spreadsheets export with ";" (the decimal comma is taken); others ",".
    return ";" if first_line.count(";") >= first_line.count(",") else ","


def _date(text: str) -> date | None:
    """JJ/MM/AAAA (as French software writes it) or AAAA-MM-JJ; None if neither."""
    for pattern in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(ascii_digits(text), pattern).date()
        except ValueError:
            continue
    return None


def _clean(value: str) -> str:
    return " ".join(value.split())


def _check_line(number: int, row: dict[str, str], today: date) -> Line | Refusal:
    reasons: list[str] = []
    fields: list[str] = []

    def refuse(code: str, column: str) -> None:
        reasons.append(code)
        fields.append(column)

    raw_action = fold(row.get("action", ""))
    action = next((a for a in Action if a.value == raw_action), None)
    if action is None:
        refuse("bad_action", "action")
    number_text = _clean(row.get("numero_ecrou", ""))
    if not number_text:
        refuse("missing_prison_number", "numero_ecrou")
    elif len(number_text) > PRISON_NUMBER_MAX or not PRISON_NUMBER_RE.fullmatch(number_text):
        refuse("bad_prison_number", "numero_ecrou")
    place = _clean(row.get("etablissement", ""))
    if not place:
        refuse("missing_establishment", "etablissement")
    values: dict[str, object] = {}
    if action == Action.ARRIVAL:
        for column, key in (("nom", "last_name"), ("prenom", "first_name")):
            text = _clean(row.get(column, ""))
            if not text:
                refuse(f"missing_{key}", column)
            elif len(text) > NAME_MAX:
                refuse(f"long_{key}", column)
            values[key] = text
        birth_text = _clean(row.get("date_naissance", ""))
        if birth_text:
            birth = _date(birth_text)
            if birth is None:
                refuse("bad_date", "date_naissance")
            elif not EARLIEST_BIRTH <= birth <= today:
                refuse("impossible_birth_date", "date_naissance")
            values["birth_date"] = birth
        values["counsellor"] = _clean(row.get("conseiller", ""))
        language_text = _clean(row.get("langue", ""))
        if language_text:
            code = LANGUAGE_NAMES.get(language_text.casefold()) or LANGUAGE_NAMES.get(
                fold(language_text)
            )
            if code is None:
                refuse("bad_language", "langue")
            values["locale"] = code
    elif action == Action.TRANSFER:
        destination = _clean(row.get("etablissement_destination", ""))
        if not destination:
            refuse("missing_destination", "etablissement_destination")
        elif fold(destination) == fold(place):
            refuse("same_establishment", "etablissement_destination")
        values["destination"] = destination
        new_number = _clean(row.get("numero_ecrou_destination", ""))
        if new_number and (
            len(new_number) > PRISON_NUMBER_MAX or not PRISON_NUMBER_RE.fullmatch(new_number)
        ):
            refuse("bad_prison_number", "numero_ecrou_destination")
        values["destination_number"] = new_number
    elif action == Action.RELEASE:
        day_text = _clean(row.get("date_sortie", ""))
        day = _date(day_text) if day_text else None
        if not day_text:
            refuse("missing_release_date", "date_sortie")
        elif day is None:
            refuse("bad_date", "date_sortie")
        elif day > today:
            refuse("future_date", "date_sortie")
        values["released_on"] = day
        followup = fold(row.get("suivi", ""))
        if followup not in YES | NO:
            refuse("bad_followup", "suivi")
        values["followup"] = followup in YES
    if reasons or action is None:
        return Refusal(number, tuple(reasons), tuple(fields), number_text[:PRISON_NUMBER_MAX])
    return Line(number, action, number_text, place, **values)  # type: ignore[arg-type]


def parse(data: bytes, *, today: date) -> tuple[list[Line], list[Refusal]]:
    """Every line of an intake file, checked alone: (good lines, refused lines).

    A line repeating an earlier line's prison number and establishment is
    refused ("duplicate"): which of the two is meant, only the establishment
    knows. Blank lines are skipped. Raises FileRefused when the file as a
    whole cannot be read.
    """
    text = _decode(data)
    first = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise FileRefused("empty") from None
    except csv.Error:
        raise FileRefused("no_header") from None
    names = [_header_name(cell) for cell in header]
    for name in names:
        if name and name not in COLUMNS:
            raise FileRefused("unknown_column", name)
    for required in REQUIRED_COLUMNS:
        if required not in names:
            raise FileRefused("missing_column", required)
    lines: list[Line] = []
    refused: list[Refusal] = []
    seen: dict[tuple[str, str], int] = {}
    today_ = today
    try:
        for cells in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(lines) + len(refused) >= MAX_LINES:
                raise FileRefused("too_many_lines")
            if len(cells) > len(names):
                refused.append(Refusal(number, ("extra_cells",), ("",)))
                continue
            row = {name: cell for name, cell in zip(names, cells, strict=False) if name}
            checked = _check_line(number, row, today_)
            if isinstance(checked, Line):
                earlier = seen.get(checked.key)
                if earlier is not None:
                    refused.append(
                        Refusal(
                            number,
                            (f"duplicate:{earlier}",),
                            ("numero_ecrou",),
                            checked.prison_number,
                        )
                    )
                    continue
                seen[checked.key] = number
                lines.append(checked)
            else:
                refused.append(checked)
    except csv.Error:
        # An unclosed quote swallows the rest of the file: nothing after it is trustworthy.
        raise FileRefused("malformed", str(reader.line_num)) from None
    return lines, refused
