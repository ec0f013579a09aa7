"""The authorization matrix: every route, every role, the expected answer.

A route added without a line here fails `test_every_route_is_in_the_matrix`,
so no page can ship without someone deciding who may reach it. Roles are
added as accounts arrive (person, counsellor, administrator, recovery officer).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

ANONYMOUS = "anonymous"
ROLES: dict[str, Callable[[Flask], FlaskClient]] = {
    ANONYMOUS: lambda app: app.test_client(),
}

# endpoint -> (method, path, {role: expected status})
MATRIX: dict[str, tuple[str, str, dict[str, int]]] = {
    "main.home": ("GET", "/", {ANONYMOUS: 200}),
    "main.health": ("GET", "/health", {ANONYMOUS: 200}),
    "static": ("GET", "/static/css/vault.css", {ANONYMOUS: 200}),
}


def test_every_route_is_in_the_matrix(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(MATRIX), "add the new routes to MATRIX with every role"


@pytest.mark.parametrize("endpoint", sorted(MATRIX))
@pytest.mark.parametrize("role", sorted(ROLES))
def test_role_gets_the_expected_answer(app: Flask, endpoint: str, role: str) -> None:
    method, path, expected = MATRIX[endpoint]
    assert set(expected) == set(ROLES), f"{endpoint}: decide every role"
    with ROLES[role](app).open(path, method=method) as response:
        assert response.status_code == expected[role]
