"""Cheap checks on the code's shape, pure Python (ast): what a failure means is in each test.

Lint (ruff, ruff format, mypy, import-linter's contracts) runs in `make lint`,
not here: a test failure means behaviour or shape, never style.
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VAULT = ROOT / "vault"
# Migrations are history: long by nature, never imported by the app's modules.
MIGRATIONS = VAULT / "migrations"
MAX_LINES = 450


def test_pure_libraries_import_nothing_from_the_app() -> None:
    forbidden = {
        "crypto": ("flask", "sqlalchemy", "storage", "vault", "minio"),
        "storage": ("flask", "sqlalchemy", "crypto", "vault"),
    }
    for package, names in forbidden.items():
        for source in (ROOT / package).rglob("*.py"):
            for line in source.read_text().splitlines():
                stripped = line.strip()
                if stripped.startswith(("import ", "from ")):
                    module = stripped.split()[1].split(".")[0]
                    assert module not in names, f"{source.relative_to(ROOT)}: {stripped}"


def test_every_test_the_security_docs_name_exists() -> None:
    """docs/security.md and docs/security/*.md cite tests as proof: each must exist.

    A renamed or deleted test would otherwise leave a promise with nothing
    behind it. `file::name` and the `::name` shorthand after a file are both
    checked (a parametrized test counts under its base name).
    """
    import re

    root = Path(__file__).resolve().parent.parent
    docs = [root / "docs" / "security.md", *sorted((root / "docs" / "security").glob("*.md"))]
    reference = re.compile(r"(tests/[\w/]+\.py)?::(\w+)")
    missing = []
    for doc in docs:
        current: str | None = None
        for match in reference.finditer(doc.read_text()):
            current = match.group(1) or current
            assert current is not None, f"{doc.name}: ::{match.group(2)} names no file"
            path = root / current
            names = (
                {
                    node.name
                    for node in ast.walk(ast.parse(path.read_text()))
                    if isinstance(node, ast.FunctionDef)
                }
                if path.exists()
                else set()
            )
            if match.group(2) not in names:
                missing.append(f"{doc.name}: {current}::{match.group(2)}")
    assert not missing, missing


def test_no_file_cites_design_files_outside_the_repository() -> None:
    """The repository stands on its own: no file cites design notes kept outside it.

    The design, the threat model, the users and the code conventions are in
    docs/architecture.md, the choices in docs/decisions.md. The blame-ignore
    list and the previous release's fixture are history, not citations.
    """
    outside = re.compile(r"\b(?:DESIGN|STYLE|USERS)\.md\b|\.\./shared\b")
    excluded = (".git-blame-ignore-revs", "tests/fixtures/previous_release/")
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    found = []
    for name in filter(None, listed.stdout.decode().split("\0")):
        path = ROOT / name
        if name.startswith(excluded) or path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data:  # binary
            continue
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if outside.search(line):
                found.append(f"{name}:{number}: {line.strip()}")
    assert not found, "cited outside the repository:\n" + "\n".join(found)
