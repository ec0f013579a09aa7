"""Upload checks: type by magic bytes, peeking at a stream, names to show and download."""

from __future__ import annotations

import io
import tarfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from werkzeug.http import parse_options_header

from vault.documents.uploads import (
    ALLOWED_TYPES,
    MAX_FILENAME_CHARS,
    SNIFF_BYTES,
    clean_filename,
    content_disposition,
    download_name,
    peek,
    sniff_type,
    title_from_filename,
)

MINIMAL_PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
    b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n"
    b"trailer <</Root 1 0 R>>\n"
    b"%%EOF\n"
)


def image_bytes(fmt: str, **save: object) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, fmt, **save)
    return buffer.getvalue()


def jpeg_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"  # Make
    return image_bytes("JPEG", exif=exif.tobytes())


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "hello")
    return buffer.getvalue()


def tar_named_like_a_pdf() -> bytes:
    # A tar archive whose first member is named "%PDF-1.7": it starts with the
    # PDF signature, but puremagic sees `ustar` at offset 257.
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        info = tarfile.TarInfo("%PDF-1.7")
        info.size = 5
        archive.addfile(info, io.BytesIO(b"hello"))
    return buffer.getvalue()


# Type by magic bytes


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: image_bytes("PNG"), "image/png"),
        (lambda: image_bytes("JPEG"), "image/jpeg"),
        (jpeg_with_exif, "image/jpeg"),
        (lambda: image_bytes("PDF"), "application/pdf"),
        (lambda: MINIMAL_PDF, "application/pdf"),
        # A text file starting with the PDF signature is a PDF to us: PDF
        # readers will treat it as one, and it is only ever a download.
        (lambda: b"%PDF-not really a pdf", "application/pdf"),
    ],
)
def test_allowed_types_are_recognised(make: Callable[[], bytes], expected: str) -> None:
    content = make()
    assert sniff_type(content[:SNIFF_BYTES]) == expected
    assert expected in ALLOWED_TYPES


def test_a_large_file_is_recognised_from_its_head() -> None:
    big_png = image_bytes("PNG") + b"\0" * (2 * SNIFF_BYTES)
    assert sniff_type(big_png[:SNIFF_BYTES]) == "image/png"


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"hello, this is text\n", id="text"),
        pytest.param(b"<!DOCTYPE html><html><script>alert(1)</script></html>", id="html"),
        pytest.param(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", id="svg"),
        pytest.param(zip_bytes(), id="zip"),
        pytest.param(b"MZ\x90\x00\x03" + b"\0" * 59 + b"PE\0\0", id="exe"),
        pytest.param(b"\x7fELF\x02\x01\x01" + b"\0" * 57, id="elf"),
        pytest.param(b"GIF89a\x01\x00\x01\x00", id="gif"),
        pytest.param(b" %PDF-1.7\n", id="pdf-after-a-space"),
        pytest.param(b"\n" + MINIMAL_PDF, id="pdf-after-a-newline"),
        pytest.param(b"%PDF", id="pdf-signature-cut"),
        pytest.param(b"\x89PNG\r\n", id="png-signature-cut"),
        pytest.param(b"\xff\xd8", id="jpeg-signature-cut"),
        pytest.param(b"\xff\xd8\xff\xf7" + b"\0" * 20, id="jpeg-ls"),
        pytest.param(tar_named_like_a_pdf(), id="tar-starting-with-pdf-signature"),
        pytest.param(MINIMAL_PDF + b"<svg></svg>", id="pdf-ending-as-svg"),
    ],
)
def test_other_content_is_refused(content: bytes) -> None:
    assert sniff_type(content[:SNIFF_BYTES]) is None


# peek


def counting(chunks: list[bytes], pulled: list[int]) -> Iterator[bytes]:
    for i, chunk in enumerate(chunks):
        pulled.append(i)
        yield chunk


def test_peek_returns_the_head_and_everything_in_order() -> None:
    pulled: list[int] = []
    head, rest = peek(counting([b"ab", b"", b"cd", b"ef", b"gh"], pulled), 3)
    assert head == b"abc"
    assert pulled == [0, 1, 2]  # no more than needed was read
    assert b"".join(rest) == b"abcdefgh"


def test_peek_at_a_short_stream() -> None:
    head, rest = peek(iter([b"ab", b"c"]), 10)
    assert head == b"abc"
    assert list(rest) == [b"ab", b"c"]


def test_peek_at_nothing() -> None:
    head, rest = peek(iter([]), 10)
    assert head == b""
    assert list(rest) == []


def test_peek_zero_reads_nothing() -> None:
    pulled: list[int] = []
    head, rest = peek(counting([b"ab"], pulled), 0)
    assert (head, pulled) == (b"", [])
    assert list(rest) == [b"ab"]


def test_peek_inside_one_large_chunk() -> None:
    chunk = bytes(range(256)) * 4096
    head, rest = peek(iter([chunk]), 8)
    assert head == chunk[:8]
    assert list(rest) == [chunk]


@settings(max_examples=200, deadline=None)
@given(chunks=st.lists(st.binary(max_size=20), max_size=10), n=st.integers(0, 100))
def test_peek_property(chunks: list[bytes], n: int) -> None:
    head, rest = peek(iter(chunks), n)
    assert head == b"".join(chunks)[:n]
    assert b"".join(rest) == b"".join(chunks)


# clean_filename


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("relevé CAF.pdf", "relevé CAF.pdf"),
        ("../../etc/passwd", "passwd"),
        ("/etc/passwd", "passwd"),
        ("C:\\Users\\Léa\\Documents\\relevé.pdf", "relevé.pdf"),
        ("\\\\server\\share\\scan.png", "scan.png"),
        ("dossier/", ""),
        ("a\x00b.pdf", "ab.pdf"),
        ("a\r\nSet-Cookie: x.pdf", "a Set-Cookie: x.pdf"),
        ("tab\there.pdf", "tab here.pdf"),
        ("nbsp\u00a0and\u2028line.pdf", "nbsp and line.pdf"),
        ("c1\x9b31mred\x85next.pdf", "c131mred next.pdf"),
        ("\x1b[31mred.pdf", "[31mred.pdf"),
        ("\u202egnp.exe.pdf", "gnp.exe.pdf"),
        ("zero\u200bwidth\ufeff.pdf", "zerowidth.pdf"),
        ("..", ""),
        ("...", ""),
        (". . .", ""),
        (".htaccess", "htaccess"),
        ("...hidden.pdf", "hidden.pdf"),
        ("name.pdf. . ", "name.pdf"),
        ("  many    spaces .pdf  ", "many spaces .pdf"),
        ("📄 relevé 🎉.pdf", "📄 relevé 🎉.pdf"),
        ("rele\u0301ve\u0301.pdf", "rel\u00e9v\u00e9.pdf"),  # composed: 10 characters
        ("\ue000private.pdf", "private.pdf"),
        ("", ""),
        (None, ""),
        ("\x00\x01\u202e", ""),
    ],
)
def test_clean_filename(raw: str | None, expected: str) -> None:
    assert clean_filename(raw) == expected


@pytest.mark.parametrize(
    "control", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067"]
)
def test_every_bidi_control_is_dropped(control: str) -> None:
    assert clean_filename(f"a{control}b\u2068c\u2069d\u200ee\u200ff\u061cg.pdf") == "abcdefg.pdf"


def test_long_names_keep_their_extension() -> None:
    name = clean_filename("a" * 296 + ".pdf")
    assert len(name) == MAX_FILENAME_CHARS
    assert name == "a" * (MAX_FILENAME_CHARS - 4) + ".pdf"


def test_long_names_without_extension_are_cut() -> None:
    assert clean_filename("é" * 300) == "é" * MAX_FILENAME_CHARS
    # A "suffix" this long is part of the name, not an extension to keep.
    name = clean_filename("x." + "y" * 300)
    assert name == ("x." + "y" * 300)[:MAX_FILENAME_CHARS]


def test_long_names_do_not_end_in_a_space_before_the_extension() -> None:
    name = clean_filename("a" * 115 + " " + "b" * 200 + ".pdf")
    assert name == "a" * 115 + ".pdf"


def test_truncation_counts_characters_after_composing_accents() -> None:
    decomposed = "e\u0301" * 150 + ".pdf"
    name = clean_filename(decomposed)
    assert name == "é" * (MAX_FILENAME_CHARS - 4) + ".pdf"


@settings(max_examples=500, deadline=None)
@given(raw=st.text())
def test_clean_filename_property(raw: str) -> None:
    name = clean_filename(raw)
    assert len(name) <= MAX_FILENAME_CHARS
    assert "/" not in name and "\\" not in name
    assert name == name.strip(" .")
    assert unicodedata.is_normalized("NFC", name)
    assert not any(unicodedata.category(c)[0] in "CZ" and c != " " for c in name)
    assert "  " not in name
    name.encode("utf-8")  # storable: no lone surrogates
    assert clean_filename(name) == name


# Titles and download names


@pytest.mark.parametrize(
    ("name", "title"),
    [
        ("mon_relevé-CAF.pdf", "mon relevé CAF"),
        ("scan", "scan"),
        ("archive.tar.gz", "archive.tar"),
        ("a__b--c.png", "a b c"),
        ("2024-01 quittance.jpg", "2024 01 quittance"),
        ("", ""),
    ],
)
def test_title_from_filename(name: str, title: str) -> None:
    assert title_from_filename(name) == title


@pytest.mark.parametrize(
    ("title", "mime", "name"),
    [
        ("Relevé CAF", "application/pdf", "Relevé CAF.pdf"),
        ("scan.pdf", "application/pdf", "scan.pdf"),
        ("SCAN.PDF", "application/pdf", "SCAN.pdf"),
        ("photo", "image/jpeg", "photo.jpg"),
        ("Carte", "image/png", "Carte.png"),
        ("", "image/png", "document.png"),
        ("...", "application/pdf", "document.pdf"),
        ("Attestation 2024/2025", "application/pdf", "Attestation 2024-2025.pdf"),
        ("a\r\nb\u202e", "application/pdf", "a b.pdf"),
        ("notes", "application/x-unknown", "notes"),
    ],
)
def test_download_name(title: str, mime: str, name: str) -> None:
    assert download_name(title, mime) == name


def test_long_download_names_keep_their_extension() -> None:
    name = download_name("x" * 500, "application/pdf")
    assert len(name) == MAX_FILENAME_CHARS
    assert name.endswith("x.pdf")


@pytest.mark.parametrize(
    ("title", "header"),
    [
        ("report", "attachment; filename=report.pdf"),
        (
            "Relevé CAF",
            "attachment; filename=\"Releve CAF.pdf\"; filename*=UTF-8''Relev%C3%A9%20CAF.pdf",
        ),
        (
            "Пропуск",
            "attachment; filename=document.pdf; "
            "filename*=UTF-8''%D0%9F%D1%80%D0%BE%D0%BF%D1%83%D1%81%D0%BA.pdf",
        ),
        (
            'a"b\r\nSet-Cookie: x',
            'attachment; filename="a_b Set-Cookie_ x.pdf"; '
            "filename*=UTF-8''a%22b%20Set-Cookie%3A%20x.pdf",
        ),
    ],
)
def test_content_disposition(title: str, header: str) -> None:
    assert content_disposition(title, "application/pdf") == header


@settings(max_examples=300, deadline=None)
@given(title=st.text(), mime=st.sampled_from([*ALLOWED_TYPES, "application/x-other"]))
def test_content_disposition_round_trips(title: str, mime: str) -> None:
    header = content_disposition(title, mime)
    header.encode("ascii")
    assert "\r" not in header and "\n" not in header
    value, options = parse_options_header(header)
    assert value == "attachment"
    # werkzeug prefers filename* when both are sent, as browsers do.
    assert options["filename"] == download_name(title, mime)
