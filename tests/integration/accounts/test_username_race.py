"""Two administrators opening accounts with the same name at once (issue 11).

Each thread has its own session and transaction on a PostgreSQL schema of its
own (the commits are real, so the shared test schema stays clean); they start
together. Every opening must succeed with its own username.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from crypto import Argon2Params, KeyRing
from tests.conftest import DEFAULT_TEST_PG, TEST_ESCROW
from tests.services import service_missing
from vault.accounts import keys
from vault.accounts import service as accounts
from vault.core import migrate
from vault.core.config import Settings
from vault.core.db import make_engine
from vault.models import Role

OPENINGS = 4


@pytest.fixture
def fresh_postgresql() -> Iterator[Engine]:
    """An engine on a new, migrated PostgreSQL schema, dropped after the test."""
    base = os.environ.get("VAULT_TEST_DATABASE_URL", DEFAULT_TEST_PG)
    schema = f"vault_race_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as e:
        admin.dispose()
        service_missing(f"PostgreSQL unreachable: {e.orig}")
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url.render_as_string(hide_password=False), pool_size=OPENINGS + 1)
    try:
        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_simultaneous_openings_of_one_name_all_succeed(
    fresh_postgresql: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A little Argon2id work inside each transaction, as in production, keeps
    # the first insert uncommitted while the others look for a free name.
    monkeypatch.setattr(keys, "SLOT_PARAMS", Argon2Params(1, 8 * 1024, 1))
    ring = KeyRing.from_string(settings.server_keys)
    escrow = keys.escrow_public_key(TEST_ESCROW["escrow_public_key"])
    start = threading.Barrier(OPENINGS)
    usernames: list[str] = []
    failures: list[BaseException] = []

    def open_one() -> None:
        with Session(fresh_postgresql, expire_on_commit=False) as db:
            db.info["keyring"] = ring
            start.wait()
            try:
                new = accounts.open_account(
                    db,
                    ring,
                    escrow,
                    role=Role.PERSON,
                    first_name="Dominique",
                    last_name="Lefèvre",
                    created_by=None,
                )
                db.commit()
                usernames.append(new.user.username)
            except BaseException as e:  # reported below
                failures.append(e)

    threads = [threading.Thread(target=open_one) for _ in range(OPENINGS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    assert sorted(usernames) == sorted(
        ["dominique.lefevre"] + [f"dominique.lefevre{n}" for n in range(2, OPENINGS + 1)]
    )
