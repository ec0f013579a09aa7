"""`vault accounts`, `vault demo`, `vault escrow init` and `vault journal verify`."""

from __future__ import annotations

import base64
import os
import re
import stat
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select, update

from crypto import derive_keypair
from tests.factories import make_account, open_pending
from vault.accounts import service as accounts
from vault.core.db import db_session
from vault.core.extensions import get_keyring, get_store
from vault.dev.demo import DEMO_ESTABLISHMENT
from vault.documents import service as documents
from vault.models import AccountStatus, Document, Establishment, JournalEvent, Role, User

CODE = re.compile(r"Activation code: (\d{4} \d{4} \d{4} \d{4})")
VAULT = str(Path(sys.executable).with_name("vault"))


def administrators(app: Flask) -> list[User]:
    with app.app_context():
        query = select(User).where(User.role == Role.ADMINISTRATOR)
        return list(db_session().execute(query).scalars())


def code_works(app: Flask, username: str, code: str) -> bool:
    with app.app_context():
        db = db_session()
        user, _key = accounts.check_activation(db, get_keyring(), username, code)
        db.rollback()
        return user.username == username


# --- accounts ---------------------------------------------------------------------------


def test_first_admin_opens_one_administrator_once(app: Flask) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["accounts", "first-admin"])
    assert first.exit_code == 0, first.output
    assert "Username:        admin" in first.output and "/activer" in first.output
    match = CODE.search(first.output)
    assert match
    [admin] = administrators(app)
    assert admin.username == "admin" and admin.display_name == "Administrateur"
    assert admin.status == AccountStatus.PENDING
    assert code_works(app, "admin", match.group(1))

    second = runner.invoke(args=["accounts", "first-admin"])
    assert second.exit_code == 0, second.output
    assert not CODE.search(second.output) and "nothing to do" in second.output
    quiet = runner.invoke(args=["accounts", "first-admin", "--quiet"])
    assert quiet.exit_code == 0 and quiet.output == ""
    assert len(administrators(app)) == 1


def test_first_admin_takes_another_name_when_admin_is_taken(app: Flask) -> None:
    open_pending(app, Role.PERSON, "Admin", "")  # a person whose username is "admin"
    result = app.test_cli_runner().invoke(args=["accounts", "first-admin"])
    assert result.exit_code == 0, result.output
    [admin] = administrators(app)
    assert admin.username == "admin2"
    assert "Username:        admin2" in result.output


def test_create_admin_always_opens_a_new_one(app: Flask) -> None:
    make_account(app, Role.ADMINISTRATOR, "Ada", "Admin")
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["accounts", "create-admin", "--first-name", "Émile", "--last-name", "Zola"]
    )
    assert result.exit_code == 0, result.output
    match = CODE.search(result.output)
    assert match and "emile.zola" in result.output
    assert {a.username for a in administrators(app)} == {"ada.admin", "emile.zola"}
    assert code_works(app, "emile.zola", match.group(1))

    bad = runner.invoke(args=["accounts", "create-admin", "--first-name", " ", "--last-name", "Z"])
    assert bad.exit_code == 1
    assert bad.output.count("\n") == 1 and "Traceback" not in bad.output
    assert len(administrators(app)) == 2


# --- demo -------------------------------------------------------------------------------

DEMO_LINE = re.compile(r"^\s+(person \(vault holder\)|counsellor|administrator)\s+(\S+)\s+(.+)$")


def test_demo_makes_activated_accounts_with_documents_then_refuses(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "DEMO ACCOUNTS" in result.output
    signins = {
        m.group(1).split()[0]: (m.group(2), m.group(3).strip())
        for line in result.output.splitlines()
        if (m := DEMO_LINE.match(line))
    }
    assert set(signins) == {"person", "counsellor", "administrator"}

    with app.app_context():
        db = db_session()
        establishment = db.execute(
            select(Establishment).where(Establishment.name == DEMO_ESTABLISHMENT)
        ).scalar_one()
        users = {}
        for role, (username, passphrase) in signins.items():
            user, key = accounts.sign_in(db, get_keyring(), username, passphrase)
            assert user.role == role and user.status == AccountStatus.ACTIVE
            assert user.establishment_id == establishment.id
            users[role] = (user, key)
        person, person_key = users["person"]
        owner = documents.Unlocked(person, person_key)
        listed, total = documents.list_documents(db, owner)
        assert 4 <= total <= 6
        assert len({item.category for item in listed}) >= 3
        assert date.today() + timedelta(days=60) in {item.expiry_date for item in listed}
        for item in listed:
            document = documents.get_document(db, person.id, item.id)
            version = documents.current_version(db, document)
            content = b"".join(documents.read_content(get_store(), get_keyring(), owner, version))
            magic = b"\x89PNG" if item.mime == "image/png" else b"%PDF"
            assert content.startswith(magic), item.title
        db.rollback()

    again = runner.invoke(args=["demo"])
    assert again.exit_code == 1
    assert again.output.count("\n") == 1 and "already exists" in again.output
    with app.app_context():
        count = db_session().execute(select(func.count(Document.id))).scalar_one()
        assert count == total


def test_demo_uses_an_existing_administrator(app: Flask) -> None:
    make_account(app, Role.ADMINISTRATOR, "Ada", "Admin")
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert [a.username for a in administrators(app)] == ["ada.admin"]


# --- escrow -----------------------------------------------------------------------------


def test_escrow_init_writes_a_private_secret_and_never_overwrites(
    app: Flask, tmp_path: Path
) -> None:
    path = tmp_path / "escrow.key"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["escrow", "init", "--secret-file", str(path)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = base64.b64decode(path.read_text().strip(), validate=True)
    assert len(secret) == 32
    public = base64.b64encode(derive_keypair(secret).public_bytes()).decode()
    assert f"\nVAULT_ESCROW_PUBLIC_KEY={public}\n" in result.output
    assert "offline" in result.output.lower()

    before = path.read_bytes()
    again = runner.invoke(args=["escrow", "init", "--secret-file", str(path)])
    assert again.exit_code == 1
    assert again.output.count("\n") == 1 and "exists" in again.output
    assert path.read_bytes() == before

    missing = runner.invoke(args=["escrow", "init", "--secret-file", str(tmp_path / "no" / "k")])
    assert missing.exit_code == 1 and missing.output.count("\n") == 1


def test_escrow_init_runs_before_the_app_is_configured(tmp_path: Path) -> None:
    # Production refuses to start without an escrow public key: the command
    # that makes one must not need it.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "FLASK_"))}
    env.update(VAULT_ENV="production", VAULT_INSTANCE_PATH=str(tmp_path))
    path = tmp_path / "escrow.key"
    done = subprocess.run(
        [VAULT, "escrow", "init", "--secret-file", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "VAULT_ESCROW_PUBLIC_KEY=" in done.stdout and path.exists()


# --- journal ----------------------------------------------------------------------------


def test_journal_verify_reports_a_tampered_event(app: Flask) -> None:
    person = make_account(app, Role.PERSON, "Jules", "Verne")
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["journal", "verify"])
    assert ok.exit_code == 0, ok.output
    assert re.fullmatch(r"journal verify: OK \(\d+ events\)\n", ok.output)

    with app.app_context():
        db = db_session()
        db.execute(
            update(JournalEvent)
            .where(JournalEvent.vault_id == person.user.id, JournalEvent.seq == 1)
            .values(outcome="refused")
        )
        db.commit()
    failed = runner.invoke(args=["journal", "verify"])
    assert failed.exit_code == 1
    lines = failed.output.splitlines()
    assert lines[0] == "journal verify: FAILED: 1 problem(s)"
    assert lines[1:] == [f"  vault {person.user.id} seq 1: hash"]
