"""LIKE patterns from what someone typed: `%` and `_` typed are matched as themselves."""

from __future__ import annotations

# The escape character every pattern here uses: pass it as `escape=ESCAPE`.
ESCAPE = "\\"


def contains(typed: str) -> str:
    """A pattern for the values that contain `typed`."""
    escaped = typed.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%")
    return "%" + escaped.replace("_", ESCAPE + "_") + "%"
