"""`vault accounts first-admin|create-admin|disable|enable`: administrators and staff."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from crypto import CryptoError
from vault.accounts import service as accounts
from vault.cli.common import fail, print_activation
from vault.core.db import db_session
from vault.core.extensions import get_escrow_key, get_keyring, get_settings
from vault.models import Role, User

# Replicas starting together all run `accounts first-admin`: on PostgreSQL they
# serialise on this advisory lock, so only the first opens an administrator.
FIRST_ADMIN_LOCK_ID = 0x7661756C7441  # "vaultA"
FIRST_ADMIN_USERNAME = "admin"
NAME_MAX = 100


@click.group("accounts", help="Administrator accounts; disabling staff.")
def accounts_group() -> None:
    pass


def _open_administrator(db: Session, first: str, last: str, username: str | None) -> str:
    new = accounts.open_account(
        db,
        get_keyring(),
        get_escrow_key(),
        role=Role.ADMINISTRATOR,
        first_name=first,
        last_name=last,
        created_by=None,
        activation_days=get_settings().activation_days,
        username=username,
    )
    return new.activation_code


@accounts_group.command("first-admin", help="Open an administrator if there is none yet.")
@click.option("--quiet", is_flag=True, help="Say nothing when an administrator exists.")
@with_appcontext
def accounts_first_admin(quiet: bool) -> None:
    db = db_session()
    try:
        if db.get_bind().dialect.name == "postgresql":
            db.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": FIRST_ADMIN_LOCK_ID})
        if accounts.administrators_exist(db):
            db.rollback()
            if not quiet:
                click.echo("accounts first-admin: an administrator exists; nothing to do")
            return
        # "admin" may already name someone else (a person called Admin):
        # then the usual "admin2"... applies.
        free = accounts.find_user(db, FIRST_ADMIN_USERNAME) is None
        username = FIRST_ADMIN_USERNAME if free else accounts.make_username(db, "admin")
        code = _open_administrator(db, "Administrateur", "", username)
        user = accounts.find_user(db, username)
        db.commit()
    except (SQLAlchemyError, CryptoError) as e:
        db.rollback()
        raise fail(f"accounts first-admin: FAILED: {type(e).__name__}") from None
    assert user is not None
    print_activation("First administrator account opened", user, code)


def _clean_name(value: str, option: str) -> str:
    name = " ".join(value.split())
    if not name or len(name) > NAME_MAX:
        raise fail(f"accounts create-admin: FAILED: {option} must have 1 to {NAME_MAX} characters")
    return name


@accounts_group.command("create-admin", help="Open a new administrator and print its code.")
@click.option("--first-name", required=True)
@click.option("--last-name", required=True)
@with_appcontext
def accounts_create_admin(first_name: str, last_name: str) -> None:
    first = _clean_name(first_name, "--first-name")
    last = _clean_name(last_name, "--last-name")
    db = db_session()
    try:
        username = accounts.make_username(db, first, last)
        code = _open_administrator(db, first, last, username)
        user = accounts.find_user(db, username)
        db.commit()
    except (SQLAlchemyError, CryptoError) as e:
        db.rollback()
        raise fail(f"accounts create-admin: FAILED: {type(e).__name__}") from None
    assert user is not None
    print_activation(f"Administrator account opened for {user.display_name}", user, code)


STAFF_REFUSALS = {
    "not_staff": "{username} is a person: a vault holder's account follows the lifecycle",
    "last_administrator": "the last active administrator cannot be disabled",
    "already_disabled": "{username} is already disabled",
    "not_disabled": "{username} is not disabled",
}


def _staff_account(db: Session, username: str, command: str) -> User:
    user = accounts.find_user(db, username)
    if user is None:
        raise fail(f"accounts {command}: FAILED: no account is named {username.strip()}")
    return user


@accounts_group.command(
    "disable", help="Disable a staff account: signed out everywhere, sign-in refused."
)
@click.argument("username")
@with_appcontext
def accounts_disable(username: str) -> None:
    db = db_session()
    try:
        user = _staff_account(db, username, "disable")
        done = accounts.disable_account(db, user, by=None)
        db.commit()
    except accounts.StaffRefused as e:
        db.rollback()
        reason = STAFF_REFUSALS.get(e.code, e.code).format(username=username.strip())
        raise fail(f"accounts disable: REFUSED: {reason}") from None
    except SQLAlchemyError as e:
        db.rollback()
        raise fail(f"accounts disable: FAILED: database: {type(e).__name__}") from None
    sessions = "session" if done.sessions_ended == 1 else "sessions"
    followups = "follow-up" if done.followups_ended == 1 else "follow-ups"
    extra = (
        f", {done.escrow_requests_cancelled} escrow request(s) cancelled"
        if done.escrow_requests_cancelled
        else ""
    )
    click.echo(
        f"accounts disable: OK: {user.username} is disabled ({done.sessions_ended} "
        f"{sessions} ended, {done.followups_ended} {followups} ended{extra})"
    )


@accounts_group.command("enable", help="Enable a disabled staff account again.")
@click.argument("username")
@with_appcontext
def accounts_enable(username: str) -> None:
    db = db_session()
    try:
        user = _staff_account(db, username, "enable")
        accounts.enable_account(db, user, by=None)
        db.commit()
    except accounts.StaffRefused as e:
        db.rollback()
        reason = STAFF_REFUSALS.get(e.code, e.code).format(username=username.strip())
        raise fail(f"accounts enable: REFUSED: {reason}") from None
    except SQLAlchemyError as e:
        db.rollback()
        raise fail(f"accounts enable: FAILED: database: {type(e).__name__}") from None
    click.echo(f"accounts enable: OK: {user.username} can sign in again")


commands: list[click.Command] = [accounts_group]
