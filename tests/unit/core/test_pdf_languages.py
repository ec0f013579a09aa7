"""Printed sheets in the person's language and in French (D-170 to D-172).

The expected words come from the catalogues themselves (read with Babel at test
time), never copied here: the tests hold whatever the translators write, and
fail when a catalogue lacks the message (an untranslated msgid would print
English). Arabic must be shaped (letters joined) and laid right to left in the
PDF itself: both are read back from the PDF's text layer with pdfium, and each
check is first shown to fail on a render deliberately broken the way it
guards against.
"""

from __future__ import annotations

import ctypes
import itertools
import re
import unicodedata
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest
from babel.dates import format_date
from babel.support import NullTranslations, Translations
from flask import Flask
from jinja2 import ChoiceLoader, DictLoader

from tests.conftest import make_settings
from tests.helpers import pdf_pages_text
from vault import create_app
from vault.accounts import sheets
from vault.core.pdf.render import render_pdf, render_sheet_page, sheet_languages, sheet_locales
from vault.export import service as export
from vault.export.views import summary_pdf
from vault.lifecycle.checklist import Checklist
from vault.models import Role, User

TRANSLATIONS = Path(__file__).resolve().parents[3] / "vault" / "translations"
ARABIC_NAME = "سمير بن سعيد"
RUSSIAN_NAME = "Иван Петров"
# A word whose four letters all join (seen, ain, yeh, then dal, which joins on
# its right only): joined, it is much narrower than its letters set apart.
JOINED_WORD = "سعيد"
ZWNJ = "\u200c"  # zero-width non-joiner: keeps each letter in its isolated form
CODE = "4821 0937 5521 8830"
URL = "https://coffre-fort.justice-exemple.fr/activer"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(make_settings(tmp_path))
    with app.test_request_context():
        yield app


def translated(locale: str, msgid: str) -> str:
    """`msgid` in `locale`'s compiled catalogue; fails when it is not translated."""
    catalogue = Translations.load(str(TRANSLATIONS), [locale])
    assert type(catalogue) is not NullTranslations, f"no compiled {locale} catalogue"
    text = catalogue.gettext(msgid)
    assert text and text != msgid, f"{msgid!r} is not translated in the {locale} catalogue"
    return text


def squashed(text: str) -> str:
    """`text` without spaces nor combining marks: pdfium's text layer leaves out the
    Arabic vowel signs (harakat), which HarfBuzz draws as marks over their letter."""
    return "".join(c for c in re.sub(r"\s+", "", text) if unicodedata.category(c) != "Mn")


def person(locale: str | None, name: str) -> User:
    return User(
        role=Role.PERSON,
        display_name=name,
        username="samir.bensaid",
        locale=locale,
        activation_expires_at=datetime(2026, 9, 12, 12, tzinfo=UTC),
    )


# --- reading the PDF's text layer ----------------------------------------------------------


class Glyphs:
    """The characters of a PDF's first page with their boxes and fonts, in text order."""

    def __init__(self, pdf: bytes) -> None:
        document = pdfium.PdfDocument(pdf)
        page = document[0]
        textpage = page.get_textpage()
        self.chars: list[str] = []
        self.boxes: list[tuple[float, float, float, float]] = []
        self.fonts: list[str] = []
        self.sizes: list[float] = []
        name = ctypes.create_string_buffer(256)
        flags = ctypes.c_int()
        for index in range(textpage.count_chars()):
            self.chars.append(chr(pdfium_raw.FPDFText_GetUnicode(textpage.raw, index)))
            self.boxes.append(textpage.get_charbox(index))
            pdfium_raw.FPDFText_GetFontInfo(textpage.raw, index, name, 256, ctypes.byref(flags))
            self.fonts.append(name.value.decode(errors="replace"))
            self.sizes.append(pdfium_raw.FPDFText_GetFontSize(textpage.raw, index))
        self.embedded = embedded_fonts(page)
        textpage.close()
        page.close()
        document.close()

    def find(self, word: str) -> list[int]:
        """Indexes of `word`'s letters in the text layer, in the word's order.

        Zero-width non-joiners are skipped. pdfium reads a run of Arabic drawn left
        to right backwards: the word is then found reversed, its indexes turned back.
        """
        letters = [i for i, c in enumerate(self.chars) if c != ZWNJ]
        text = "".join(self.chars[i] for i in letters)
        start = text.find(word)
        if start >= 0:
            return letters[start : start + len(word)]
        start = text.find(word[::-1])
        assert start >= 0, f"{word!r} is not in the PDF's text"
        return letters[start : start + len(word)][::-1]

    def centres(self, word: str) -> list[float]:
        return [(self.boxes[i][0] + self.boxes[i][2]) / 2 for i in self.find(word) if word]

    def width(self, indexes: list[int]) -> float:
        return max(self.boxes[i][2] for i in indexes) - min(self.boxes[i][0] for i in indexes)


def embedded_fonts(page: pdfium.PdfPage) -> dict[str, bool]:
    """Each font of the page's text objects: its name, and whether the PDF embeds it."""
    fonts: dict[str, bool] = {}
    for obj in page.get_objects(filter=[pdfium_raw.FPDF_PAGEOBJ_TEXT]):
        font = pdfium_raw.FPDFTextObj_GetFont(obj.raw)
        size = pdfium_raw.FPDFFont_GetBaseFontName(font, None, 0)
        buffer = ctypes.create_string_buffer(size)
        pdfium_raw.FPDFFont_GetBaseFontName(font, buffer, size)
        fonts[buffer.value.decode()] = bool(pdfium_raw.FPDFFont_GetIsEmbedded(font))
    return fonts


def right_to_left(glyphs: Glyphs, word: str) -> bool:
    """True when each letter of `word` (logical order) stands left of the one before it."""
    centres = [c for c, letter in zip(glyphs.centres(word), word, strict=True) if letter != " "]
    return all(later < earlier for earlier, later in itertools.pairwise(centres))


def joining_ratio(sheet: Glyphs, word: str, isolated: Glyphs) -> float:
    """`word`'s width on the sheet over the sum of its letters' widths set apart.

    `isolated` holds the same letters separated by spaces, at a known size:
    widths are scaled by the font sizes the text layer reports.
    """
    indexes = sheet.find(word)
    size = sheet.sizes[indexes[0]]
    apart = 0.0
    for i in isolated.find(" ".join(word))[::2]:
        apart += (isolated.boxes[i][2] - isolated.boxes[i][0]) * size / isolated.sizes[i]
    return sheet.width(indexes) / apart


PROBE = """<!doctype html><html lang="ar"><head><meta charset="utf-8">
<link rel="stylesheet" href="css/pdf.css"><style>
p { font-size: 17pt; font-weight: bold; }
</style></head><body>
<p lang="ar" dir="rtl">{{ apart }}</p>
<p lang="ar" dir="rtl">{{ text }}</p>
</body></html>"""
# Left-to-right override ... pop directional formatting (WeasyPrint ignores CSS
# `unicode-bidi: bidi-override`; Pango obeys the characters).
LRO, PDF = "\u202d", "\u202c"


def probe(app: Flask, text: str, *, broken: bool = False) -> Glyphs:
    """A page with `text` (17pt bold, the name's size on a bilingual sheet) and the
    letters of JOINED_WORD set apart; `broken` forces left-to-right order."""
    loader = app.jinja_env.loader
    assert loader is not None
    app.jinja_env.loader = ChoiceLoader([DictLoader({"pdf/probe_arabic.html": PROBE}), loader])
    app.extensions.pop("vault.sheet_env", None)
    try:
        pdf = render_pdf(
            "pdf/probe_arabic.html",
            text=f"{LRO}{text}{PDF}" if broken else text,
            apart=" ".join(JOINED_WORD),
        )
    finally:
        app.jinja_env.loader = loader
        app.extensions.pop("vault.sheet_env", None)
    return Glyphs(pdf)


# --- the sheets in two languages -----------------------------------------------------------


def test_a_sheet_is_in_the_persons_language_then_french() -> None:
    assert sheet_locales("ar") == ("ar", "fr")
    assert sheet_locales("ru") == ("ru", "fr")
    assert sheet_locales("fr") == ("fr",)
    assert sheet_locales(None) == ("fr",)
    assert sheet_locales("xx") == ("fr",)  # not a registered language: French alone
    assert sheet_languages("ar") == {"sheet_lang": "ar", "sheet_dir": "rtl"}
    assert sheet_languages("ru") == {"sheet_lang": "ru", "sheet_dir": "ltr"}
    assert sheet_languages(None) == {"sheet_lang": None, "sheet_dir": None}


@pytest.mark.parametrize(("locale", "name"), [("ar", ARABIC_NAME), ("ru", RUSSIAN_NAME)])
def test_activation_sheet_in_two_languages_on_one_page(app: Flask, locale: str, name: str) -> None:
    pdf = sheets.activation_sheet(person(locale, name), CODE, URL)
    pages = pdf_pages_text(pdf)
    assert len(pages) == 1
    text = squashed(pages[0])
    assert squashed(name) in text
    assert CODE in [line.strip() for line in pages[0].splitlines()]
    for msgid in (
        "Activation sheet",
        "Your activation code",
        "This code works only once.",
        "Choose your secret phrase. Only you know it.",
    ):
        assert squashed(translated(locale, msgid)) in text, msgid
        assert squashed(translated("fr", msgid)) in text, msgid
    # The expiry date in each language: day and month as Babel writes them (the
    # year's place next to the full stop varies with the text layer's reading).
    for code in (locale, "fr"):
        assert squashed(format_date(date(2026, 9, 12), "d MMMM", locale=code)) in text


@pytest.mark.parametrize(("locale", "name"), [("ar", ARABIC_NAME), ("ru", RUSSIAN_NAME)])
def test_recovery_sheet_in_two_languages_on_one_page(app: Flask, locale: str, name: str) -> None:
    context = sheets.recovery_sheet_context(
        person(locale, name), "4821 0937 5521 8830 1234 5678 9012 3456", datetime.now(UTC)
    )
    pdf = render_pdf("pdf/recovery_kit.html", **context)
    pages = pdf_pages_text(pdf)
    assert len(pages) == 1
    text = squashed(pages[0])
    lines = [line.strip() for line in pages[0].splitlines()]
    assert "4821 0937 5521 8830" in lines and "1234 5678 9012 3456" in lines
    for msgid in ("Recovery sheet", "Your recovery code", "Choose a new secret phrase."):
        assert squashed(translated(locale, msgid)) in text, msgid
        assert squashed(translated("fr", msgid)) in text, msgid


def test_a_french_or_unset_language_prints_french_alone(app: Flask) -> None:
    for locale in (None, "fr"):
        pdf = sheets.activation_sheet(person(locale, "Léa Martin"), CODE, URL)
        text = squashed(pdf_pages_text(pdf)[0])
        assert squashed(translated("fr", "Activation sheet")) in text
        # "Activation sheet" once: no second language, no English fallback.
        assert text.count(squashed(translated("fr", "Your activation code"))) == 1
        assert "Activationsheet" not in text


def test_each_block_says_its_language_and_direction(app: Flask) -> None:
    # The kiosk's page of the same sheet: the markup a browser prints.
    context = sheets.sheet_context(person("ar", ARABIC_NAME), CODE, URL)
    page = render_sheet_page("pdf/activation_sheet.html", back_url="/", **context)
    assert page.count('lang="ar" dir="rtl"') >= 10
    assert page.count('lang="fr" dir="ltr"') >= 10
    assert translated("ar", "This code works only once.") in page
    # A name in Arabic letters is marked Arabic (its face and shaping) on any sheet.
    assert f'<bdi lang="ar">{ARABIC_NAME}</bdi>' in page


# --- Arabic shaped and right to left, in the PDF itself ------------------------------------


def test_arabic_is_laid_right_to_left(app: Flask) -> None:
    sheet = Glyphs(sheets.activation_sheet(person("ar", ARABIC_NAME), CODE, URL))
    title = translated("ar", "Activation sheet")
    # The text layer holds the words in reading order, each letter left of the last.
    assert right_to_left(sheet, ARABIC_NAME)
    assert right_to_left(sheet, title)
    # Control: the same check on a page forced left to right fails.
    assert right_to_left(probe(app, ARABIC_NAME), ARABIC_NAME)
    assert not right_to_left(probe(app, ARABIC_NAME, broken=True), ARABIC_NAME)


def test_arabic_letters_are_joined(app: Flask) -> None:
    sheet = Glyphs(sheets.activation_sheet(person("ar", ARABIC_NAME), CODE, URL))
    reference = probe(app, JOINED_WORD)
    # Joined, the word takes far less room than its letters in their isolated forms.
    assert joining_ratio(sheet, JOINED_WORD, reference) < 0.9
    # Control: the letters kept apart by zero-width non-joiners (what an unshaped
    # rendering prints) measure as wide as the isolated letters: the check fails.
    unjoined = probe(app, ZWNJ.join(JOINED_WORD))
    assert joining_ratio(unjoined, JOINED_WORD, reference) > 1.0


def test_the_fonts_cover_arabic_and_cyrillic_and_are_embedded(app: Flask) -> None:
    arabic = Glyphs(sheets.activation_sheet(person("ar", ARABIC_NAME), CODE, URL))
    russian = Glyphs(sheets.activation_sheet(person("ru", RUSSIAN_NAME), CODE, URL))
    for glyphs in (arabic, russian):
        assert glyphs.embedded and all(glyphs.embedded.values()), glyphs.embedded
    title = arabic.find(translated("ar", "Activation sheet").split()[0])
    assert all("Naskh" in arabic.fonts[i] for i in title), [arabic.fonts[i] for i in title]
    name = russian.find("Петров")
    assert all("DejaVu" in russian.fonts[i] for i in name)


# --- the exit summary ----------------------------------------------------------------------


def test_exit_summary_is_a_copy_in_the_persons_language_then_one_in_french(app: Flask) -> None:
    summary = export.Summary(
        display_name=ARABIC_NAME,
        username="samir.bensaid",
        exported_at=datetime(2026, 12, 6, 10, tzinfo=UTC),
        files=[],
        counsellors=["Claire Conseil"],
        checklist=Checklist(items=()),
        retention_years=2,
    )
    french_only = pdf_pages_text(summary_pdf(summary, URL))
    pages = pdf_pages_text(summary_pdf(summary, URL, "ar"))
    assert len(pages) == 2 * len(french_only)
    half = len(pages) // 2
    arabic, french = "".join(pages[:half]), "".join(pages[half:])
    for msgid in ("Summary of my vault", "Sign in from outside"):
        assert squashed(translated("ar", msgid)) in squashed(arabic), msgid
        assert squashed(translated("fr", msgid)) in squashed(french), msgid
        assert squashed(translated("fr", msgid)) not in squashed(arabic), msgid
    assert squashed(ARABIC_NAME) in squashed(arabic) and squashed(ARABIC_NAME) in squashed(french)


def line_of(glyphs: Glyphs, sentence: str) -> tuple[float, float]:
    """The left and right edges of the printed line that holds `sentence`'s longest word."""
    word = max((squashed(w) for w in sentence.split()), key=len)
    [*_, last] = glyphs.find(word)
    top = glyphs.boxes[last][3]
    line = [box for box in glyphs.boxes if abs(box[3] - top) < 2 and box[2] > box[0]]
    return min(box[0] for box in line), max(box[2] for box in line)


def test_each_language_starts_its_lines_at_its_own_edge(app: Flask) -> None:
    """`text-align: start` on each block: Arabic from the right edge, French from the left."""
    sheet = Glyphs(sheets.activation_sheet(person("ar", ARABIC_NAME), CODE, URL))
    msgid = "This code works only once."  # a short line in each language, one below the other
    arabic_left, arabic_right = line_of(sheet, translated("ar", msgid))
    french_left, french_right = line_of(sheet, translated("fr", msgid))
    assert arabic_right > french_right + 100
    assert french_left < arabic_left - 100
