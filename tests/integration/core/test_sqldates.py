"""vault.core.sqldates.iso_date: the same text on both databases, whatever the DateStyle."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Column, Date, Integer, MetaData, Table, insert, select, text
from sqlalchemy.engine import Connection

from vault.core.sqldates import iso_date


@pytest.mark.parametrize("style", ["ISO, MDY", "SQL, DMY", "German", "Postgres, DMY"])
def test_a_date_column_reads_as_iso_text(connection: Connection, style: str) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SET LOCAL DateStyle = '{style}'"))
    days = Table(
        "iso_date_test",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("day", Date),
        prefixes=["TEMPORARY"],
    )
    days.create(connection)
    connection.execute(insert(days), [{"id": 1, "day": date(2027, 3, 4)}, {"id": 2, "day": None}])
    read = connection.execute(select(iso_date(days.c.day)).order_by(days.c.id)).scalars()
    assert list(read) == ["2027-03-04", None]
