"""Refusing an unknown username costs what refusing a real account costs (issue 11).

A wrong code for a real account and any attempt for an unknown name must run
the same Argon2id parameters and write the same rows: otherwise the answer's
timing tells who has an account. Timings are never measured here; the test
records what each path actually does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Connection

import crypto.passwords
from crypto import Argon2Params, format_recovery_code, new_recovery_code
from tests.factories import csrf_token, make_account, open_pending

# Distinct costs for passphrase and recovery slots, as in production (64 MiB,
# t=3 against 19 MiB, t=2), but small enough for a test.
SLOT = Argon2Params(time_cost=2, memory_cost_kib=256, parallelism=1)
RECOVERY = Argon2Params(time_cost=1, memory_cost_kib=128, parallelism=1)
JOURNAL_TABLES = {"journal_events", "journal_heads", "users"}


@pytest.fixture
def costs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("vault.accounts.keys.SLOT_PARAMS", SLOT)
    monkeypatch.setattr("vault.accounts.keys.RECOVERY_PARAMS", RECOVERY)


@contextmanager
def recording(connection: Connection, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list]]:  # type: ignore[type-arg]
    """Argon2id runs (their parameters) and write statements (verb and table)."""
    seen: dict[str, list] = {"argon2": [], "writes": []}  # type: ignore[type-arg]
    real = crypto.passwords.hash_secret_raw

    def hashing(secret: bytes, salt: bytes, **kwargs: object) -> bytes:
        seen["argon2"].append((kwargs["time_cost"], kwargs["memory_cost"], kwargs["parallelism"]))
        return real(secret, salt, **kwargs)  # type: ignore[arg-type]

    def statement(_conn, _cursor, sql: str, *_args: object) -> None:  # type: ignore[no-untyped-def]
        match = re.match(r"\s*(INSERT INTO|UPDATE|DELETE FROM)\s+\"?(\w+)", sql, re.IGNORECASE)
        if match:
            seen["writes"].append((match.group(1).upper(), match.group(2)))

    monkeypatch.setattr(crypto.passwords, "hash_secret_raw", hashing)
    # The app's sessions run inside the test's connection (see conftest).
    event.listen(connection, "before_cursor_execute", statement)
    try:
        yield seen
    finally:
        event.remove(connection, "before_cursor_execute", statement)
        monkeypatch.setattr(crypto.passwords, "hash_secret_raw", real)


def post(app: Flask, path: str, data: dict[str, str]) -> int:
    client = app.test_client()
    token = csrf_token(client, path)
    return client.post(path, data={**data, "csrf_token": token}).status_code


def attempt(app: Flask, flow: str, username: str) -> int:
    if flow == "signin":
        return post(app, "/connexion", {"username": username, "passphrase": "pas la bonne"})
    if flow == "activation":
        return post(app, "/activer", {"username": username, "code": "1234 5678 9012 3456"})
    code = format_recovery_code(new_recovery_code())  # well formed, but not theirs
    return post(app, "/recuperation", {"username": username, "code": code})


@pytest.mark.parametrize("flow", ["signin", "activation", "recovery"])
def test_unknown_names_cost_and_write_what_real_accounts_do(
    app: Flask,
    connection: Connection,
    costs: None,
    monkeypatch: pytest.MonkeyPatch,
    flow: str,
) -> None:
    if flow == "activation":
        username = open_pending(app).user.username
    else:
        username = make_account(app, passphrase="cheval bleu marche vite").username

    with recording(connection, monkeypatch) as real:
        assert attempt(app, flow, username) == 200
    with recording(connection, monkeypatch) as unknown:
        assert attempt(app, flow, "personne.inconnue") == 200

    expected = RECOVERY if flow == "recovery" else SLOT
    params = (expected.time_cost, expected.memory_cost_kib, expected.parallelism)
    assert real["argon2"] == [params]
    assert unknown["argon2"] == real["argon2"]
    # The same throttle rows are written; only the real account's journal
    # gets a line (its owner must see refused attempts).
    assert [w for w in real["writes"] if w[1] not in JOURNAL_TABLES] == unknown["writes"]
    assert unknown["writes"], "a refused attempt counts a failure"
