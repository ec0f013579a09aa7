"""Printed sheets: both render to one A4 page with the right text and a QR code that
matches its payload, and WeasyPrint fetches nothing but our static files."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest
import segno
from flask import Flask
from flask_babel import gettext
from jinja2 import ChoiceLoader, DictLoader
from markupsafe import Markup

from tests.conftest import make_settings
from tests.helpers import pdf_pages_text
from vault import create_app
from vault.core.pdf.fetcher import StaticOnlyFetcher
from vault.core.pdf.render import AssetRefused, PdfError, qr_svg, render_pdf

ACTIVATION: dict[str, Any] = {
    "display_name": "Marie-Christine Benali-Lefèvre de la Fontaine",
    "username": "marie-christine.benali-lefevre",
    "activation_code": "4821 0937 5521 8830",
    "activation_url": "https://coffre-fort.justice-exemple.fr/activer",
    "qr_payload": "https://coffre-fort.justice-exemple.fr/activer?u=marie-christine.benali-lefevre"
    "&c=4821093755218830",
    "expires_on": "12 septembre 2026",
    "establishment": "Centre pénitentiaire de Fresnes, quartier des femmes",
    "role_label": "Personne détenue",
}
RECOVERY: dict[str, Any] = {
    "display_name": "Marie-Christine Benali-Lefèvre de la Fontaine",
    "username": "marie-christine.benali-lefevre",
    "recovery_code": "4821 0937 5521 8830 1234 5678 9012 3456",
    "issued_on": "30 septembre 2026",
}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(make_settings(tmp_path))
    with app.test_request_context():
        yield app


@pytest.fixture
def static_root(app: Flask) -> Path:
    assert app.static_folder is not None
    return Path(app.static_folder).resolve()


class _Recorder(http.server.BaseHTTPRequestHandler):
    paths: list[str]

    def do_GET(self) -> None:
        self.paths.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[tuple[str, list[str]]]:
    """A loopback server that records every request: a sheet must send it none."""
    requests: list[str] = []
    handler = type("Handler", (_Recorder,), {"paths": requests})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def squashed(text: str) -> str:
    """Text without whitespace: line breaks fall where the layout puts them."""
    return re.sub(r"\s+", "", text)


def read_qr_modules(pdf: bytes, modules: int) -> list[list[bool]]:
    """The dark/light modules printed on page 1, read from a rendering of the page.

    The QR code is the one large square drawn on the sheet (its white background,
    quiet zone included); each module is sampled at its centre.
    """
    document = pdfium.PdfDocument(pdf)
    try:
        page = document[0]
        squares = []
        for obj in page.get_objects():
            if obj.type == pdfium_raw.FPDF_PAGEOBJ_PATH:
                left, bottom, right, top = obj.get_bounds()
                if right - left > 50 and abs((right - left) - (top - bottom)) < 0.5:
                    squares.append((left, bottom, right, top))
        assert len(squares) == 1, squares
        left, bottom, right, top = squares[0]
        scale = 6
        height = page.get_height()
        bitmap = page.render(scale=scale)
        image = bitmap.to_pil().convert("L")
        bitmap.close()
        page.close()
    finally:
        document.close()
    step = (right - left) / modules
    grid = []
    for row in range(modules):
        y = top - (row + 0.5) * step
        grid.append(
            [
                image.getpixel(
                    (round((left + (col + 0.5) * step) * scale), round((height - y) * scale))
                )
                < 128
                for col in range(modules)
            ]
        )
    return grid


# --- the two sheets -----------------------------------------------------------------------


def test_activation_sheet_is_one_page_with_the_username_and_code(app: Flask) -> None:
    pdf = render_pdf("pdf/activation_sheet.html", **ACTIVATION)
    assert pdf.startswith(b"%PDF-")
    pages = pdf_pages_text(pdf)
    assert len(pages) == 1
    lines = [line.strip() for line in pages[0].splitlines()]
    # Username and code each on one line: a break inside either misleads the reader.
    assert ACTIVATION["username"] in lines
    assert ACTIVATION["activation_code"] in lines
    text = squashed(pages[0])
    for value in ("display_name", "expires_on", "establishment", "activation_url"):
        assert squashed(ACTIVATION[value]) in text, value
    assert squashed(gettext("This code works only once.")) in text


def test_activation_sheet_without_establishment(app: Flask) -> None:
    pdf = render_pdf("pdf/activation_sheet.html", **{**ACTIVATION, "establishment": None})
    (text,) = pdf_pages_text(pdf)
    assert "None" not in text
    assert squashed(ACTIVATION["role_label"]) in squashed(text)


def test_activation_qr_code_prints_the_payload_modules(app: Flask) -> None:
    # No QR decoder is installed: instead, read the printed modules back and
    # compare them with segno's encoding of the payload, quiet zone included.
    pdf = render_pdf("pdf/activation_sheet.html", **ACTIVATION)
    qr = segno.make(ACTIVATION["qr_payload"], error="m", boost_error=True, micro=False)
    assert qr.error in ("M", "Q", "H")
    expected = [[bool(m) for m in row] for row in qr.matrix_iter(border=4)]
    assert read_qr_modules(pdf, len(expected)) == expected


def test_recovery_kit_is_one_page_with_the_username_and_code(app: Flask) -> None:
    pdf = render_pdf("pdf/recovery_kit.html", **RECOVERY)
    assert pdf.startswith(b"%PDF-")
    pages = pdf_pages_text(pdf)
    assert len(pages) == 1
    text = squashed(pages[0])
    for value in RECOVERY.values():
        assert squashed(value) in text
    # Eight groups, printed as two lines of four for dictation.
    lines = [line.strip() for line in pages[0].splitlines()]
    assert RECOVERY["username"] in lines
    assert "4821 0937 5521 8830" in lines
    assert "1234 5678 9012 3456" in lines


def test_sheets_carry_a_neutral_title_and_no_personal_metadata(
    app: Flask, static_root: Path
) -> None:
    for template, context, title in (
        ("pdf/activation_sheet.html", ACTIVATION, gettext("Activation sheet")),
        ("pdf/recovery_kit.html", RECOVERY, gettext("Recovery sheet")),
    ):
        pdf = render_pdf(template, **context)
        document = pdfium.PdfDocument(pdf)
        metadata = document.get_metadata_dict()
        document.close()
        assert metadata["Title"] == title
        for key, value in metadata.items():
            if key != "Title":
                assert context["username"] not in value and "Benali" not in value, key
        # Nor does the server's folder layout leak into the file.
        assert str(static_root).encode() not in pdf


def test_user_text_is_printed_as_text_never_as_markup(
    app: Flask, http_server: tuple[str, list[str]]
) -> None:
    base, requests = http_server
    hostile = f'<img src="{base}/name.png"><link rel="stylesheet" href="{base}/x.css">'
    pdf = render_pdf("pdf/activation_sheet.html", **{**ACTIVATION, "display_name": hostile})
    text = "".join(pdf_pages_text(pdf))
    assert squashed(f'<img src="{base}/name.png">') in squashed(text)
    assert requests == []


# --- the context ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [Markup("<b>x</b>"), object(), [Markup("<b>x</b>")], {"a": object()}, b"bytes"],
)
def test_context_takes_plain_values_only(app: Flask, value: object) -> None:
    with pytest.raises(PdfError):
        render_pdf("pdf/activation_sheet.html", **{**ACTIVATION, "display_name": value})


@pytest.mark.parametrize("name", ["main/home.html", "base.html", "pdf/../base.html"])
def test_only_pdf_templates_render(app: Flask, name: str) -> None:
    with pytest.raises(PdfError):
        render_pdf(name)


def test_qr_svg_is_an_svg_data_uri() -> None:
    uri = qr_svg("https://coffre-fort.example.fr/activer?code=4821093755218830")
    assert uri.startswith("data:image/svg+xml")


# --- the URL fetcher ----------------------------------------------------------------------


def test_fetcher_serves_static_files_and_data_urls(static_root: Path) -> None:
    fetcher = StaticOnlyFetcher(static_root)
    css = fetcher.fetch(fetcher.base_url + "css/pdf.css")
    assert css.content_type == "text/css"
    assert css.read() == (static_root / "css" / "pdf.css").read_bytes()
    icon = fetcher.fetch(fetcher.base_url + "icons/key.svg")
    assert icon.content_type == "image/svg+xml"
    data = fetcher.fetch("data:text/plain;base64,aGVsbG8=")
    assert (data.content_type, data.read()) == ("text/plain", b"hello")


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org/x.png",
        "https://example.org/x.png",
        "ftp://example.org/x.png",
        "file:///etc/passwd",
        "file://example.org/etc/passwd",
        "/etc/passwd",
        "javascript:alert(1)",
    ],
)
def test_fetcher_refuses_anything_but_our_static_files(static_root: Path, url: str) -> None:
    with pytest.raises(AssetRefused):
        StaticOnlyFetcher(static_root).fetch(url)


@pytest.mark.parametrize(
    "path",
    [
        "../vault/core/pdf/render.py",
        "icons/../../vault/core/pdf/render.py",
        "icons/../css/pdf.css",  # lands inside static/, refused all the same
        "icons/%2e%2e/%2e%2e/vault/core/pdf/render.py",
        "css/pdf.css?x=1",
        "css/pdf.css%00.png",
        "icons/no-such-icon.svg",
        "icons",
    ],
)
def test_fetcher_refuses_escapes_from_the_static_folder(static_root: Path, path: str) -> None:
    fetcher = StaticOnlyFetcher(static_root)
    with pytest.raises(AssetRefused):
        fetcher.fetch(fetcher.base_url + path)


def test_fetcher_refuses_symbolic_links_leading_out(tmp_path: Path) -> None:
    root = tmp_path / "static"
    root.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    (root / "inside.txt").write_text("fine")
    (root / "link.txt").symlink_to(secret)
    fetcher = StaticOnlyFetcher(root)
    assert fetcher.fetch(fetcher.base_url + "inside.txt").read() == b"fine"
    with pytest.raises(AssetRefused):
        fetcher.fetch(fetcher.base_url + "link.txt")


@pytest.mark.parametrize(
    "markup",
    [
        '<img src="{base}/image.png">',
        '<link rel="stylesheet" href="{base}/sheet.css">',
        "<style>@import url('{base}/import.css');</style>",
        "<style>body {{ background: url('{base}/background.png') }}</style>",
        '<img src="file:///etc/passwd">',
        '<img src="../vault/core/pdf/render.py">',
        '<img src="icons/../../vault/core/pdf/render.py">',
    ],
)
def test_a_sheet_asking_for_anything_else_fails_without_fetching(
    app: Flask, http_server: tuple[str, list[str]], markup: str
) -> None:
    base, requests = http_server
    source = (
        "<!doctype html><html><head>" + markup.format(base=base) + "</head><body>x</body></html>"
    )
    loader = app.jinja_env.loader
    assert loader is not None
    app.jinja_env.loader = ChoiceLoader([DictLoader({"pdf/probe.html": source}), loader])
    with pytest.raises(PdfError):
        render_pdf("pdf/probe.html")
    assert requests == []


# --- icons (shared by the sheets and the pages) -------------------------------------------

ICONS = {
    *("identity", "justice", "health", "housing", "work", "education", "benefits", "family"),
    *("other", "upload", "download", "view", "delete", "rename", "replace", "search"),
    *("signout", "key", "printer", "camera", "document", "image", "lock", "user", "users"),
    *("journal", "check", "warning", "info", "home", "plus", "qr", "shield", "calendar"),
    *("building", "phone", "globe", "back", "listen", "stop"),
}


def test_every_icon_is_a_file_and_a_sprite_symbol(static_root: Path) -> None:
    icons = static_root / "icons"
    sprite = ElementTree.parse(icons / "sprite.svg").getroot()
    symbols = {s.get("id"): s for s in sprite.iter("{http://www.w3.org/2000/svg}symbol")}
    assert set(symbols) == ICONS
    assert {p.stem for p in icons.glob("*.svg")} - {"sprite"} == ICONS
    for symbol in symbols.values():
        # A <use> from a page inherits from the <use>, not from the sprite's
        # root: each symbol must carry its own stroke.
        assert symbol.get("stroke") == "currentColor"
        assert symbol.get("fill") == "none"
        assert symbol.get("viewBox") == "0 0 24 24"


def test_icon_is_hidden_unless_labelled(app: Flask) -> None:
    icon = app.jinja_env.globals["icon"]  # what the pages call
    with app.test_request_context():
        decorative = str(icon("upload"))
        labelled = str(icon("delete", label="Supprimer <b>", size=32))
    assert 'aria-hidden="true"' in decorative and "role=" not in decorative
    assert 'href="/static/icons/sprite.svg#upload"' in decorative
    assert 'role="img"' in labelled and "aria-hidden" not in labelled
    assert "<title>Supprimer &lt;b&gt;</title>" in labelled
    assert 'width="32px"' in labelled
