"""Activation with the printed code, sign-in, sessions, throttling and sign-out."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from tests.factories import PASSPHRASE, Account, csrf_token, make_account, open_pending, signed_in
from tests.helpers import post_form
from vault.accounts import service as accounts
from vault.accounts.limits import ADDRESS_PER_MINUTE
from vault.core.db import db_session
from vault.core.throttle import throttle_key, throttle_secret
from vault.models import AccountStatus, KeySlot, ServerSession, SignInThrottle, User
from vault.models.base import utcnow

NEW_PASSPHRASE = "le petit train bleu"


def sessions_of(app: Flask, user: User) -> list[ServerSession]:
    with app.app_context():
        return list(
            db_session()
            .execute(select(ServerSession).where(ServerSession.user_id == user.id))
            .scalars()
        )


def test_activation_with_the_sheet_code_then_recovery_kit(app: Flask) -> None:
    new = open_pending(app)
    client = app.test_client()
    response = post_form(
        client,
        "/activer",
        {"username": new.user.username, "code": new.activation_code.replace(" ", "-")},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/activer/phrase-secrete")

    page = client.get("/activer/phrase-secrete").get_data(as_text=True)
    assert new.user.display_name in page
    weak = post_form(
        client, "/activer/phrase-secrete", {"passphrase": "azertyuiop", "confirm": "azertyuiop"}
    )
    assert weak.status_code == 400
    short = post_form(
        client, "/activer/phrase-secrete", {"passphrase": "court", "confirm": "court"}
    )
    assert short.status_code == 400
    response = post_form(
        client, "/activer/phrase-secrete", {"passphrase": NEW_PASSPHRASE, "confirm": NEW_PASSPHRASE}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/activer/feuille-de-secours")

    kit = client.get("/activer/feuille-de-secours").get_data(as_text=True)
    pdf = client.get("/activer/feuille-de-secours.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Type"] == "application/pdf"
    response = post_form(client, "/activer/termine", {}, "/activer/feuille-de-secours")
    assert response.status_code == 302
    # Shown once: afterwards the page sends the person home and the PDF is gone.
    assert client.get("/activer/feuille-de-secours").status_code == 302
    assert client.get("/activer/feuille-de-secours.pdf").status_code == 404
    assert "big-code" in kit

    with app.app_context():
        user = db_session().get(User, new.user.id)
        assert user is not None and user.status == AccountStatus.ACTIVE
        kinds = {
            s.kind
            for s in db_session()
            .execute(select(KeySlot).where(KeySlot.user_id == user.id))
            .scalars()
        }
    assert kinds == {"password", "recovery", "escrow"}  # the activation code is spent

    # The code works once.
    again = post_form(
        app.test_client(), "/activer", {"username": new.user.username, "code": new.activation_code}
    )
    assert again.status_code == 200
    assert "ne correspondent pas" in again.get_data(as_text=True)
    fresh = app.test_client()
    assert (
        post_form(
            fresh, "/connexion", {"username": new.user.username, "passphrase": NEW_PASSPHRASE}
        ).status_code
        == 302
    )


def test_choose_passphrase_needs_an_accepted_code(app: Flask) -> None:
    assert app.test_client().get("/activer/phrase-secrete").status_code == 403


def test_expired_activation_code_is_refused(app: Flask) -> None:
    new = open_pending(app)
    with app.app_context():
        user = db_session().get(User, new.user.id)
        assert user is not None
        user.activation_expires_at = utcnow() - timedelta(minutes=1)
        db_session().commit()
    response = post_form(
        app.test_client(), "/activer", {"username": new.user.username, "code": new.activation_code}
    )
    assert "ne correspondent pas" in response.get_data(as_text=True)


def test_wrong_passphrase_and_unknown_user_get_the_same_answer(app: Flask) -> None:
    account = make_account(app)
    wrong = post_form(
        app.test_client(),
        "/connexion",
        {"username": account.username, "passphrase": "pas la bonne phrase"},
    )
    unknown = post_form(
        app.test_client(),
        "/connexion",
        {"username": "personne.inconnue", "passphrase": "pas la bonne phrase"},
    )
    assert wrong.status_code == unknown.status_code == 200
    assert "ne correspondent pas" in wrong.get_data(as_text=True)

    def page(response: object, name: str) -> str:
        text = response.get_data(as_text=True).replace(name, "X")  # type: ignore[attr-defined]
        return re.sub(r'value="[^"]*"', "", text)

    assert page(wrong, account.username) == page(unknown, "personne.inconnue")


@pytest.mark.parametrize("exists", [True, False])
def test_failures_are_throttled_with_growing_delays_without_lock_out(
    app: Flask, exists: bool
) -> None:
    account = make_account(app) if exists else None
    username = account.username if account else "nobody.here"
    client = app.test_client()
    for _ in range(4):
        response = post_form(
            client, "/connexion", {"username": username, "passphrase": "wrong wrong wrong"}
        )
        assert response.status_code == 200
    throttled = post_form(client, "/connexion", {"username": username, "passphrase": PASSPHRASE})
    assert throttled.status_code == 429
    assert "Trop d'essais" in html.unescape(throttled.get_data(as_text=True))
    # No hard lock-out: once the delay has passed, the right passphrase works.
    with app.app_context():
        for row in db_session().execute(select(SignInThrottle)).scalars():
            row.last_failure_at = utcnow() - timedelta(minutes=10)
        db_session().commit()
    if account:
        assert (
            post_form(
                client, "/connexion", {"username": username, "passphrase": PASSPHRASE}
            ).status_code
            == 302
        )


def test_per_address_ceiling_answers_429_to_a_spray_of_names(app: Flask) -> None:
    client = app.test_client()
    token = csrf_token(client, "/connexion")
    ceiling = ADDRESS_PER_MINUTE
    statuses = [
        client.post(
            "/connexion", data={"username": f"user{i}", "passphrase": "x" * 8, "csrf_token": token}
        ).status_code
        for i in range(ceiling + 1)
    ]
    assert statuses[:ceiling] == [200] * ceiling
    assert statuses[ceiling] == 429


def test_a_spray_at_the_ceiling_does_not_refuse_a_browser_its_owner_signed_in_on(
    app: Flask,
) -> None:
    """One person exhausting the address's ceiling must not lock out a person
    whose browser carries their own device mark (they signed in there before)."""
    owner = make_account(app, first="Sacha", last="Bernard")
    kiosk = app.test_client()
    right = {"username": owner.username, "passphrase": PASSPHRASE}
    assert post_form(kiosk, "/connexion", right).status_code == 302
    assert post_form(kiosk, "/deconnexion", {}, "/documents/").status_code == 302
    sprayer = app.test_client()
    token = csrf_token(sprayer, "/connexion")
    for i in range(ADDRESS_PER_MINUTE):
        sprayer.post(
            "/connexion", data={"username": f"user{i}", "passphrase": "x" * 8, "csrf_token": token}
        )
    stranger = app.test_client()
    assert post_form(stranger, "/connexion", right).status_code == 429
    assert post_form(kiosk, "/connexion", right).status_code == 302


@pytest.mark.parametrize("path", ["/connexion", "/activer"])
def test_one_person_cannot_spend_the_next_persons_budget(app: Flask, path: str) -> None:
    """A prison's kiosks share one address: one person's 65 failed posts for
    one name must not refuse the next person's right sign-in or activation."""
    if path == "/connexion":
        next_person = make_account(app, first="Sacha", last="Bernard")
        right = {"username": next_person.username, "passphrase": PASSPHRASE}
    else:
        pending = open_pending(app, first="Sacha", last="Bernard")
        right = {"username": pending.user.username, "code": pending.activation_code}
    first = app.test_client()
    token = csrf_token(first, path)
    wrong = {"username": "camille.martin", "passphrase": "pas la bonne", "code": "1" * 16}
    statuses = [
        first.post(path, data={**wrong, "csrf_token": token}).status_code for _ in range(65)
    ]
    assert statuses[-1] == 429  # their own budget is spent (delays, then the limit)

    second = app.test_client()  # the same address: every kiosk of the prison
    response = second.post(path, data={**right, "csrf_token": csrf_token(second, path)})
    assert response.status_code == 302


def test_sign_in_renews_the_session_and_sign_out_destroys_it(app: Flask) -> None:
    account = make_account(app)
    client = app.test_client()
    client.get("/connexion")
    before = client.get_cookie("vault")
    client.post(
        "/connexion",
        data={
            "username": account.username,
            "passphrase": PASSPHRASE,
            "csrf_token": csrf_token(client, "/connexion"),
        },
    )
    after = client.get_cookie("vault")
    assert after is not None and (before is None or before.value != after.value)
    assert client.get("/documents/").status_code == 200
    assert len(sessions_of(app, account.user)) == 1

    stolen = after.value
    response = post_form(client, "/deconnexion", {}, "/documents/")
    assert response.status_code == 302
    assert sessions_of(app, account.user) == []
    replay = app.test_client()
    replay.set_cookie("vault", stolen)
    assert replay.get("/documents/").status_code == 302


def test_idle_and_absolute_timeouts(app: Flask) -> None:
    account = make_account(app)
    client = signed_in(app, account)
    with app.app_context():
        row = db_session().execute(select(ServerSession)).scalars().one()
        assert row.idle_minutes == 30
        row.last_seen_at = utcnow() - timedelta(minutes=31)
        db_session().commit()
    response = client.get("/documents/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/connexion")
    assert "connexion est terminée" in client.get("/connexion").get_data(as_text=True)

    client = signed_in(app, account)
    with app.app_context():
        row = db_session().execute(select(ServerSession)).scalars().one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        db_session().commit()
    assert client.get("/documents/").status_code == 302


def test_kiosk_networks_get_the_short_idle_timeout(make_app, database_url, connection) -> None:  # type: ignore[no-untyped-def]
    from vault.core.db import get_database

    app = make_app(database_url=database_url, kiosk_networks=("127.0.0.0/8",))
    get_database(app).bind_to(connection)
    account = make_account(app)
    signed_in(app, account)
    assert [s.idle_minutes for s in sessions_of(app, account.user)] == [10]


def test_sign_out_everywhere_and_passphrase_change_end_other_sessions(app: Flask) -> None:
    account = make_account(app)
    kiosk, phone = signed_in(app, account), signed_in(app, account)
    response = post_form(
        phone,
        "/compte/phrase-secrete",
        {"current": PASSPHRASE, "passphrase": NEW_PASSPHRASE, "confirm": NEW_PASSPHRASE},
    )
    assert response.status_code == 302
    assert phone.get("/documents/").status_code == 200
    assert kiosk.get("/documents/").status_code == 302
    assert (
        post_form(
            app.test_client(),
            "/connexion",
            {"username": account.username, "passphrase": PASSPHRASE},
        ).status_code
        == 200
    )
    moved = Account(account.user, account.key, NEW_PASSPHRASE, account.recovery_code)
    other = signed_in(app, moved)
    post_form(phone, "/compte/deconnexion-partout", {}, "/compte/")
    assert phone.get("/documents/").status_code == 302
    assert other.get("/documents/").status_code == 302
    assert sessions_of(app, account.user) == []


def test_wrong_current_passphrase_changes_nothing(app: Flask) -> None:
    account = make_account(app)
    client = signed_in(app, account)
    response = post_form(
        client,
        "/compte/phrase-secrete",
        {"current": "pas la bonne", "passphrase": NEW_PASSPHRASE, "confirm": NEW_PASSPHRASE},
    )
    assert response.status_code == 400
    assert (
        post_form(
            app.test_client(),
            "/connexion",
            {"username": account.username, "passphrase": PASSPHRASE},
        ).status_code
        == 302
    )


def test_forms_without_csrf_token_are_refused(app: Flask) -> None:
    account = make_account(app)
    response = app.test_client().post(
        "/connexion", data={"username": account.username, "passphrase": PASSPHRASE}
    )
    assert response.status_code == 400
    client = signed_in(app, account)
    assert client.post("/deconnexion").status_code == 400
    assert client.get("/documents/").status_code == 200


# Its two databases' runs share Redis's database 15 and flush it: one worker
# of pytest-xdist runs both, one after the other.
@pytest.mark.xdist_group("redis-db-15")
def test_per_address_limit_counts_in_redis(make_app, database_url, connection) -> None:  # type: ignore[no-untyped-def]
    """Production shares the counters between workers through Redis (the machine's server)."""
    import redis

    from tests.services import service_missing
    from vault.core.db import get_database

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        service_missing("Redis unreachable at 127.0.0.1:6379")
    redis.Redis.from_url(url).flushdb()
    try:
        apps = [make_app(database_url=database_url, ratelimit_storage_url=url) for _ in range(2)]
        for app in apps:
            get_database(app).bind_to(connection)
        clients = [app.test_client() for app in apps]
        tokens = [csrf_token(client, "/connexion") for client in clients]
        statuses = []
        ceiling = ADDRESS_PER_MINUTE
        for i in range(ceiling + 1):
            # Two "workers" share the count: alternate between them.
            data = {"username": f"user{i}", "passphrase": "x" * 8, "csrf_token": tokens[i % 2]}
            statuses.append(clients[i % 2].post("/connexion", data=data).status_code)
        assert statuses[:ceiling] == [200] * ceiling
        assert statuses[ceiling] == 429
    finally:
        redis.Redis.from_url(url).flushdb()


def test_a_stolen_sheet_session_dies_when_the_owner_activates(app: Flask) -> None:
    new = open_pending(app)
    thief = app.test_client()
    code = {"username": new.user.username, "code": new.activation_code}
    assert post_form(thief, "/activer", code).status_code == 302
    owner = app.test_client()
    assert post_form(owner, "/activer", code).status_code == 302
    choice = {"passphrase": NEW_PASSPHRASE, "confirm": NEW_PASSPHRASE}
    assert post_form(owner, "/activer/phrase-secrete", choice).status_code == 302
    assert thief.get("/documents/").status_code == 302
    assert thief.get("/activer/phrase-secrete").status_code == 403
    assert owner.get("/documents/").status_code == 200


def test_a_reissued_code_ends_what_the_old_one_opened(app: Flask) -> None:
    from vault.core.extensions import get_escrow_key, get_keyring

    new = open_pending(app)
    thief = app.test_client()
    code = {"username": new.user.username, "code": new.activation_code}
    assert post_form(thief, "/activer", code).status_code == 302
    with app.app_context():
        db = db_session()
        user = db.get(User, new.user.id)
        assert user is not None
        fresh = accounts.reissue_activation(
            db, get_keyring(), get_escrow_key(), user, by=user, activation_days=30
        )
        db.commit()
    choice = {"passphrase": NEW_PASSPHRASE, "confirm": NEW_PASSPHRASE}
    assert thief.get("/activer/phrase-secrete").status_code == 403
    owner = app.test_client()
    assert post_form(owner, "/activer", {**code, "code": fresh}).status_code == 302
    assert post_form(owner, "/activer/phrase-secrete", choice).status_code == 302
    with app.app_context():
        user = db_session().get(User, new.user.id)
        assert user is not None and user.status == AccountStatus.ACTIVE


def test_failures_elsewhere_do_not_lock_the_owner_out_of_a_known_browser(app: Flask) -> None:
    account = make_account(app)
    mine = signed_in(app, account)  # this browser now carries the owner's mark
    post_form(mine, "/deconnexion", {}, "/documents/")
    attacker = app.test_client()
    for _ in range(8):
        post_form(
            attacker, "/connexion", {"username": account.username, "passphrase": "pas la bonne"}
        )
    blocked = post_form(
        attacker, "/connexion", {"username": account.username, "passphrase": PASSPHRASE}
    )
    assert blocked.status_code == 429
    response = post_form(
        mine, "/connexion", {"username": account.username, "passphrase": PASSPHRASE}
    )
    assert response.status_code == 302


def test_failures_are_forgotten_after_an_hour(app: Flask) -> None:
    account = make_account(app)
    client = app.test_client()
    for _ in range(8):
        post_form(
            client, "/connexion", {"username": account.username, "passphrase": "pas la bonne"}
        )
    with app.app_context():
        for row in db_session().execute(select(SignInThrottle)).scalars():
            assert row.failures >= 4
            row.last_failure_at = utcnow() - timedelta(minutes=61)
        db_session().commit()
    response = post_form(
        client, "/connexion", {"username": account.username, "passphrase": "encore faux"}
    )
    assert response.status_code == 200  # refused, not throttled: the count started again
    with app.app_context():
        assert [r.failures for r in db_session().execute(select(SignInThrottle)).scalars()] == [1]


def test_guessing_the_current_passphrase_is_throttled(app: Flask) -> None:
    account = make_account(app)
    client = signed_in(app, account)
    statuses = []
    for _ in range(5):
        response = post_form(
            client,
            "/compte/phrase-secrete",
            {"current": "pas la bonne", "passphrase": NEW_PASSPHRASE, "confirm": NEW_PASSPHRASE},
        )
        statuses.append("Trop d'essais" in html.unescape(response.get_data(as_text=True)))
    assert statuses == [False, False, False, False, True]


def test_the_recovery_code_is_shown_for_a_limited_time(app: Flask) -> None:
    from vault.accounts import sessions as session_service

    new = open_pending(app)
    client = app.test_client()
    post_form(client, "/activer", {"username": new.user.username, "code": new.activation_code})
    choice = {"passphrase": NEW_PASSPHRASE, "confirm": NEW_PASSPHRASE}
    post_form(client, "/activer/phrase-secrete", choice)
    assert client.get("/activer/feuille-de-secours.pdf").status_code == 200
    with app.app_context():
        row = db_session().execute(select(ServerSession)).scalars().one()
        cookie = client.get_cookie("vault")
        assert cookie is not None
        with app.test_request_context(headers={"Cookie": f"vault={cookie.value}"}):
            from vault.accounts import auth

            ticket = auth.current_ticket()
            pending = session_service.get_pending(row, ticket)
            pending["issued"] = (utcnow() - timedelta(minutes=16)).isoformat()
            session_service.set_pending(row, ticket, pending)
        db_session().commit()
    assert client.get("/activer/feuille-de-secours.pdf").status_code == 404


def test_throttle_rows_are_keyed_by_a_secret_hmac_not_a_plain_hash(app: Flask) -> None:
    """A database dump must not tell what was typed as a username (issue 11)."""
    typed = "  Jean.Dupont "
    client = app.test_client()
    for _ in range(4):
        post_form(client, "/connexion", {"username": typed, "passphrase": "pas la bonne"})
    with app.app_context():
        keys = set(db_session().execute(select(SignInThrottle.key)).scalars())
    assert len(keys) == 1
    folded = typed.strip().casefold()
    plain = {
        hashlib.sha256(text.encode()).hexdigest()
        for text in (typed, folded, f"signin|untrusted|{folded}", f"signin|trusted|{folded}")
    }
    assert not keys & plain
    # The key is an HMAC under a secret of the server: the same name under
    # another secret gives another row, so a dictionary of names opens nothing.
    with app.app_context():
        ours = throttle_key(throttle_secret(db_session()), "signin", typed)
    assert keys == {ours}
    assert throttle_key(b"another secret" * 3, "signin", typed) != ours
    # Throttling still works on the keyed rows.
    throttled = post_form(client, "/connexion", {"username": typed, "passphrase": "encore faux"})
    assert throttled.status_code == 429
