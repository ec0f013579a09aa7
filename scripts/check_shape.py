"""The shape of vault/ (docs/architecture.md §1.4), checked by `make lint`, outside pytest.

No import cycle among vault/ modules (in-function imports and package
__init__ files count), no module over 450 lines (migrations excepted), no
module loose directly in vault/, no private name used across modules. The
layers and the Flask ban are import-linter's (pyproject.toml); these are what
it cannot say. Prints each problem and exits 1, or exits 0 silently.

Usage: python scripts/check_shape.py
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VAULT = ROOT / "vault"
# Migrations are history: long by nature, never imported by the app's modules.
MIGRATIONS = VAULT / "migrations"
MAX_LINES = 450


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


def import_cycles() -> list[str]:
    """Each feature and core can be read, tested and moved on its own.

    An import inside a function counts: it hides the cycle from the reader,
    not from the design.
    """
    modules = vault_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for imported, _line, _alias, _from in imported_modules(name, path, modules):
            # Importing a.b.c runs a.b's __init__ first: an edge too. Not the
            # root package's: Python has loaded vault/__init__ (the app
            # factory, which imports every feature) before any of its modules.
            parts = imported.split(".")
            # A module inside a package does not load that package again: it
            # is already loading (its __init__ may import its own modules).
            parents = [".".join(parts[:k]) for k in range(2, len(parts))]
            for parent in parents:
                if parent in modules and not name.startswith(f"{parent}."):
                    graph[name].add(parent)
            if imported != name:
                graph[name].add(imported)
    cycles = [
        " -> ".join(a_cycle_through(min(component), graph, component))
        + f"  (component: {', '.join(sorted(component))})"
        for component in strongly_connected(graph)
    ]
    return cycles


def long_modules() -> list[str]:
    """A module that outgrows this holds several jobs: split it by job (migrations excepted)."""
    long = [
        f"{path.relative_to(ROOT)}: {lines} lines"
        for path in vault_modules().values()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    ]
    return long


def loose_modules() -> list[str]:
    """vault/ holds the app factory and packages: core, models, one per feature."""
    return sorted(f"vault/{p.name}" for p in VAULT.glob("*.py") if p.name != "__init__.py")


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def private_uses() -> list[str]:
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
    return uses


def dotted_name(node: ast.expr) -> str | None:
    """ "a.b.c" for the expression a.b.c, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        parent = dotted_name(node.value)
        return f"{parent}.{node.attr}" if parent else None
    return None


CHECKS = {
    "import cycles (each feature and core can be read, tested and moved on its own)": import_cycles,
    f"modules over {MAX_LINES} lines (one job each: split by job)": long_modules,
    "modules loose in vault/ (it holds the app factory and packages)": loose_modules,
    "private names used across modules (give the concept a public home)": private_uses,
}


def main() -> int:
    status = 0
    for title, check in CHECKS.items():
        problems = check()
        if problems:
            status = 1
            print(f"check_shape: {title}:", *problems, sep="\n  ", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
