"""The authorization matrix: every route, every role, the expected answer.

A route added without a line here fails `test_every_route_is_in_the_matrix`,
so no page can ship without someone deciding who may reach it. POSTs carry a
valid CSRF token of the role's own session, so the answer is the route's
authorization decision, not the CSRF check. `{doc}` is a document of the
owner's vault; `{user}` and `{person}` are the owner's account; the counsellor
is assigned to the owner, who shares `{doc}` with them (`{share}`); `{request}`
is the counsellor's request to the owner; `{link}` and `{token}` an external
link the owner made. Routes of other areas keep their lines in the
`matrix_*.py` modules beside this one, merged below.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import csrf_token, make_account, make_document, signed_in
from tests.integration.core.matrix_roles import (
    ADMIN,
    ANONYMOUS,
    COUNSELLOR,
    OTHER,
    OWNER,
    ROLES,
    everyone,
    only,
    person_only,
    signed,
)
from vault.core.db import db_session
from vault.core.extensions import get_keyring
from vault.documents.service import Unlocked
from vault.models import Document, Role, User
from vault.sharing import links
from vault.sharing import service as sharing

# endpoint -> (method, path, {role: expected status})
MATRIX: dict[str, tuple[str, str, dict[str, int]]] = {
    "main.home": ("GET", "/", signed(200, 302)),
    "main.health": ("GET", "/health", everyone(200)),
    # No network allowed by default (VAULT_METRICS_ALLOW): a 404 to everyone, signed in or not.
    "metrics": ("GET", "/metrics", everyone(404)),
    "static": ("GET", "/static/css/vault.css", everyone(200)),
    "auth.sign_in": ("GET", "/connexion", signed(200, 302)),
    "auth.sign_out": ("POST", "/deconnexion", everyone(302)),
    # Signed in: the idle time starts again, then home; anonymous: to sign-in.
    "auth.keep_alive": ("POST", "/session/encore-la", everyone(302)),
    "auth.activate": ("GET", "/activer", everyone(200)),
    # Anyone may choose a language; without a `lang` the answer is a 400 page, nothing stored.
    "language.choose": ("POST", "/langue", everyone(400)),
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
    # The owner is a person: refused with a message (staff only), nothing changed.
    "admin.disable": ("POST", "/admin/comptes/{user}/desactiver", only(ADMIN, 302)),
    "admin.enable": ("POST", "/admin/comptes/{user}/reactiver", only(ADMIN, 302)),
    "admin.activation_sheet": (
        "GET",
        "/admin/comptes/{user}/feuille-activation.pdf",
        only(ADMIN, 404),
    ),
    "admin.establishments": ("GET", "/admin/etablissements", only(ADMIN, 200)),
}
for _area in (
    "matrix_person",
    "matrix_counsellor",
    "matrix_recovery",
    "matrix_export",
    "matrix_lifecycle",
    "matrix_cv",
    "matrix_intake",
):
    _module = __import__(f"tests.integration.core.{_area}", fromlist=["MATRIX"])
    assert not set(_module.MATRIX) & set(MATRIX), f"{_area}: endpoint listed twice"
    MATRIX.update(_module.MATRIX)


@dataclass
class World:
    clients: dict[str, FlaskClient]
    ids: dict[str, str]


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
    with app.app_context():
        db = db_session()
        person = db.get(User, owner.user.id)
        counsellor = db.get(User, accounts[COUNSELLOR].user.id)
        admin = db.get(User, accounts[ADMIN].user.id)
        assert person and counsellor and admin
        sharing.assign(db, person, counsellor, by=admin)
        unlocked = Unlocked(person, owner.key)
        doc = db.get(Document, document.id)
        assert doc is not None
        share = sharing.share_document(db, get_keyring(), unlocked, doc, counsellor.id)
        request = sharing.request_document(db, counsellor, person, "cv", "")
        link, token = links.create_link(
            db, get_keyring(), unlocked, document.id, recipient="employer", days=7
        )
        db.commit()
        ids = {
            "doc": str(document.id),
            "user": str(owner.user.id),
            "person": str(owner.user.id),
            "share": str(share.id),
            "request": str(request.id),
            "link": str(link.id),
            "token": token,
        }
    clients = {ANONYMOUS: app.test_client()} | {
        role: signed_in(app, account) for role, account in accounts.items()
    }
    return World(clients, ids)


def test_every_route_is_in_the_matrix(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(MATRIX), "add the new routes to MATRIX with every role"


@pytest.mark.parametrize("endpoint", sorted(MATRIX))
def test_every_role_gets_the_expected_answer(world: World, endpoint: str) -> None:
    method, template, expected = MATRIX[endpoint]
    assert set(expected) == set(ROLES), f"{endpoint}: decide every role"
    path = template.format(**world.ids)
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
