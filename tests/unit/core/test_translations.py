"""Every interface string goes through gettext, and every language of the registry translates
each one, with the same placeholders (docs/translations.md).

For each language of vault/core/languages.py the catalogue
vault/translations/<code>/LC_MESSAGES/messages.po must exist and hold every
message of the sources, no stale one (obsolete, or no longer in the
sources), no fuzzy one, no empty one, and in each translation the same
placeholders as in the English (`%(name)s`, `%(num)d`, `%%`). A plural form
may leave out `%(num)d` (French "un document" for one); every other
placeholder stays in every form.

`catalogue_problems` is checked itself on catalogues made here with one
defect each, so the checks are known to fail when they should.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

from vault.core.languages import CODES

ROOT = Path(__file__).resolve().parents[3]
TRANSLATIONS = ROOT / "vault" / "translations"
PYBABEL = str(Path(sys.executable).with_name("pybabel"))

# A printf-style placeholder as Python's % operator reads it: `%(name)s`, `%d`, `%%`.
PLACEHOLDER = re.compile(
    r"%(?:\([A-Za-z_][A-Za-z0-9_]*\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]"
)
COUNT = "%(num)d"


def extract(directory: Path) -> Path:
    pot = directory / "messages.pot"
    subprocess.run(
        [
            PYBABEL,
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
    return pot


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The messages of the sources, extracted once for the module."""
    with extract(tmp_path_factory.mktemp("pot")).open("rb") as f:
        return read_po(f)


def ids(catalog: Catalog) -> set[str]:
    return {_key(m) for m in catalog if m.id}


def _key(message: Message) -> str:
    return str(message.id[0] if isinstance(message.id, (list, tuple)) else message.id)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def catalogue_problems(path: Path, code: str, source: Catalog) -> list[str]:
    """What is wrong with the catalogue at `path` for language `code`, one line per problem."""
    if not path.exists():
        return [f"{code}: no catalogue at {path.relative_to(path.parents[3])}"]
    with path.open("rb") as f:
        catalog = read_po(f, locale=code)
    problems = [f"{code}: obsolete entry {str(k)!r}" for k in catalog.obsolete]
    expected = {_key(m): m for m in source if m.id}
    present = {_key(m): m for m in catalog if m.id}
    problems += [f"{code}: missing {k!r}" for k in sorted(set(expected) - set(present))]
    problems += [
        f"{code}: stale (not in the sources) {k!r}" for k in sorted(set(present) - set(expected))
    ]
    for key, message in sorted(present.items()):
        if key not in expected:
            continue
        if message.fuzzy:
            problems.append(f"{code}: fuzzy {key!r}")
        plural = isinstance(message.id, (list, tuple))
        strings = list(message.string) if plural else [message.string]
        if not all(strings):
            problems.append(f"{code}: untranslated {key!r}")
            continue
        if plural:
            wanted = placeholders(message.id[0]) | placeholders(message.id[1])
            for form in strings:
                found = placeholders(form)
                if found != wanted and found != wanted - {COUNT}:
                    problems.append(f"{code}: placeholders {sorted(found)} in a form of {key!r}")
        elif placeholders(strings[0]) != placeholders(key):
            problems.append(f"{code}: placeholders {sorted(placeholders(strings[0]))} in {key!r}")
    return problems


def test_template_is_up_to_date_with_the_sources(sources: Catalog) -> None:
    with (TRANSLATIONS / "messages.pot").open("rb") as f:
        committed = read_po(f)
    assert ids(sources) == ids(committed), "run: scripts/update-translations"


@pytest.mark.parametrize("code", CODES)
def test_each_language_translates_every_message(code: str, sources: Catalog) -> None:
    path = TRANSLATIONS / code / "LC_MESSAGES" / "messages.po"
    problems = catalogue_problems(path, code, sources)
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} problems)"


# The checker, on catalogues with one defect each ------------------------------------


SOURCE_MESSAGES = [
    ("Sign in", ""),
    ("You added %(doc)s.", ""),
    (("%(num)d document in %(place)s.", "%(num)d documents in %(place)s."), ("", "")),
    ("100 %% sure", ""),
]


@pytest.fixture
def small_source() -> Catalog:
    catalog = Catalog()
    for msgid, msgstr in SOURCE_MESSAGES:
        catalog.add(msgid, msgstr)
    return catalog


def write(
    tmp_path: Path, code: str, entries: list[tuple[object, object, bool]], *, obsolete: bool = False
) -> Path:
    catalog = Catalog(locale=code)
    for msgid, msgstr, fuzzy in entries:
        catalog.add(msgid, msgstr, flags=["fuzzy"] if fuzzy else [])  # type: ignore[arg-type]
    if obsolete:
        catalog.obsolete["Old message"] = Message("Old message", "Ancien message")
    path = tmp_path / "translations" / code / "LC_MESSAGES" / "messages.po"
    path.parent.mkdir(parents=True)
    with path.open("wb") as f:
        write_po(f, catalog)
    return path


GOOD_RU = [
    ("Sign in", "Войти", False),
    ("You added %(doc)s.", "Вы добавили %(doc)s.", False),
    (
        ("%(num)d document in %(place)s.", "%(num)d documents in %(place)s."),
        (
            "%(num)d документ в %(place)s.",
            "%(num)d документа в %(place)s.",
            "%(num)d документов в %(place)s.",
        ),
        False,
    ),
    ("100 %% sure", "Уверен на 100 %%", False),
]


def test_a_complete_catalogue_passes(tmp_path: Path, small_source: Catalog) -> None:
    assert catalogue_problems(write(tmp_path, "ru", GOOD_RU), "ru", small_source) == []


def test_a_plural_form_may_leave_out_the_count_only(tmp_path: Path, small_source: Catalog) -> None:
    french = [
        ("Sign in", "Se connecter", False),
        ("You added %(doc)s.", "Vous avez ajouté %(doc)s.", False),
        (
            ("%(num)d document in %(place)s.", "%(num)d documents in %(place)s."),
            # Babel's French rule has a third form, for millions.
            (
                "Un document à %(place)s.",
                "%(num)d documents à %(place)s.",
                "%(num)d de documents à %(place)s.",
            ),
            False,
        ),
        ("100 %% sure", "Sûr à 100 %%", False),
    ]
    assert catalogue_problems(write(tmp_path, "fr", french), "fr", small_source) == []
    forms = ("Un document.", "%(num)d documents à %(place)s.", "%(num)d de documents à %(place)s.")
    french[2] = (french[2][0], forms, False)
    problems = catalogue_problems(write(tmp_path / "b", "fr", french), "fr", small_source)
    assert problems == ["fr: placeholders [] in a form of '%(num)d document in %(place)s.'"]


@pytest.mark.parametrize(
    ("defect", "expected"),
    [
        ("missing", "ru: missing 'Sign in'"),
        ("stale", "ru: stale (not in the sources) 'Sign up'"),
        ("obsolete", "ru: obsolete entry 'Old message'"),
        ("fuzzy", "ru: fuzzy 'Sign in'"),
        ("empty", "ru: untranslated 'Sign in'"),
        ("renamed placeholder", "ru: placeholders ['%(document)s'] in 'You added %(doc)s.'"),
        ("lost percent", "ru: placeholders [] in '100 %% sure'"),
        (
            "plural placeholder",
            "ru: placeholders ['%(num)d'] in a form of '%(num)d document in %(place)s.'",
        ),
        # Babel reads a missing plural form as an empty one.
        ("plural count", "ru: untranslated '%(num)d document in %(place)s.'"),
    ],
)
def test_each_defect_is_found(
    tmp_path: Path, small_source: Catalog, defect: str, expected: str
) -> None:
    entries = list(GOOD_RU)
    obsolete = False
    if defect == "missing":
        entries = entries[1:]
    elif defect == "stale":
        entries.append(("Sign up", "Зарегистрироваться", False))
    elif defect == "obsolete":
        obsolete = True
    elif defect == "fuzzy":
        entries[0] = ("Sign in", "Войти", True)
    elif defect == "empty":
        entries[0] = ("Sign in", "", False)
    elif defect == "renamed placeholder":
        entries[1] = ("You added %(doc)s.", "Вы добавили %(document)s.", False)
    elif defect == "lost percent":
        entries[3] = ("100 %% sure", "Уверен на 100 %", False)
    elif defect == "plural placeholder":
        msgid, forms, _ = entries[2]
        entries[2] = (msgid, (forms[0], forms[1], "%(num)d документов."), False)  # type: ignore[index]
    elif defect == "plural count":
        msgid, forms, _ = entries[2]
        entries[2] = (msgid, forms[:2], False)  # type: ignore[index]
    path = write(tmp_path, "ru", entries, obsolete=obsolete)
    assert catalogue_problems(path, "ru", small_source) == [expected]


def test_a_language_without_catalogue_is_found(tmp_path: Path, small_source: Catalog) -> None:
    path = tmp_path / "vault" / "translations" / "sq" / "LC_MESSAGES" / "messages.po"
    assert catalogue_problems(path, "sq", small_source) == [
        "sq: no catalogue at translations/sq/LC_MESSAGES/messages.po"
    ]


def test_the_update_script_reports_every_language(tmp_path: Path) -> None:
    """scripts/update-translations merges into each catalogue and reports each language."""
    copy = tmp_path / "repo"
    shutil.copytree(
        ROOT / "vault", copy / "vault", ignore=shutil.ignore_patterns("*.mo", "__pycache__")
    )
    shutil.copytree(ROOT / "templates", copy / "templates")
    shutil.copytree(ROOT / "scripts", copy / "scripts")
    shutil.copy(ROOT / "babel.cfg", copy / "babel.cfg")
    (copy / ".venv").symlink_to(Path(sys.executable).parents[1])
    translations = copy / "vault" / "translations"
    for code in CODES:
        if code != "fr":
            shutil.rmtree(translations / code, ignore_errors=True)
    # A new language started with `pybabel init`, as docs/translations.md says.
    subprocess.run(
        [
            PYBABEL,
            "init",
            "-i",
            str(translations / "messages.pot"),
            "-d",
            str(translations),
            "-l",
            "ru",
        ],
        check=True,
        capture_output=True,
    )
    result = subprocess.run(
        ["bash", str(copy / "scripts" / "update-translations")],
        cwd=copy,
        check=True,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(copy)},
    )
    lines = result.stdout.splitlines()
    assert len(lines) == len(CODES)
    assert any(line.startswith("update-translations: fr (Français): 0 of ") for line in lines)
    total = len(ids_of(translations / "messages.pot"))
    assert (
        f"update-translations: ru (Русский): {total} of {total} messages left to translate" in lines
    )
    assert any("ar (العربية): no catalogue yet" in line for line in lines)


def ids_of(path: Path) -> set[str]:
    with path.open("rb") as f:
        return ids(read_po(f))
