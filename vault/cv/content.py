"""What a CV and a cover letter hold: the steps, the lists to pick from, the checks.

Pure data and rules (no Flask, no database): the views ask the questions, the
drafts service seals the answers, the PDF service lays them out. A record is
a plain JSON object (docs/cv.md gives its fields); the functions here read a
record defensively, since an older draft may lack a field added later.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

Record = dict[str, Any]

RECORD_VERSION = 1
# The cover letter's language: employers in France read French (D-141).
LETTER_LOCALE = "fr"


@dataclass(frozen=True)
class Step:
    """One screen of a builder: its address, pictogram, question and example."""

    slug: str
    icon: str
    question: LazyString
    example: LazyString


CV_STEPS: tuple[Step, ...] = (
    Step(
        "identite",
        "user",
        _l("Who are you, and how can an employer reach you after your release?"),
        _l("Example: Karim Benali, 06 12 34 56 78, karim.benali@exemple.fr, Lyon."),
    ),
    Step(
        "emploi",
        "search",
        _l("What job are you looking for?"),
        _l("Example: Kitchen assistant. Serious and on time, I like working in a team."),
    ),
    Step(
        "experience",
        "work",
        _l("What work have you done, including during detention?"),
        _l("Example: Production workshop, 2024–2025: packing and quality checks."),
    ),
    Step(
        "formation",
        "education",
        _l("What diplomas and training do you have?"),
        _l("Example: CAP Cuisine, 2023. First aid training (SST), 2024."),
    ),
    Step(
        "competences",
        "check",
        _l("What can you do?"),
        _l("Example: Cooking, hygiene rules, teamwork."),
    ),
    Step(
        "langues",
        "users",
        _l("Which languages do you speak?"),
        _l("Example: French, mother tongue. English, A2: I can manage in simple situations."),
    ),
    Step(
        "permis",
        "identity",
        _l("Do you have a driving licence?"),
        _l("Example: Car licence (B)."),
    ),
    Step(
        "loisirs",
        "family",
        _l("What do you like doing in your free time?"),
        _l("Example: Football in a club, reading, cooking for my family."),
    ),
    Step(
        "fin",
        "document",
        _l("Check your CV and make the PDF."),
        _l("Example: choose the “Sober” model, then press “Make the PDF”."),
    ),
)
CV_STEP = {s.slug: s for s in CV_STEPS}

LETTER_STEPS: tuple[Step, ...] = (
    Step(
        "poste",
        "work",
        _l("Which job, and which employer, is this letter for?"),
        _l("Example: Kitchen assistant, at Restaurant Le Bon Goût, Lyon."),
    ),
    Step(
        "vous",
        "building",
        _l("Why this employer? (first paragraph)"),
        _l("Example: I am applying for the kitchen assistant job at Restaurant Le Bon Goût."),
    ),
    Step(
        "moi",
        "user",
        _l("What do you bring? (second paragraph)"),
        _l("Example: I worked two years in a kitchen: I know the hygiene rules."),
    ),
    Step(
        "nous",
        "calendar",
        _l("When are you free to meet? (third paragraph)"),
        _l("Example: I am free from 3 March and can meet you whenever suits you."),
    ),
    Step(
        "fin",
        "document",
        _l("Check your letter and make the PDF."),
        _l("Example: read it once aloud, then press “Make the PDF”."),
    ),
)
LETTER_STEP = {s.slug: s for s in LETTER_STEPS}


def next_slug(steps: tuple[Step, ...], slug: str) -> str | None:
    slugs = [s.slug for s in steps]
    index = slugs.index(slug)
    return slugs[index + 1] if index + 1 < len(slugs) else None


def previous_slug(steps: tuple[Step, ...], slug: str) -> str | None:
    slugs = [s.slug for s in steps]
    index = slugs.index(slug)
    return slugs[index - 1] if index > 0 else None


# --- lists to pick from -----------------------------------------------------------------


@dataclass(frozen=True)
class Trade:
    code: str
    label: LazyString
    skills: tuple[tuple[str, LazyString], ...]


TRADES: tuple[Trade, ...] = (
    Trade(
        "building",
        _l("Building"),
        (
            ("masonry", _l("Masonry")),
            ("painting", _l("Painting")),
            ("plumbing", _l("Plumbing")),
            ("electricity", _l("Electrical work")),
            ("tiling", _l("Tiling")),
        ),
    ),
    Trade(
        "food",
        _l("Cooking and catering"),
        (
            ("cooking", _l("Cooking")),
            ("food_hygiene", _l("Food hygiene rules (HACCP)")),
            ("table_service", _l("Table service")),
            ("dishwashing", _l("Dishwashing")),
        ),
    ),
    Trade(
        "cleaning",
        _l("Cleaning and upkeep"),
        (
            ("cleaning", _l("Cleaning premises")),
            ("laundry", _l("Laundry")),
            ("repairs", _l("Small repairs")),
        ),
    ),
    Trade(
        "logistics",
        _l("Logistics"),
        (
            ("handling", _l("Handling goods")),
            ("stock", _l("Stock keeping")),
            ("picking", _l("Order picking")),
            ("forklift", _l("Forklift driving (CACES)")),
        ),
    ),
    Trade(
        "industry",
        _l("Production and industry"),
        (
            ("assembly", _l("Assembly")),
            ("packing", _l("Packing")),
            ("machine", _l("Running a machine")),
            ("quality", _l("Quality checks")),
        ),
    ),
    Trade(
        "green",
        _l("Green spaces"),
        (
            ("gardening", _l("Garden upkeep")),
            ("planting", _l("Planting")),
        ),
    ),
    Trade(
        "office",
        _l("Office and computers"),
        (
            ("typing", _l("Typing on a computer")),
            ("word_processing", _l("Word processing")),
            ("reception", _l("Welcoming the public")),
            ("filing", _l("Filing")),
        ),
    ),
    Trade(
        "soft",
        _l("Ways of working"),
        (
            ("teamwork", _l("Teamwork")),
            ("punctuality", _l("Punctuality")),
            ("care", _l("Careful work")),
            ("autonomy", _l("Working on my own")),
            ("safety", _l("Following safety rules")),
        ),
    ),
)
SKILL_LABELS: dict[str, LazyString] = {
    code: label for trade in TRADES for code, label in trade.skills
}

# A1 to C2 in plain words (the Common European Framework's levels).
LANGUAGE_LEVELS: tuple[tuple[str, LazyString], ...] = (
    ("native", _l("Mother tongue")),
    ("C2", _l("C2: as well as a native speaker")),
    ("C1", _l("C1: I speak and write with ease")),
    ("B2", _l("B2: I talk easily with people")),
    ("B1", _l("B1: I can talk about everyday things")),
    ("A2", _l("A2: I can manage in simple situations")),
    ("A1", _l("A1: I know a few words and phrases")),
)
LEVEL_LABELS = dict(LANGUAGE_LEVELS)

LICENCES: tuple[tuple[str, LazyString], ...] = (
    ("B", _l("Car licence (B)")),
    ("A", _l("Motorbike licence (A)")),
    ("C", _l("Lorry licence (C)")),
    ("D", _l("Bus licence (D)")),
    ("learning", _l("Licence in progress")),
)
LICENCE_LABELS = dict(LICENCES)

TEMPLATES: tuple[tuple[str, LazyString], ...] = (
    ("sober", _l("Sober: one column")),
    ("classic", _l("Classic: titles underlined")),
    ("columns", _l("Two columns: contact and skills on the side")),
)
TEMPLATE_CODES = tuple(code for code, _label in TEMPLATES)

# Labels of the PDF: French by default, English for a job abroad or an
# international employer (the msgids are English: no second catalogue needed).
LABEL_LANGUAGES: tuple[tuple[str, LazyString], ...] = (
    ("fr", _l("French")),
    ("en", _l("English")),
)

# Neutral wordings for work and training done in detention (shown on the step).
NEUTRAL_PLACES: tuple[LazyString, ...] = (
    _l("Production workshop"),
    _l("General service (upkeep, kitchen, laundry)"),
    _l("Vocational training"),
    _l("Kitchen of a community"),
    _l("Library"),
)

# Repeated items: the most a draft keeps (a CV is one or two pages).
MAX_ITEMS = 12

# --- not naming the establishment -----------------------------------------------------

# Lower case, without accents. "detention" catches "centre de détention" and
# "en détention"; a CV goes to employers, and the person may not want to say
# it (D-133).
_ESTABLISHMENT_WORDS = (
    "prison",
    "maison d'arret",
    "penitentiaire",
    "centre de detention",
    "maison centrale",
    "detention",
    "detenu",
    "incarcer",
    "ecrou",
    "spip",
)


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2019", "'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def names_establishment(text: str) -> bool:
    """Whether `text` names a prison or says "detention" (which a CV should not say)."""
    folded = _folded(text)
    return any(word in folded for word in _ESTABLISHMENT_WORDS)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 .()-]{6,25}$")


def valid_email(text: str) -> bool:
    return bool(_EMAIL.match(text))


def valid_phone(text: str) -> bool:
    return bool(_PHONE.match(text)) and sum(c.isdigit() for c in text) >= 6


# --- reading a record -------------------------------------------------------------------


def new_record() -> Record:
    return {"v": RECORD_VERSION}


def text(record: Record, *path: str) -> str:
    """The string at `path` in `record`, or "" (a field an older draft lacks)."""
    value: Any = record
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) else ""


def items(record: Record, key: str) -> list[dict[str, str]]:
    """The repeated items under `key`, each a dict of strings."""
    value = record.get(key)
    if not isinstance(value, list):
        return []
    return [
        {k: v for k, v in item.items() if isinstance(v, str)}
        for item in value
        if isinstance(item, dict)
    ]


def strings(record: Record, *path: str) -> list[str]:
    value: Any = record
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def blank(item: dict[str, str]) -> bool:
    return not any(v.strip() for v in item.values())


# --- the cover letter's suggested sentences ------------------------------------------------

# Each paragraph step offers these, with the job and the employer filled in;
# the first fills an empty paragraph, the others replace it on request.
SUGGESTIONS: dict[str, tuple[LazyString, ...]] = {
    "vous": (
        _l("I am applying for the job of %(job)s at %(employer)s."),
        _l("I saw that %(employer)s is looking for a %(job)s, and I would like to join you."),
        _l("I would like to work at %(employer)s as %(job)s, a job I know and like."),
    ),
    "moi": (
        _l("I have already done this kind of work: I know what it asks and I learn fast."),
        _l("I am on time, careful in my work, and I like working in a team."),
        _l("I have recently finished a training course that prepared me for this job."),
    ),
    "nous": (
        _l("I am free to start soon and would be glad to meet you."),
        _l("I would be glad to tell you more about my motivation at an interview."),
        _l("I can come for a trial day whenever it suits you."),
    ),
}
PARAGRAPH_KEYS = {"vous": "p1", "moi": "p2", "nous": "p3"}


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A sentence for the letter, in the letter's language (French, D-141), and
    `gloss`, the same sentence in the interface's language when that is another
    one, so that a person who reads little French knows what they choose."""

    text: str
    gloss: str | None


def suggestions(step: str, record: Record) -> list[Suggestion]:
    """The suggested sentences of a paragraph step, with the job and the employer filled in."""
    values = {
        "job": text(record, "job", "title").strip() or "…",
        "employer": text(record, "job", "employer").strip() or "…",
    }
    shown = [str(s) % values for s in SUGGESTIONS.get(step, ())]
    with force_locale(LETTER_LOCALE):
        french = [str(s) % values for s in SUGGESTIONS.get(step, ())]
    same = str(get_locale()) == LETTER_LOCALE
    return [Suggestion(f, None if same else g) for f, g in zip(french, shown, strict=True)]
