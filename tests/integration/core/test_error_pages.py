"""Error pages after a failed database write: French, with the layout, never the bare 500.

The failures are real: a constraint the database enforces refuses the write
(a CHECK constraint on PostgreSQL, a trigger on SQLite, which cannot add
constraints to a table), inside the test's rolled-back transaction.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import Connection

from tests.factories import csrf_token, make_account, signed_in
from vault.core import migrate
from vault.core.config import Settings
from vault.core.db import get_database, make_engine
from vault.models import Role


def refuse_journal_action(connection: Connection, action: str) -> None:
    """Make the database refuse any journal line of `action` (a real constraint violation)."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            text(
                "ALTER TABLE journal_events ADD CONSTRAINT test_refused "
                f"CHECK (action <> '{action}') NOT VALID"
            )
        )
    else:
        connection.execute(
            text(
                "CREATE TRIGGER test_refused BEFORE INSERT ON journal_events "
                f"WHEN NEW.action = '{action}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        )


@pytest.mark.parametrize("role", [Role.PERSON, Role.ADMINISTRATOR, Role.COUNSELLOR])
def test_a_failed_write_gives_the_french_error_page_with_the_layout(
    app: Flask, connection: Connection, role: Role
) -> None:
    account = make_account(app, role=role)
    client = signed_in(app, account)
    token = csrf_token(client, "/compte/")
    refuse_journal_action(connection, "signout.everywhere")

    response = client.post("/compte/deconnexion-partout", data={"csrf_token": token})

    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 500
    assert "Internal Server Error" not in page
    assert "Erreur du service" in page
    assert "Rien n'a été perdu" in page
    # The layout: header, footer, the stylesheet.
    assert 'class="site-header"' in page and 'class="site-footer"' in page
    assert "/static/css/vault.css" in page
    # Nothing was half-done: the sessions the failed request was ending still live.
    assert client.get("/compte/").status_code == 200


def test_an_unreadable_database_still_gives_the_french_page_with_the_layout(
    make_app: Callable[..., Flask], settings: Settings
) -> None:
    """The database fails even to load the signed-in user: the layout is drawn without
    the signed-in menu rather than failing a second time."""
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    engine.dispose()
    app = make_app()
    client = signed_in(app, make_account(app, role=Role.COUNSELLOR))
    assert client.get("/compte/").status_code == 200

    # The file is damaged under the running app (its pooled connections are dropped).
    get_database(app).dispose()
    path = Path(settings.database_url.removeprefix("sqlite:///"))
    for extra in ("-wal", "-shm"):
        path.with_name(path.name + extra).unlink(missing_ok=True)
    path.write_bytes(b"not a database " * 4096)

    response = client.get("/compte/")
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 500
    assert "Erreur du service" in page and "Internal Server Error" not in page
    assert 'class="site-header"' in page and 'class="site-footer"' in page
    assert 'class="site-nav"' not in page  # no signed-in menu: it needs the database
