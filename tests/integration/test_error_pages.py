"""Error pages after a failed database write: French, with the layout, never the bare 500.

The failures are real: a constraint the database enforces refuses the write
(a CHECK constraint on PostgreSQL, a trigger on SQLite, which cannot add
constraints to a table), inside the test's rolled-back transaction.
"""

from __future__ import annotations

import html

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import Connection

from tests.factories import csrf_token, make_account, signed_in
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
