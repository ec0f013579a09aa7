"""Dates, times and sizes are written by Babel in the reader's language.

French stays exactly as before ("30 juin 2031", "6 décembre 2026 à 14:30",
"1,5 Mo"); Arabic and Russian get their own month names and separators.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Flask, render_template_string
from flask_babel import force_locale
from jinja2 import ChoiceLoader, DictLoader

from vault.core.templating import filesize
from vault.journal.text import when

MOMENT = datetime(2026, 12, 6, 13, 30, tzinfo=UTC)  # 14:30 in Paris
DAY = date(2031, 6, 30)


def in_locale(app: Flask, code: str, make: object) -> str:
    with app.test_request_context("/"), force_locale(code):
        return str(make())  # type: ignore[operator]


def test_french_output_is_unchanged(app: Flask) -> None:
    assert in_locale(app, "fr", lambda: when(MOMENT)) == "6 décembre 2026 à 14:30"
    assert in_locale(app, "fr", lambda: filesize(1536 * 1024)) == "1,5 Mo"
    long_date = lambda: render_template_string('{{ d|dateformat("long") }}', d=DAY)  # noqa: E731
    assert in_locale(app, "fr", long_date) == "30 juin 2031"


def test_arabic_and_russian_are_formatted_their_own_way(app: Flask) -> None:
    long_date = lambda: render_template_string('{{ d|dateformat("long") }}', d=DAY)  # noqa: E731
    arabic = in_locale(app, "ar", long_date)
    russian = in_locale(app, "ru", long_date)
    assert "يونيو" in arabic  # June, in Arabic
    assert "июня" in russian  # June, in Russian (genitive)
    assert in_locale(app, "ru", lambda: when(MOMENT)).startswith("6 декабря 2026")
    assert "ديسمبر" in in_locale(app, "ar", lambda: when(MOMENT))
    # The decimal separator: a comma in French and Russian, a point in Arabic
    # (CLDR's Latin-digit Arabic, as read in the Maghreb).
    assert in_locale(app, "ru", lambda: filesize(1536 * 1024)).startswith("1,5")
    assert in_locale(app, "ar", lambda: filesize(1536 * 1024)).startswith("1.5")


# A macro module with a word to translate, imported without context: Jinja
# keeps such a module between renders and requests (the printed sheets' and
# the forms' macros are imported this way).
MACROS = {"words.html": '{% macro brand() %}{{ _("Digital vault") }}{% endmacro %}'}
PAGE = '{% from "words.html" import brand %}{{ brand() }}'


def test_templates_follow_each_request_and_force_locale(app: Flask) -> None:
    """Templates look the catalogue up once per locale, not once per process.

    A module Jinja keeps between renders must still follow each request's
    language, and `force_locale` (the bilingual sheets) inside one.
    """
    env = app.jinja_env.overlay(loader=ChoiceLoader([DictLoader(MACROS), app.jinja_env.loader]))
    page = env.from_string(PAGE)
    with app.test_request_context("/"):
        assert page.render() == "Coffre-fort numérique"
        with force_locale("en"):
            assert page.render() == "Digital vault"
        with force_locale("ar"):
            assert page.render() == "الخزنة الرقمية"
        assert page.render() == "Coffre-fort numérique"
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert page.render() == "Digital vault"
    with app.test_request_context("/"):
        assert page.render() == "Coffre-fort numérique"
