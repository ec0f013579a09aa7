"""`vault intake import`: exit status, one line per refused line, the sheets' PDF."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.factories import make_account, make_establishment
from tests.helpers import pdf_pages_text
from tests.integration.intake.files import PLACE, arrivals
from vault.core.db import db_session
from vault.models import JournalEvent, PersonProfile, Role, User


# Slow: WeasyPrint lays out 480 pages (a minute or more on two shared cores).
@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_import_500_lines_writes_480_sheets_and_reports_20(app: Flask, tmp_path: Path) -> None:
    make_establishment(app, PLACE)
    admin = make_account(app, Role.ADMINISTRATOR, first="Ada", last="Admin")
    data, expected = arrivals(480)
    source = tmp_path / "arrivees.csv"
    source.write_bytes(b"\xef\xbb\xbf" + data)  # as a spreadsheet saves "CSV UTF-8"
    out = tmp_path / "feuilles.pdf"
    runner = app.test_cli_runner()
    args = ["intake", "import", str(source), "--by", admin.username]

    dry = runner.invoke(args=[*args, "--dry-run"])
    assert dry.exit_code == 3, dry.output
    assert dry.output.splitlines()[-1] == (
        "intake import: dry run, nothing changed (480 created, 0 updated, 0 unchanged, 20 refused)"
    )
    # Without a place for the sheets the codes would be lost: nothing is written.
    bare = runner.invoke(args=args)
    assert bare.exit_code == 1 and "--sheets" in bare.output
    with app.app_context():
        count = select(func.count()).select_from(PersonProfile)
        assert db_session().execute(count).scalar_one() == 0

    result = runner.invoke(
        args=[
            *args,
            "--sheets",
            str(out),
            "--base-url",
            "https://coffre.example.fr",
            "--workers",
            "2",
        ]
    )
    assert result.exit_code == 3, result.output
    lines = result.output.splitlines()
    refused = [line for line in lines if ": refused: " in line]
    assert [int(line.split()[1].rstrip(":")) for line in refused] == sorted(expected)
    assert "déjà" in refused[-1]  # in French: "La ligne 2 a déjà ce numéro d'écrou…"
    assert lines[-1] == (
        "intake import: DONE (480 created, 0 updated, 0 unchanged, 20 refused); "
        f"480 activation sheet(s) in {out}"
    )
    assert out.stat().st_mode & 0o777 == 0o600
    pages = pdf_pages_text(out.read_bytes())
    assert len(pages) == 480
    with app.app_context():
        first = (
            db_session()
            .execute(select(User).join(PersonProfile).where(PersonProfile.prison_number == "A0000"))
            .scalar_one()
        )
        assert first.username in pages[0] and "https://coffre.example.fr/activer" in pages[0]
    document = pdfium.PdfDocument(out.read_bytes())
    assert {tuple(round(x) for x in document[i].get_size()) for i in (0, 479)} == {(595, 842)}
    document.close()

    again = runner.invoke(args=[*args, "--sheets", str(tmp_path / "again.pdf")])
    assert again.exit_code == 3
    assert again.output.splitlines()[-1] == (
        "intake import: DONE (0 created, 0 updated, 480 unchanged, 20 refused)"
    )
    assert not (tmp_path / "again.pdf").exists()


def test_an_unreadable_file_fails_with_one_line(app: Flask, tmp_path: Path) -> None:
    source = tmp_path / "liste.csv"
    source.write_bytes("numéro;nom\n".encode("latin-1"))
    result = app.test_cli_runner().invoke(args=["intake", "import", str(source)])
    assert result.exit_code == 1
    assert result.output.startswith("intake import: FAILED: ")
    assert "UTF-8" in result.output and len(result.output.splitlines()) == 1


def test_a_clean_file_exits_0_and_the_system_is_the_actor(app: Flask, tmp_path: Path) -> None:
    make_establishment(app, PLACE)
    source = tmp_path / "sorties.csv"
    source.write_text(
        f"action;numero_ecrou;etablissement;nom;prenom\narrivee;1;{PLACE};Diallo;Aminata\n",
        encoding="utf-8",
    )
    out = tmp_path / "f.pdf"
    args = ["intake", "import", str(source), "--sheets", str(out)]
    result = app.test_cli_runner().invoke(args=[*args, "--base-url", "http://127.0.0.1:5000"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"intake import: OK (1 created, 0 updated, 0 unchanged, 0 refused); "
        f"1 activation sheet(s) in {out}"
    ]
    assert len(pdf_pages_text(out.read_bytes())) == 1
    with app.app_context():
        actors = db_session().execute(select(JournalEvent.actor_role)).scalars().all()
        assert actors == ["system"]
