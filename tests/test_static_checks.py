"""Cheap checks on the code's shape, pure Python (ast): what a failure means is in each test.

Lint (ruff, ruff format, mypy, import-linter's contracts) runs in `make lint`,
not here: a test failure means behaviour or shape, never style.
"""

from __future__ import annotations

import ast
import re
import subprocess
from collections.abc import Iterator
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


# --- the shape of vault/ (issue 12) ------------------------------------------------------


def vault_modules() -> dict[str, Path]:
    """Every module of vault/ outside the migrations, by dotted name."""
    modules = {}
    for path in sorted(VAULT.rglob("*.py")):
        if MIGRATIONS in path.parents:
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def imported_modules(
    name: str, path: Path, modules: dict[str, Path]
) -> Iterator[tuple[str, int, ast.alias, bool]]:
    """(module, line, alias, from-import) for each vault module `name` imports, in functions too.

    `from a import b` imports the module a.b when there is one, else takes b
    from a.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    yield alias.name, node.lineno, alias, False
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                if f"{base}.{alias.name}" in modules:
                    yield f"{base}.{alias.name}", node.lineno, alias, True
                elif base in modules:
                    yield base, node.lineno, alias, True


def a_cycle_through(start: str, graph: dict[str, set[str]], members: set[str]) -> list[str]:
    """One shortest import cycle from `start` back to itself, within its component."""
    paths = {start: [start]}
    queue = [start]
    while queue:
        current = queue.pop(0)
        for nxt in sorted(graph[current] & members):
            if nxt == start:
                return [*paths[current], start]
            if nxt not in paths:
                paths[nxt] = [*paths[current], nxt]
                queue.append(nxt)
    return [start]


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's components of more than one module (iterative: no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(component)
    return found


def test_no_import_cycle_among_vault_modules() -> None:
    """Each feature and core can be read, tested and moved on its own.

    An import inside a function counts: it hides the cycle from the reader,
    not from the design.
    """
    modules = vault_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for imported, _line, _alias, _from in imported_modules(name, path, modules):
            if imported != name:
                graph[name].add(imported)
    cycles = [
        " -> ".join(a_cycle_through(min(component), graph, component))
        + f"  (component: {', '.join(sorted(component))})"
        for component in strongly_connected(graph)
    ]
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_no_module_in_vault_is_over_450_lines() -> None:
    """A module that outgrows this holds several jobs: split it by job (migrations excepted)."""
    long = [
        f"{path.relative_to(ROOT)}: {lines} lines"
        for path in vault_modules().values()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    ]
    assert not long, "modules over 450 lines:\n" + "\n".join(long)


def test_no_module_is_left_loose_directly_in_vault() -> None:
    """vault/ holds the app factory and packages: core, models, one per feature."""
    loose = sorted(p.name for p in VAULT.glob("*.py") if p.name != "__init__.py")
    assert not loose, loose


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_no_private_name_is_used_across_vault_modules() -> None:
    """A name another module needs is part of the concept's public home, under a public name.

    Both `from vault.x import _y` and `x._y` where `x` is an imported vault
    module (`from vault import x`, `import vault.x as x`, `import vault.x`).
    """
    modules = vault_modules()
    uses = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        # Local names bound to a vault module, by dotted prefix.
        bound: dict[str, str] = {}
        for imported, line, alias, from_import in imported_modules(name, path, modules):
            if not from_import:
                # `import vault.x.y` binds `vault`: the module is reached as vault.x.y.
                bound[alias.asname or imported] = imported
            elif imported.endswith(f".{alias.name}"):
                bound[alias.asname or alias.name] = imported
            elif private(alias.name) and imported != name:
                uses.append(f"{path.relative_to(ROOT)}:{line}: imports {imported}.{alias.name}")
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and private(node.attr)):
                continue
            dotted = dotted_name(node.value)
            if dotted in bound and bound[dotted] != name:
                uses.append(f"{path.relative_to(ROOT)}:{node.lineno}: uses {dotted}.{node.attr}")
    assert not uses, "private names used across modules:\n" + "\n".join(uses)


def dotted_name(node: ast.expr) -> str | None:
    """ "a.b.c" for the expression a.b.c, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        parent = dotted_name(node.value)
        return f"{parent}.{node.attr}" if parent else None
    return None


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
