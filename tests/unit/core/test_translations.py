"""Every interface string goes through gettext and has its French translation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[3]
TRANSLATIONS = ROOT / "vault" / "translations"


def extract(tmp_path: Path) -> set[str]:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).with_name("pybabel")),
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "--no-location",
            "--omit-header",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as f:
        return {str(m.id) for m in read_po(f) if m.id}


def test_template_is_up_to_date_with_the_sources(tmp_path: Path) -> None:
    with (TRANSLATIONS / "messages.pot").open("rb") as f:
        committed = {str(m.id) for m in read_po(f) if m.id}
    assert extract(tmp_path) == committed, "run: pybabel extract (see docs/translations.md)"


def test_french_catalogue_translates_every_message(tmp_path: Path) -> None:
    with (TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f)
    translated = {str(m.id) for m in catalog if m.id and m.string and not m.fuzzy}
    missing = extract(tmp_path) - translated
    assert not missing, f"untranslated in French: {sorted(missing)}"
