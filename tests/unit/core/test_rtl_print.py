"""WeasyPrint lays out the logical properties of the printed sheets (docs/rtl.md).

The CV's columns layout (static/css/cv.css) floats the side column to
`inline-start` and gives the main column a `margin-inline-start`: left of
the page in French, as before, right of it in Arabic.
"""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pytest

CV_CSS = Path(__file__).resolve().parents[3] / "static" / "css" / "cv.css"
PAGE = """<!doctype html><html lang="{lang}" dir="{dir}"><body class="cv cv-columns">
<aside class="cv-side"><p>SIDEWORD</p></aside>
<div class="cv-main"><p>MAINWORD</p></div></body></html>"""


def left_edge(pdf: bytes, word: str) -> float:
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        text = page.get_textpage()
        found = text.search(word).get_next()
        assert found, word
        left = float(text.get_charbox(found[0])[0])
        width = float(page.get_width())
        text.close()
        page.close()
        return left / width
    finally:
        document.close()


@pytest.mark.parametrize(("lang", "direction"), [("fr", "ltr"), ("ar", "rtl")])
def test_the_cv_side_column_sits_at_the_start_of_the_line(lang: str, direction: str) -> None:
    from weasyprint import CSS, HTML

    pdf = HTML(string=PAGE.format(lang=lang, dir=direction)).write_pdf(
        stylesheets=[CSS(filename=str(CV_CSS))]
    )
    side, main = left_edge(pdf, "SIDEWORD"), left_edge(pdf, "MAINWORD")
    # Fractions of the page's width. The side column takes 30 % of the text's
    # width, the main one what is left past 34 %.
    if direction == "ltr":
        assert side < 0.3 < main, (side, main)
    else:
        assert main < side and side > 0.66, (side, main)
