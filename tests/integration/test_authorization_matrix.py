"""The authorization matrix: every route, every role, the expected answer.

A route added without a line here fails `test_every_route_is_in_the_matrix`,
so no page can ship without someone deciding who may reach it. POSTs carry a
valid CSRF token of the role's own session, so the answer is the route's
authorization decision, not the CSRF check. `{doc}` is a document of the
owner's vault; `{user}` is the owner's account.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import csrf_token, make_account, make_document, signed_in
from vault.models import Role

ANONYMOUS, OWNER, OTHER, COUNSELLOR, ADMIN = (
    "anonymous",
    "owner",
    "other_person",
    "counsellor",
    "administrator",
)
ROLES = (ANONYMOUS, OWNER, OTHER, COUNSELLOR, ADMIN)


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def signed(anonymous: int, status: int) -> dict[str, int]:
    return {ANONYMOUS: anonymous} | dict.fromkeys(ROLES[1:], status)


def person_only(owner: int, other: int | None = None) -> dict[str, int]:
    return {
        ANONYMOUS: 302,
        OWNER: owner,
        OTHER: owner if other is None else other,
        COUNSELLOR: 403,
        ADMIN: 403,
    }


def only(role: str, status: int) -> dict[str, int]:
    return {ANONYMOUS: 302} | {r: (status if r == role else 403) for r in ROLES[1:]}


# endpoint -> (method, path, {role: expected status})
MATRIX: dict[str, tuple[str, str, dict[str, int]]] = {
    "main.home": ("GET", "/", signed(200, 302)),
    "main.health": ("GET", "/health", everyone(200)),
    "static": ("GET", "/static/css/vault.css", everyone(200)),
    "auth.sign_in": ("GET", "/connexion", signed(200, 302)),
    "auth.sign_out": ("POST", "/deconnexion", everyone(302)),
    "auth.activate": ("GET", "/activer", everyone(200)),
    "auth.choose_passphrase": ("GET", "/activer/phrase-secrete", everyone(403)),
    "auth.recovery_kit": ("GET", "/activer/feuille-de-secours", everyone(302)),
    "auth.recovery_kit_pdf": ("GET", "/activer/feuille-de-secours.pdf", signed(302, 404)),
    "auth.recovery_kit_done": ("POST", "/activer/termine", everyone(302)),
    "account.index": ("GET", "/compte/", signed(302, 200)),
    "account.change_passphrase": ("GET", "/compte/phrase-secrete", signed(302, 200)),
    "account.sign_out_everywhere": ("POST", "/compte/deconnexion-partout", everyone(302)),
    "documents.index": ("GET", "/documents/", person_only(200)),
    "documents.add_form": ("GET", "/documents/ajouter", person_only(200)),
    "documents.upload": ("POST", "/documents/ajouter", person_only(400)),
    "documents.show": ("GET", "/documents/{doc}", person_only(200, 404)),
    "documents.download": ("GET", "/documents/{doc}/telecharger", person_only(200, 404)),
    "documents.preview": ("GET", "/documents/{doc}/apercu", person_only(200, 404)),
    "documents.update": ("POST", "/documents/{doc}/modifier", person_only(302, 404)),
    "documents.replace_form": ("GET", "/documents/{doc}/remplacer", person_only(200, 404)),
    "documents.replace": ("POST", "/documents/{doc}/remplacer", person_only(400, 404)),
    "documents.delete_confirm": ("GET", "/documents/{doc}/supprimer", person_only(200, 404)),
    "documents.delete": ("POST", "/documents/{doc}/supprimer", person_only(302, 404)),
    "journal.index": ("GET", "/journal/", person_only(200)),
    "counsellor.index": ("GET", "/suivi/", only(COUNSELLOR, 200)),
    "admin.index": ("GET", "/admin/", only(ADMIN, 200)),
    "admin.new_account": ("GET", "/admin/comptes/nouveau", only(ADMIN, 200)),
    "admin.account": ("GET", "/admin/comptes/{user}", only(ADMIN, 200)),
    # The owner is active: refused with a message, nothing changed.
    "admin.reissue": ("POST", "/admin/comptes/{user}/nouveau-code", only(ADMIN, 302)),
    "admin.activation_sheet": (
        "GET",
        "/admin/comptes/{user}/feuille-activation.pdf",
        only(ADMIN, 404),
    ),
    "admin.establishments": ("GET", "/admin/etablissements", only(ADMIN, 200)),
}


@dataclass
class World:
    clients: dict[str, FlaskClient]
    doc: str
    user: str


@pytest.fixture
def world(app: Flask) -> World:
    owner = make_account(app, first="Alex", last="Owner")
    document = make_document(app, owner)
    accounts = {
        OWNER: owner,
        OTHER: make_account(app, first="Sam", last="Other"),
        COUNSELLOR: make_account(app, Role.COUNSELLOR, first="Claire", last="Conseil"),
        ADMIN: make_account(app, Role.ADMINISTRATOR, first="Ada", last="Admin"),
    }
    clients = {ANONYMOUS: app.test_client()} | {
        role: signed_in(app, account) for role, account in accounts.items()
    }
    return World(clients, str(document.id), str(owner.user.id))


def test_every_route_is_in_the_matrix(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(MATRIX), "add the new routes to MATRIX with every role"


@pytest.mark.parametrize("endpoint", sorted(MATRIX))
def test_every_role_gets_the_expected_answer(world: World, endpoint: str) -> None:
    method, template, expected = MATRIX[endpoint]
    assert set(expected) == set(ROLES), f"{endpoint}: decide every role"
    path = template.format(doc=world.doc, user=world.user)
    answers = {}
    for role in ROLES:
        client = world.clients[role]
        if method == "POST":
            # A token of this client's own session, from a page every role can open.
            data = {"csrf_token": csrf_token(client, "/activer")}
            response = client.post(path, data=data)
        else:
            response = client.get(path)
        answers[role] = response.status_code
        response.close()
    assert answers == expected
