"""Escrow recovery: two officers, the escrow secret split 2-of-3, re-enrolment (item 4b)."""

from __future__ import annotations

import re
import stat
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Connection

from tests.conftest import TEST_ESCROW
from tests.factories import (
    Account,
    make_account,
    make_document,
    pdf_bytes,
    signed_in,
)
from tests.helpers import pdf_text, post_form, text_of
from vault.accounts import service as accounts
from vault.cli.escrow import escrow_group
from vault.core.db import db_session, get_database
from vault.core.extensions import get_escrow_key, get_keyring
from vault.models import (
    AccountStatus,
    JournalEvent,
    KeySlot,
    RecoveryRequest,
    Role,
    ServerSession,
    User,
)
from vault.recovery import service as recovery

NEW_PASSPHRASE = "le jardin fleuri du matin"
OFFICERS = "/recuperation/agents/"


def init_split(prefix: Path) -> tuple[str, list[Path]]:
    """`vault escrow init --split`: the public key and the three share files."""
    result = CliRunner().invoke(escrow_group, ["init", "--split", "--secret-file", str(prefix)])
    assert result.exit_code == 0, result.output
    public = re.search(r"^VAULT_ESCROW_PUBLIC_KEY=(\S+)$", result.output, re.M)
    assert public
    return public.group(1), [prefix.with_name(f"{prefix.name}.share-{n}") for n in (1, 2, 3)]


@pytest.fixture
def shares(tmp_path: Path) -> tuple[str, list[Path]]:
    return init_split(tmp_path / "escrow")


@pytest.fixture
def app(  # the app of conftest, with the escrow key of `shares`
    make_app: Callable[..., Flask],
    database_url: str,
    connection: Connection,
    shares: tuple[str, list[Path]],
) -> Flask:
    app = make_app(database_url=database_url, escrow_public_key=shares[0])
    get_database(app).bind_to(connection)
    return app


@pytest.fixture
def person(app: Flask) -> Account:
    return make_account(
        app, first="Karim", last="Perdu", prison_number="E-77001", birth_date=date(1988, 2, 3)
    )


@pytest.fixture
def officers(app: Flask) -> tuple[FlaskClient, FlaskClient, Account, Account]:
    first = make_account(app, Role.RECOVERY_OFFICER, "Odile", "Agent")
    second = make_account(app, Role.RECOVERY_OFFICER, "Omar", "Agent")
    return signed_in(app, first), signed_in(app, second), first, second


def open_request(client: FlaskClient, person: Account) -> RecoveryRequest | None:
    path = f"{OFFICERS}personnes/{person.user.id}"
    response = post_form(
        client,
        path,
        {
            "document": "id_card",
            "last4": " ab12 ",
            "seen_on": date.today().isoformat(),
            "present": "y",
        },
    )
    assert response.status_code == 302, text_of(response)
    return latest_request(client.application, person)


def latest_request(app: Flask, person: Account) -> RecoveryRequest | None:
    with app.app_context():
        return (
            db_session()
            .execute(
                select(RecoveryRequest)
                .where(RecoveryRequest.user_id == person.user.id)
                .order_by(RecoveryRequest.created_at.desc())
            )
            .scalars()
            .first()
        )


def confirm(client: FlaskClient, request: RecoveryRequest):  # type: ignore[no-untyped-def]
    path = f"{OFFICERS}demandes/{request.id}"
    return post_form(client, f"{path}/confirmer", {}, path)


def recover(app: Flask, request: RecoveryRequest, *args: str) -> Result:
    return app.test_cli_runner().invoke(
        args=["escrow", "recover", "--request", str(request.id), *args]
    )


def state(app: Flask, person: Account) -> tuple[str, list[str], list[bytes], int, str]:
    """What a refused recovery must leave untouched."""
    with app.app_context():
        db = db_session()
        user = db.get(User, person.user.id)
        assert user is not None
        slots = list(
            db.execute(
                select(KeySlot).where(KeySlot.user_id == user.id).order_by(KeySlot.kind)
            ).scalars()
        )
        count = len(
            db.execute(select(ServerSession.id).where(ServerSession.user_id == user.id)).all()
        )
        request = latest_request(app, person)
        return (
            user.status,
            [s.kind for s in slots],
            [s.data for s in slots],
            count,
            request.status if request else "",
        )


def test_the_whole_escrow_recovery_with_two_of_three_shares(
    app: Flask,
    person: Account,
    officers: tuple[FlaskClient, FlaskClient, Account, Account],
    shares: tuple[str, list[Path]],
    tmp_path: Path,
) -> None:
    first, second, first_account, second_account = officers
    content = pdf_bytes("escrow-canary")
    document = make_document(app, person, content, title="Titre très secret")
    old_session = signed_in(app, person)

    # Officer 1 finds the person and records the identity check.
    found = first.get(OFFICERS, query_string={"q": "E-7700"})
    assert found.status_code == 200 and "Karim Perdu" in text_of(found)
    # By name, as the administrators search (vault.accounts.search): words in any order.
    assert "Karim Perdu" in text_of(first.get(OFFICERS, query_string={"q": "perdu kar"}))
    page = text_of(first.get(f"{OFFICERS}personnes/{person.user.id}"))
    assert "Karim Perdu" in page and "E-77001" in page
    assert "Titre très secret" not in page
    request = open_request(first, person)
    assert request is not None and request.status == "pending"
    # The last 4 characters are sealed to the escrow key: not in clear.
    assert "last4" not in recovery.identity_of(request)
    assert recovery.identity_of(request)["document"] == "id_card"

    # One officer only: the operator's command refuses, nothing changed.
    before = state(app, person)
    alone = recover(app, request, "--share", str(shares[1][0]), "--share", str(shares[1][1]))
    assert alone.exit_code == 1
    assert "two different recovery officers" in alone.output
    assert "Traceback" not in alone.output
    assert state(app, person) == before
    # Officer 1 cannot confirm their own request.
    confirm(first, request)
    assert state(app, person) == before

    # Officer 2 confirms.
    assert confirm(second, request).status_code == 302
    confirmed = latest_request(app, person)
    assert confirmed is not None and confirmed.status == "approved"
    assert confirmed.approved_by_id == first_account.user.id
    assert confirmed.second_officer_id == second_account.user.id
    before = state(app, person)

    # One share, a foreign share, a damaged share, a wrong secret: refused, nothing changed.
    _public, foreign = init_split(tmp_path / "other")
    damaged = tmp_path / "damaged.share"
    words = shares[1][1].read_text().split("\n")
    last = words[-2].split()
    last[3] = "academic" if last[3] != "academic" else "acid"
    damaged.write_text("\n".join([*words[:-2], " ".join(last), ""]))
    wrong_secret = tmp_path / "wrong-secret"
    wrong_secret.write_text(TEST_ESCROW["escrow_secret"] + "\n")
    for args in (
        ["--share", str(shares[1][0])],
        ["--share", str(shares[1][0]), "--share", str(foreign[1])],
        ["--share", str(shares[1][0]), "--share", str(damaged)],
        ["--share", str(shares[1][0]), "--share", str(shares[1][0])],
        ["--secret-file", str(wrong_secret)],
        ["--secret-file", str(tmp_path / "missing")],
        [],
    ):
        result = recover(app, request, *args)
        assert result.exit_code == 1, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert "Traceback" not in result.output
        assert state(app, person) == before

    # Two of three shares: shares 1 and 3 rebuild the secret.
    sheet = tmp_path / "sheet.pdf"
    result = recover(
        app,
        request,
        "--share",
        str(shares[1][0]),
        "--share",
        str(shares[1][2]),
        "--sheet-out",
        str(sheet),
        "--base-url",
        "https://coffre.example.fr",
    )
    assert result.exit_code == 0, result.output
    assert "Identity check: id_card ending AB12" in result.output
    assert stat.S_IMODE(sheet.stat().st_mode) == 0o600
    text = pdf_text(sheet.read_bytes())
    assert person.username in text and "https://coffre.example.fr/activer" in text
    match = re.search(r"\d{4} \d{4} \d{4} \d{4}", text)
    assert match
    code = match.group(0)

    # Re-enrolled: pending, only the activation and escrow slots, sessions ended.
    status, kinds, _data, sessions, request_status = state(app, person)
    assert status == AccountStatus.PENDING
    assert kinds == ["activation", "escrow"]
    assert sessions == 0 and request_status == "completed"
    assert old_session.get("/documents/").status_code == 302
    with app.app_context():
        actions = [
            e.action
            for e in db_session()
            .execute(select(JournalEvent).where(JournalEvent.vault_id == person.user.id))
            .scalars()
        ]
    assert {
        "recovery.escrow_opened",
        "recovery.escrow_confirmed",
        "recovery.escrow_completed",
    } <= set(actions)
    # The same request cannot be used twice.
    again = recover(app, request, "--share", str(shares[1][0]), "--share", str(shares[1][1]))
    assert again.exit_code == 1 and "already completed" in again.output

    # The new sheet activates the account; the old documents open.
    client = app.test_client()
    activated = post_form(client, "/activer", {"username": person.username, "code": code})
    assert activated.status_code == 302
    chosen = post_form(
        client,
        "/activer/phrase-secrete",
        {"passphrase": NEW_PASSPHRASE, "confirm": NEW_PASSPHRASE},
    )
    assert chosen.status_code == 302
    renewed = Account(person.user, person.key, NEW_PASSPHRASE, "")
    assert signed_in(app, renewed).get(f"/documents/{document.id}/telecharger").data == content
    # The old passphrase and the old recovery code are gone.
    assert (
        post_form(
            app.test_client(),
            "/connexion",
            {"username": person.username, "passphrase": person.passphrase},
        ).status_code
        == 200
    )


@pytest.mark.parametrize("pair", [(0, 1), (1, 2), (2, 0)])
def test_any_two_shares_rebuild_the_configured_key(
    app: Flask, shares: tuple[str, list[Path]], pair: tuple[int, int]
) -> None:
    files = shares[1]
    result = app.test_cli_runner().invoke(
        args=["escrow", "check", "--share", str(files[pair[0]]), "--share", str(files[pair[1]])]
    )
    assert result.exit_code == 0, result.output
    assert "escrow check: OK" in result.output


def test_a_share_of_another_key_fails_the_check(
    app: Flask, shares: tuple[str, list[Path]], tmp_path: Path
) -> None:
    _public, other = init_split(tmp_path / "other")
    result = app.test_cli_runner().invoke(
        args=["escrow", "check", "--share", str(other[0]), "--share", str(other[2])]
    )
    assert result.exit_code == 1
    assert "not the configured escrow key" in result.output


def test_split_writes_three_private_word_files_and_never_overwrites(tmp_path: Path) -> None:
    _public, files = init_split(tmp_path / "escrow")
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        words = [
            w
            for line in path.read_text().splitlines()
            if not line.startswith("#")
            for w in line.split()
        ]
        assert len(words) == 33 and all(w.isalpha() for w in words)
    assert not (tmp_path / "escrow").exists()  # the whole secret is never written

    # A share of the same name exists: nothing is written at all.
    (tmp_path / "again.share-2").write_text("keep me")
    result = CliRunner().invoke(
        escrow_group, ["init", "--split", "--secret-file", str(tmp_path / "again")]
    )
    assert result.exit_code == 1
    assert "refusing to overwrite" in result.output
    assert (tmp_path / "again.share-2").read_text() == "keep me"
    assert not (tmp_path / "again.share-1").exists()
    assert not (tmp_path / "again.share-3").exists()


def test_recovery_with_the_whole_secret_prints_the_code(
    make_app: Callable[..., Flask], database_url: str, connection: Connection, tmp_path: Path
) -> None:
    secret_file = tmp_path / "escrow.secret"
    init = CliRunner().invoke(escrow_group, ["init", "--secret-file", str(secret_file)])
    assert init.exit_code == 0
    public = re.search(r"^VAULT_ESCROW_PUBLIC_KEY=(\S+)$", init.output, re.M)
    assert public
    app = make_app(database_url=database_url, escrow_public_key=public.group(1))
    get_database(app).bind_to(connection)
    person = make_account(app, first="Lina", last="Entier")
    first = signed_in(app, make_account(app, Role.RECOVERY_OFFICER, "Odile", "Agent"))
    second = signed_in(app, make_account(app, Role.RECOVERY_OFFICER, "Omar", "Agent"))
    request = open_request(first, person)
    assert request is not None
    confirm(second, request)

    listed = app.test_cli_runner().invoke(args=["recovery", "list"])
    assert listed.exit_code == 0
    assert str(request.id) in listed.output and "ready (two officers)" in listed.output

    result = recover(app, request, "--secret-file", str(secret_file))
    assert result.exit_code == 0, result.output
    code = re.search(r"Activation code: (\d{4} \d{4} \d{4} \d{4})", result.output)
    assert code
    response = post_form(
        app.test_client(), "/activer", {"username": person.username, "code": code.group(1)}
    )
    assert response.status_code == 302


def test_a_request_of_one_officer_twice_is_refused(
    app: Flask,
    person: Account,
    officers: tuple[FlaskClient, FlaskClient, Account, Account],
    shares: tuple[str, list[Path]],
) -> None:
    first, _second, first_account, _ = officers
    request = open_request(first, person)
    assert request is not None
    # Even written straight into the database, one officer twice is not two.
    with app.app_context():
        row = db_session().get(RecoveryRequest, request.id)
        assert row is not None
        row.status = "approved"
        row.second_officer_id = first_account.user.id
        db_session().commit()
    before = state(app, person)
    result = recover(app, request, "--share", str(shares[1][0]), "--share", str(shares[1][1]))
    assert result.exit_code == 1 and "two different recovery officers" in result.output
    assert state(app, person) == before


def officer_opened_by(app: Flask, creator: Account, first: str, last: str) -> Account:
    """An officer opened by an administrator, as the administration pages allowed
    before: such accounts may still exist."""
    with app.app_context():
        db = db_session()
        new = accounts.open_account(
            db,
            get_keyring(),
            get_escrow_key(),
            role=Role.RECOVERY_OFFICER,
            first_name=first,
            last_name=last,
            created_by=db.get(User, creator.user.id),
        )
        user, key = accounts.check_activation(
            db, get_keyring(), new.user.username, new.activation_code
        )
        code = accounts.complete_activation(db, get_keyring(), user, key, NEW_PASSPHRASE)
        db.commit()
        return Account(user, key, NEW_PASSPHRASE, code)


def test_two_officers_opened_by_one_administrator_are_one_person(
    app: Flask, person: Account, shares: tuple[str, list[Path]]
) -> None:
    admin = make_account(app, Role.ADMINISTRATOR, "Ada", "Admin")
    first = officer_opened_by(app, admin, "Odile", "Agent")
    second = officer_opened_by(app, admin, "Omar", "Agent")
    request = open_request(signed_in(app, first), person)
    assert request is not None
    assert confirm(signed_in(app, second), request).status_code == 302
    before = state(app, person)
    result = recover(app, request, "--share", str(shares[1][0]), "--share", str(shares[1][1]))
    assert result.exit_code == 1, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert "same administrator" in result.output and "Ada Admin" in result.output
    assert "nothing changed" in result.output
    assert state(app, person) == before


def test_recover_shows_who_opened_each_officer(
    app: Flask, person: Account, shares: tuple[str, list[Path]]
) -> None:
    admin = make_account(app, Role.ADMINISTRATOR, "Ada", "Admin")
    first = officer_opened_by(app, admin, "Odile", "Agent")
    second = make_account(app, Role.RECOVERY_OFFICER, "Omar", "Agent")  # by the operator
    request = open_request(signed_in(app, first), person)
    assert request is not None
    confirm(signed_in(app, second), request)
    result = recover(app, request, "--share", str(shares[1][0]), "--share", str(shares[1][1]))
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Officer ")]
    [one] = [line for line in lines if "Odile Agent" in line]
    assert f"({first.username})" in one and "opened by the administrator Ada Admin" in one
    [two] = [line for line in lines if "Omar Agent" in line]
    assert "opened by the operator" in two


def test_the_operator_opens_recovery_officers(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["recovery", "create-officer", "--first-name", "Odile", "--last-name", "Agent"]
    )
    assert result.exit_code == 0, result.output
    code = re.search(r"Activation code: (\d{4} \d{4} \d{4} \d{4})", result.output)
    username = re.search(r"Username: +(\S+)", result.output)
    assert code and username
    with app.app_context():
        user = (
            db_session()
            .execute(select(User).where(User.username == username.group(1)))
            .scalar_one()
        )
        assert (user.role, user.created_by_id) == (Role.RECOVERY_OFFICER, None)
    activated = post_form(
        app.test_client(), "/activer", {"username": username.group(1), "code": code.group(1)}
    )
    assert activated.status_code == 302
    bad = app.test_cli_runner().invoke(
        args=["recovery", "create-officer", "--first-name", " ", "--last-name", "Agent"]
    )
    assert bad.exit_code == 1 and len(bad.output.strip().splitlines()) == 1


def test_a_cancelled_request_cannot_be_carried_out(
    app: Flask,
    person: Account,
    officers: tuple[FlaskClient, FlaskClient, Account, Account],
    shares: tuple[str, list[Path]],
) -> None:
    first, second, _, _ = officers
    request = open_request(first, person)
    assert request is not None
    confirm(second, request)
    path = f"{OFFICERS}demandes/{request.id}"
    assert post_form(second, f"{path}/annuler", {}, path).status_code == 302
    result = recover(app, request, "--share", str(shares[1][0]), "--share", str(shares[1][1]))
    assert result.exit_code == 1 and "completed or cancelled" in result.output


def test_a_second_request_while_one_is_open_is_refused(
    app: Flask, person: Account, officers: tuple[FlaskClient, FlaskClient, Account, Account]
) -> None:
    first, second, _, _ = officers
    request = open_request(first, person)
    path = f"{OFFICERS}personnes/{person.user.id}"
    response = post_form(
        second,
        path,
        {
            "document": "passport",
            "last4": "9Z9Z",
            "seen_on": date.today().isoformat(),
            "present": "y",
        },
    )
    assert response.status_code == 400
    latest = latest_request(app, person)
    assert request is not None and latest is not None and latest.id == request.id


def test_the_identity_check_is_validated(
    app: Flask, person: Account, officers: tuple[FlaskClient, FlaskClient, Account, Account]
) -> None:
    first = officers[0]
    path = f"{OFFICERS}personnes/{person.user.id}"
    good = {
        "document": "id_card",
        "last4": "AB12",
        "seen_on": date.today().isoformat(),
        "present": "y",
    }
    for bad in (
        {"last4": "AB1"},
        {"last4": "AB1%"},
        {"document": "library_card"},
        {"seen_on": "2001-01-01"},
        {"seen_on": "2999-01-01"},
        {"present": ""},
    ):
        response = post_form(first, path, good | bad)
        assert response.status_code == 400, bad
    assert latest_request(app, person) is None


def test_officers_never_reach_documents(
    app: Flask, person: Account, officers: tuple[FlaskClient, FlaskClient, Account, Account]
) -> None:
    document = make_document(app, person, title="Titre très secret")
    officer = officers[0]
    for path in (
        "/documents/",
        f"/documents/{document.id}",
        f"/documents/{document.id}/telecharger",
        f"/documents/{document.id}/apercu",
        "/journal/",
        "/suivi/",
        "/admin/",
        f"/admin/comptes/{person.user.id}",
        "/recuperation/approbations",
    ):
        assert officer.get(path).status_code == 403, path
    pages = [
        officer.get(OFFICERS, query_string={"q": "Karim"}),
        officer.get(f"{OFFICERS}personnes/{person.user.id}"),
    ]
    request = open_request(officer, person)
    assert request is not None
    pages.append(officer.get(f"{OFFICERS}demandes/{request.id}"))
    for page in pages:
        assert page.status_code == 200
        assert "Titre très secret" not in text_of(page)
        assert str(document.id) not in text_of(page)


def test_officer_pages_refuse_unknown_or_non_person_ids(
    app: Flask, officers: tuple[FlaskClient, FlaskClient, Account, Account]
) -> None:
    officer, _, _, other_officer = officers
    nowhere = "00000000-0000-4000-8000-000000000000"
    assert officer.get(f"{OFFICERS}personnes/{nowhere}").status_code == 404
    assert officer.get(f"{OFFICERS}personnes/{other_officer.user.id}").status_code == 404
    assert officer.get(f"{OFFICERS}demandes/{nowhere}").status_code == 404
