"""The page viewer's renders: page N of a PDF, an image as its one page, the page count."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.unit.documents.test_previews import jpeg_with_metadata, open_png, pdf_of_pages, png, rgb
from vault.documents import preview_worker, previews
from vault.documents.previews import PAGE_SIDE, NoSuchPage, PreviewError, count_pages, render_page


def test_each_page_of_a_pdf_is_rendered_with_the_page_count() -> None:
    pdf = pdf_of_pages("red", "lime", "blue")
    seen = []
    for number in (1, 2, 3):
        count, image = render_page(pdf, "application/pdf", number)
        assert count == 3
        img = open_png(image)
        assert max(img.size) == PAGE_SIDE  # 600x800 points drawn at a readable size
        seen.append(rgb(img, img.width // 2, img.height // 2))
    red, green, blue = seen
    assert red[0] > 240 and red[1] < 15
    assert green[1] > 240 and green[0] < 15
    assert blue[2] > 240 and blue[0] < 15


def test_a_page_past_the_last_is_refused_without_blaming_the_document() -> None:
    with pytest.raises(NoSuchPage) as caught:
        render_page(pdf_of_pages("red", "blue"), "application/pdf", 3)
    assert not caught.value.permanent


def test_the_page_count_of_a_pdf_comes_from_the_worker() -> None:
    assert count_pages(pdf_of_pages(*["red"] * 5), "application/pdf") == 5


def test_an_image_is_one_page_turned_upright_without_metadata() -> None:
    assert count_pages(b"not even parsed", "image/jpeg") == 1
    count, image = render_page(jpeg_with_metadata(), "image/jpeg", 1)
    assert count == 1
    img = open_png(image)
    assert img.size == (20, 40)  # small images are not enlarged; orientation applied
    assert b"CANARY" not in image
    assert b"eXIf" not in image and b"tEXt" not in image


def test_an_image_has_no_second_page() -> None:
    with pytest.raises(NoSuchPage):
        render_page(png((30, 30)), "image/png", 2)


def test_garbage_counts_no_pages_and_is_the_documents_fault() -> None:
    with pytest.raises(PreviewError) as caught:
        count_pages(b"%PDF-1.4 nothing else", "application/pdf")
    assert caught.value.permanent


def test_page_numbers_below_one_are_a_programming_error() -> None:
    with pytest.raises(ValueError):
        render_page(png((10, 10)), "image/png", 0)


def test_the_worker_in_page_mode_sends_the_count_then_the_png() -> None:
    result = subprocess.run(
        [sys.executable, "-I", str(previews._WORKER_PATH), "application/pdf", "100", "2"],
        input=pdf_of_pages("red", "blue"),
        capture_output=True,
        check=False,
        timeout=20,
    )
    assert result.returncode == preview_worker.EXIT_OK
    assert result.stdout[:4] == b"\0\0\0\x02"
    assert result.stdout[4:12] == b"\x89PNG\r\n\x1a\n"
