"""/metrics: only for the allowed networks; what it counts, by route and kind, never by person."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.engine import Connection

from tests.factories import make_account
from tests.helpers import post_form
from vault.core.config import ConfigError, Settings
from vault.core.db import get_database


@pytest.fixture
def watched(make_app: Callable[..., Flask], database_url: str, connection: Connection) -> Flask:
    app = make_app(database_url=database_url, metrics_allow=("10.9.0.0/16", "127.0.0.1/32"))
    get_database(app).bind_to(connection)
    return app


def scrape(app: Flask, address: str = "127.0.0.1") -> tuple[int, str]:
    response = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": address})
    return response.status_code, response.get_data(as_text=True)


def value(metrics: str, name: str, **labels: str) -> float:
    inside = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(f"{name}{{{inside}}}" if labels else name) + r" ([0-9.e+]+)"
    match = re.search(pattern, metrics)
    return float(match.group(1)) if match else 0.0


def test_only_the_allowed_networks_read_the_metrics(watched: Flask) -> None:
    assert scrape(watched, "10.9.4.2")[0] == 200
    assert scrape(watched, "127.0.0.1")[0] == 200
    for outsider in ("10.8.0.1", "192.0.2.7", "::1"):
        status, body = scrape(watched, outsider)
        assert status == 404 and "vault_" not in body


def test_nobody_reads_them_by_default(app: Flask) -> None:
    assert scrape(app)[0] == 404


def test_sign_in_failures_and_requests_are_counted_by_kind_and_route(watched: Flask) -> None:
    before = scrape(watched)[1]
    person = make_account(watched, first="Nadia", last="Ferhat")
    client = watched.test_client()
    refused = post_form(
        client, "/connexion", {"username": person.username, "passphrase": "pas la bonne phrase"}
    )
    assert refused.status_code == 200
    client.get(f"/documents/{'0' * 8}-0000-0000-0000-{'0' * 12}")
    after = scrape(watched)[1]
    failures = ("vault_signin_failures_total", {"kind": "password"})
    assert value(after, failures[0], **failures[1]) == value(before, failures[0], **failures[1]) + 1
    route: dict[str, Any] = {"method": "POST", "route": "/connexion", "status": "200"}
    name = "vault_http_requests_total"
    assert value(after, name, **route) == value(before, name, **route) + 1
    # The document's id is in the path, never in a label.
    assert 'route="/documents/<uuid:document_id>"' in after
    assert "0000-0000" not in after and person.username not in after and "Ferhat" not in after


@pytest.mark.parametrize(
    ("variable", "value_"),
    [("VAULT_METRICS_ALLOW", "everyone"), ("VAULT_LOG_FORMAT", "xml")],
)
def test_bad_settings_name_their_variable(variable: str, value_: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(
            {"VAULT_ENV": "testing", "VAULT_INSTANCE_PATH": str(tmp_path), variable: value_}
        )
    assert refused.value.variable == variable


def test_settings_read_the_allowlist_and_the_format(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "VAULT_ENV": "testing",
            "VAULT_INSTANCE_PATH": str(tmp_path),
            "VAULT_METRICS_ALLOW": "10.9.0.0/16, 127.0.0.1",
            "VAULT_LOG_FORMAT": "JSON",
            "VAULT_SECRET_KEY": "k" * 48,
            "VAULT_SERVER_KEYS": "1:" + "A" * 43 + "=",
        }
    )
    assert settings.metrics_allow == ("10.9.0.0/16", "127.0.0.1/32")
    assert settings.log_format == "json"
