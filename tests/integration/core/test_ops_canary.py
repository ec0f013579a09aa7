"""After a whole journey with canary names, title, file name, codes and passphrase, neither
the metrics nor any log line holds one of them (issue 17).

Through the Flask test client, on both databases: a person activates with
the code of their sheet and a passphrase of their own, signs in, uploads a
document (canary title and file name), searches for it, shares it with their
counsellor, who opens it, makes an external link with a PIN, which a
recipient opens, and types their recovery code. Every log line the app
writes meanwhile goes, at DEBUG and as JSON, to a handler installed as
production's are; /metrics is then scraped from an allowed address.
"""

from __future__ import annotations

import io
import json
import logging
import re
import secrets
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, select

from tests.factories import csrf_token, make_account, open_pending, pdf_bytes
from tests.helpers import post_form as post
from vault.core.db import db_session, get_database
from vault.models import Role, Share, User
from vault.sharing import service as sharing

MARK = secrets.token_hex(4)
CANARIES = {
    "first name": f"Zéphyrine{MARK}",
    "last name": f"Quokkabert{MARK}",
    "title": f"Attestation Quincaillerie{MARK}",
    "file name": f"releve-{MARK}-banque",
    "passphrase": f"girafe{MARK} violette danse lentement",
    "pin": "80427193",
}


@pytest.fixture
def written() -> Iterator[io.StringIO]:
    """Everything the root handlers write, installed before the app as production's are."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


@pytest.fixture
def ops_app(make_app, database_url: str, connection: Connection, written: io.StringIO) -> Flask:  # type: ignore[no-untyped-def]
    app = make_app(
        database_url=database_url,
        log_level="DEBUG",
        log_format="json",
        metrics_allow=("127.0.0.1/32",),
    )
    get_database(app).bind_to(connection)
    return app


def activate(app: Flask) -> tuple[FlaskClient, str, str]:
    """The person types the code of their sheet and a passphrase of their own."""
    new = open_pending(app, first=CANARIES["first name"], last=CANARIES["last name"])
    client = app.test_client()
    response = post(
        client, "/activer", {"username": new.user.username, "code": new.activation_code}
    )
    assert response.status_code == 302, response.status_code  # type: ignore[attr-defined]
    passphrase = CANARIES["passphrase"]
    response = post(
        client, "/activer/phrase-secrete", {"passphrase": passphrase, "confirm": passphrase}
    )
    assert response.status_code == 302, response.get_data(as_text=True)  # type: ignore[attr-defined]
    page = client.get("/activer/feuille-de-secours").get_data(as_text=True)
    match = re.search(r"(\d{4}(?:[ -]\d{4}){7})", page)
    assert match, "the recovery code is on the sheet"
    done = post(client, "/activer/termine", {}, "/activer/feuille-de-secours")
    assert done.status_code == 302  # type: ignore[attr-defined]
    return client, new.user.username, match.group(1)


def test_no_canary_in_metrics_or_logs_after_a_whole_journey(
    ops_app: Flask, written: io.StringIO
) -> None:
    app = ops_app
    client, username, recovery_code = activate(app)
    codes = {"recovery code": recovery_code, "username": username}
    counsellor = make_account(app, Role.COUNSELLOR, "Claire", "Conseil")
    admin = make_account(app, Role.ADMINISTRATOR, "Ada", "Admin")
    with app.app_context():
        db = db_session()
        person = db.execute(select(User).where(User.username == username)).scalar_one()
        sharing.assign(db, person, db.get(User, counsellor.user.id), by=db.get(User, admin.user.id))  # type: ignore[arg-type]
        db.commit()

    # Sign in again with the passphrase, then upload.
    client = app.test_client()
    signed = post(
        client, "/connexion", {"username": username, "passphrase": CANARIES["passphrase"]}
    )
    assert signed.status_code == 302  # type: ignore[attr-defined]
    uploaded = client.post(
        "/documents/ajouter",
        data={
            "csrf_token": csrf_token(client, "/documents/ajouter"),
            "title": CANARIES["title"],
            "category": "identity",
            "doc_type": "id_card",
            "file": (io.BytesIO(pdf_bytes(MARK)), f"{CANARIES['file name']}.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302, uploaded.get_data(as_text=True)
    path = uploaded.headers["Location"]
    doc_id = path.rstrip("/").rsplit("/", 1)[-1]
    assert client.get(path + "/telecharger").status_code == 200
    assert client.get(path + "/apercu").status_code == 200
    assert CANARIES["title"] in client.get(
        "/documents/", query_string={"q": CANARIES["title"]}
    ).get_data(as_text=True)

    # Shared with the counsellor, who opens it.
    shared = post(
        client,
        f"/partages/document/{doc_id}",
        {"counsellor": str(counsellor.user.id), "duration": "90"},
    )
    assert shared.status_code == 302  # type: ignore[attr-defined]
    with app.app_context():
        assert db_session().execute(select(Share)).scalars().first() is not None

    # An external link with a PIN, opened by its recipient.
    made = post(
        client,
        f"/liens/nouveau/{doc_id}",
        {"recipient": "employer", "days": "7", "pin": CANARIES["pin"]},
    )
    assert made.status_code == 302, made.get_data(as_text=True)  # type: ignore[attr-defined]
    page = client.get(made.headers["Location"]).get_data(as_text=True)  # type: ignore[attr-defined]
    token = re.search(r"/lien/([A-Za-z0-9_-]{20,})", page)
    assert token, "the link's address is on its page"
    codes["link token"] = token.group(1)
    visitor = app.test_client()
    opened = post(visitor, f"/lien/{token.group(1)}", {"pin": CANARIES["pin"]})  # type: ignore[assignment]
    assert opened.status_code == 200 and MARK.encode() in opened.data  # type: ignore[attr-defined]

    # The recovery code typed (a request for the counsellor to approve).
    stranger = app.test_client()
    asked = post(stranger, "/recuperation", {"username": username, "code": recovery_code})
    assert asked.status_code == 200  # type: ignore[attr-defined]

    scraped = app.test_client().get("/metrics")
    assert scraped.status_code == 200
    metrics = scraped.get_data(as_text=True)
    # The journey was counted, by route and by kind.
    assert 'route="/documents/<uuid:document_id>/telecharger"' in metrics
    assert re.search(r'vault_uploads_total\{outcome="stored"\} [1-9]', metrics)
    assert re.search(r'vault_downloads_total\{kind="document",outcome="sent"\} [1-9]', metrics)
    assert "vault_database_up 1.0" in metrics and "vault_storage_up 1.0" in metrics
    assert re.search(r'vault_previews_total\{outcome="made"\} [1-9]', metrics)
    assert re.search(r'vault_download_bytes_total\{kind="preview"\} [1-9]', metrics)

    logs = written.getvalue()
    lines = [json.loads(line) for line in logs.splitlines() if line.strip()]
    assert lines, "the journey wrote log lines"
    assert all(line.get("request_id") for line in lines)
    canaries = {
        **CANARIES,
        **codes,
        "recovery code, undivided": re.sub(r"\D", "", recovery_code),
        "mark": MARK,
    }
    for what, value in canaries.items():
        assert value not in metrics, f"the {what} is in the metrics"
        assert value not in logs, f"the {what} is in a log line"
        assert value.lower() not in logs.lower(), f"the {what} is in a log line"


TOKEN = "kP3vX9_qLm2-TzR8wYb1nC4dE6fG7hJ0aS5uV8xZ1oQ"
CODE = "4821 0937 5512 8830"
RECOVERY = "48210937-55128830-12345678-90123456"


def test_the_filter_keeps_out_what_a_request_carries(ops_app: Flask, written: io.StringIO) -> None:
    """Lines that would carry each secret, as careless code might write them, come out hidden."""
    app = ops_app
    app.config["WTF_CSRF_ENABLED"] = False
    log = logging.getLogger("vault.canary")
    with app.test_request_context(
        f"/connexion?q={CANARIES['last name']}",
        method="POST",
        data={"username": CANARIES["first name"], "passphrase": CANARIES["passphrase"]},
    ):
        app.preprocess_request()  # the app's own start of a request: id and masks
        log.warning("sign-in by %s with %r", CANARIES["first name"], CANARIES["passphrase"])
        log.warning("search: GET /documents/?q=%s", CANARIES["last name"])
        log.warning("GET /lien/%s", TOKEN)
        log.warning("codes typed: %s and %s", CODE, RECOVERY)
        log.warning("upload", extra={"title": CANARIES["title"], "pin": CANARIES["pin"]})
        # What the intake masks once it has read a document's title and file name.
        from vault.core import logs

        logs.mask(CANARIES["title"], CANARIES["file name"])
        log.warning("stored %s from %s.pdf", CANARIES["title"], CANARIES["file name"])
        try:
            raise RuntimeError(f"cannot store {CANARIES['file name']}.pdf")
        except RuntimeError:
            log.exception("upload failed")
    output = written.getvalue()
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert len(lines) >= 7 and output.count("<hidden>") >= 9, output
    assert len({line["request_id"] for line in lines}) == 1
    for what, value in {**CANARIES, "token": TOKEN, "code": CODE, "recovery": RECOVERY}.items():
        assert value not in output, f"the {what} reached a log line"
