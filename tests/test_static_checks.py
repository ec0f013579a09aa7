"""Type and lint checks run with the tests, so CI enforces them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_mypy_strict_on_crypto_and_storage_typed_vault() -> None:
    # pyproject makes crypto.* and storage.* strict; vault/ needs typed defs.
    result = run("mypy", "crypto", "storage", "vault")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_flag_on_crypto() -> None:
    result = run("mypy", "--strict", "crypto")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_lint() -> None:
    result = run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = run("ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


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
    import ast
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
