"""Export without surprise (issue 13, finding 5; D-090).

An export leaves the recovery code alone: the sheet printed at activation
still recovers the vault after two exports. The code changes only when the
person asks for a new sheet (`/recuperation/nouvelle-feuille`), behind their
current phrase.
"""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.factories import Account, csrf_token, make_account, make_document, pdf_bytes, signed_in
from tests.helpers import post_form, text_of
from tests.integration.recovery.test_recovery import actions_of, ask, assign, requests_of
from vault.models import Role

RENEW = "/recuperation/nouvelle-feuille"
NEW_PASSPHRASE = "la rivière coule doucement"


def export(client: FlaskClient, account: Account) -> bytes:
    response = client.post(
        "/export/",
        data={"csrf_token": csrf_token(client, "/export/"), "passphrase": account.passphrase},
    )
    assert response.status_code == 200 and response.mimetype == "application/zip"
    return response.get_data()


def test_two_exports_leave_the_printed_sheet_able_to_recover_the_vault(app: Flask) -> None:
    person = make_account(app, first="Nadia", last="Recover")
    counsellor = make_account(app, Role.COUNSELLOR, "Claire", "Conseil")
    assign(app, person, counsellor)
    content = pdf_bytes("kept-sheet")
    document = make_document(app, person, content)
    client = signed_in(app, person)
    page = text_of(client.get("/export/"))
    assert "Votre feuille de secours ne change pas." in page
    assert "nouveau code" not in page.lower()
    export(client, person)
    export(client, person)

    # The sheet printed at activation, as it was: the whole recovery goes through.
    anonymous = app.test_client()
    assert ask(anonymous, person).status_code == 200  # a request for the counsellor
    [request] = requests_of(app, person)
    staff = signed_in(app, counsellor)
    approved = post_form(
        staff,
        f"/recuperation/approbations/{request.id}/approuver",
        {},
        "/recuperation/approbations",
    )
    assert approved.status_code == 302
    back = ask(anonymous, person)
    assert back.status_code == 302 and back.headers["Location"].endswith("/nouvelle-phrase")
    chosen = post_form(
        anonymous,
        "/recuperation/nouvelle-phrase",
        {"passphrase": NEW_PASSPHRASE, "confirm": NEW_PASSPHRASE},
    )
    assert chosen.status_code == 302
    assert anonymous.get(f"/documents/{document.id}/telecharger").data == content


def test_a_new_sheet_on_request_behind_the_current_phrase(app: Flask) -> None:
    person = make_account(app)
    client = signed_in(app, person)
    account_page = text_of(client.get("/compte/"))
    assert 'href="/recuperation/nouvelle-feuille"' in account_page
    assert "Recevoir une nouvelle feuille de secours" in account_page

    # A wrong phrase: refused, journaled, the sheet unchanged.
    wrong = post_form(client, RENEW, {"passphrase": "pas ma phrase du tout"})
    assert wrong.status_code == 400
    assert "Votre phrase secrète n'est pas bonne." in text_of(wrong)
    assert ("recovery_kit.issued", "refused", "person") in actions_of(app, person)
    assert client.get("/recuperation/feuille-de-secours").status_code == 302  # nothing to show
    history = text_of(client.get("/journal/"))
    assert "Une demande de nouvelle feuille de secours n'a pas abouti" in history

    # The right phrase: a new code, shown once, printable.
    done = post_form(client, RENEW, {"passphrase": person.passphrase})
    assert done.status_code == 302 and done.headers["Location"].endswith(
        "/recuperation/feuille-de-secours"
    )
    kit = text_of(client.get("/recuperation/feuille-de-secours"))
    match = re.search(r"(\d{4}(?: \d{4}){7})", kit)
    assert match
    new_code = match.group(1)
    assert new_code != person.recovery_code
    # Not a recovery: no word of a new phrase.
    assert "nouvelle phrase secrète est enregistrée" not in kit
    pdf = client.get("/recuperation/feuille-de-secours.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    finished = post_form(client, "/activer/termine", {}, "/recuperation/feuille-de-secours")
    assert finished.status_code == 302
    home = text_of(client.get(finished.headers["Location"]))
    assert "Votre nouvelle feuille de secours est prête. L'ancienne ne marche plus." in home
    assert ("recovery_kit.issued", "ok", "person") in actions_of(app, person)

    # The old sheet no longer opens anything; the new one does.
    stale = ask(app.test_client(), person)
    assert stale.status_code == 200 and not requests_of(app, person)
    renewed = Account(person.user, person.key, person.passphrase, new_code)
    assert ask(app.test_client(), renewed).status_code == 200
    assert [r.status for r in requests_of(app, person)] == ["pending"]


def test_only_a_person_asks_for_a_new_sheet(app: Flask) -> None:
    counsellor = make_account(app, Role.COUNSELLOR, "Claire", "Conseil")
    assert signed_in(app, counsellor).get(RENEW).status_code == 403
    assert app.test_client().get(RENEW).status_code == 302
