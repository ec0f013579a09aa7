"""A date as ISO text (YYYY-MM-DD) in SQL, the same on PostgreSQL and SQLite.

For values aggregated into one string (`func.aggregate_strings`): PostgreSQL's
own cast follows the server's DateStyle, which a deployment may change.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction


class iso_date(GenericFunction[str]):  # named like the SQL functions it stands for
    """iso_date(column): the date as YYYY-MM-DD, NULL stays NULL."""

    type = String()
    inherit_cache = True


@compiles(iso_date)
def _as_stored(element: iso_date, compiler: Any, **kw: Any) -> str:
    # SQLite keeps a Date as this very text (SQLAlchemy's storage format).
    return str(compiler.process(element.clauses, **kw))


@compiles(iso_date, "postgresql")
def _to_char(element: iso_date, compiler: Any, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD')"
