"""Administrators (issue 13, finding 10): the activation sheet reprinted after signing out,
worded for people without a phone; counsellors offered from the person's establishment only;
the sub-menu marks the current page.
"""

from __future__ import annotations

import uuid

from flask import Flask
from sqlalchemy import select

from tests.factories import csrf_token, make_account, make_establishment, signed_in
from tests.helpers import pdf_text, post_form
from tests.integration.accounts.test_admin import CODE, NEW, account_form, activates
from vault.core.db import db_session
from vault.models import Assignment, JournalEvent, Role


def test_a_sheet_is_reprinted_after_signing_out_and_the_old_code_stops_working(
    app: Flask,
) -> None:
    admin = make_account(app, Role.ADMINISTRATOR, "Ada", "Admin")
    client = signed_in(app, admin)
    response = client.post(NEW, data=account_form(client, first_name="Sami", last_name="Roux"))
    assert response.status_code == 302
    base = response.location.rstrip("/")
    user_id = uuid.UUID(base.rsplit("/", 1)[-1])
    first = CODE.search(pdf_text(client.get(f"{base}/feuille-activation.pdf").data))
    assert first
    username = next(
        line.strip()
        for line in pdf_text(client.get(f"{base}/feuille-activation.pdf").data).splitlines()
        if line.strip().startswith("sami")
    )
    # The printer jammed; the administrator signed out, then back in: the code is gone.
    assert post_form(client, "/deconnexion", {}, "/admin/").status_code == 302
    client = signed_in(app, admin)
    page = client.get(base).get_data(as_text=True)
    assert "Réimprimer la feuille d'activation" in page
    assert client.get(f"{base}/feuille-activation.pdf").status_code == 404
    response = client.post(f"{base}/nouveau-code", data={"csrf_token": csrf_token(client, base)})
    assert response.status_code == 302
    assert "Imprimer la feuille d'activation" in client.get(base).get_data(as_text=True)
    sheet = pdf_text(client.get(f"{base}/feuille-activation.pdf").data)
    second = CODE.search(sheet)
    assert second and second.group(1) != first.group(1)
    assert not activates(app, username, first.group(1))
    assert activates(app, username, second.group(1))
    with app.app_context():
        [event] = (
            db_session()
            .execute(
                select(JournalEvent).where(
                    JournalEvent.vault_id == user_id,
                    JournalEvent.action == "account.activation_reissued",
                )
            )
            .scalars()
        )
        assert event.actor_id == admin.user.id


def test_the_sheet_gives_the_address_to_type_and_the_qr_only_for_a_phone(app: Flask) -> None:
    client = signed_in(app, make_account(app, Role.ADMINISTRATOR, "Ada", "Admin"))
    base = client.post(NEW, data=account_form(client)).location.rstrip("/")
    text = " ".join(pdf_text(client.get(f"{base}/feuille-activation.pdf").data).split())
    assert "Sur la borne, ouvrez le coffre-fort numérique à cette adresse" in text
    assert "Seulement si vous avez un téléphone" in text
    assert "avec un téléphone." not in text and "Ou scannez" not in text


def test_counsellors_offered_are_those_of_the_persons_establishment(app: Flask) -> None:
    here = make_establishment(app, "Centre pénitentiaire Ici")
    there = make_establishment(app, "Maison d'arrêt Ailleurs")
    admin = make_account(app, Role.ADMINISTRATOR, "Ada", "Admin")
    person = make_account(app, first="Dora", last="Detenue", establishment_id=here.id)
    local = make_account(app, Role.COUNSELLOR, "Claire", "Locale", establishment_id=here.id)
    roaming = make_account(app, Role.COUNSELLOR, "Rémi", "Association")
    far = make_account(app, Role.COUNSELLOR, "Fanny", "Lointaine", establishment_id=there.id)
    client = signed_in(app, admin)
    path = f"/admin/comptes/{person.user.id}"
    page = client.get(path).get_data(as_text=True)
    assert str(local.user.id) in page and str(roaming.user.id) in page
    assert str(far.user.id) not in page and "Fanny Lointaine" not in page
    # Posted anyway: refused next to the field, nobody assigned.
    response = client.post(
        f"{path}/suivis",
        data={"counsellors": [str(far.user.id)], "csrf_token": csrf_token(client, path)},
    )
    assert response.status_code == 400
    assert "Choisissez" in response.get_data(as_text=True)
    with app.app_context():
        assert db_session().execute(select(Assignment)).first() is None
    # A person with no establishment recorded may get any counsellor.
    free = make_account(app, first="Lou", last="Libre")
    page = client.get(f"/admin/comptes/{free.user.id}").get_data(as_text=True)
    assert all(str(c.user.id) in page for c in (local, roaming, far))


def test_the_sub_menu_marks_the_current_page(app: Flask) -> None:
    client = signed_in(app, make_account(app, Role.ADMINISTRATOR, "Ada", "Admin"))
    for path, current in (("/admin/", "/admin/"), (NEW, NEW)):
        page = client.get(path).get_data(as_text=True)
        nav = page.split('class="subnav"', 1)[1].split("</nav>", 1)[0]
        assert f'href="{current}" aria-current="page"' in nav
        assert nav.count('aria-current="page"') == 1
