"""`vault escrow init|recover|check`: the organisation's escrow key, made and used.

`escrow init` runs without the app (no escrow key is configured yet), so
`main` registers this group on the command line itself as well.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from crypto import CryptoError, derive_keypair, generate_data_key
from vault.accounts import sheets
from vault.cli.common import create_private, fail, print_activation
from vault.core.db import db_session
from vault.core.extensions import get_escrow_key, get_keyring, get_settings
from vault.models import User
from vault.recovery import service as recovery_service


@click.group("escrow", help="The organisation's escrow key.")
def escrow_group() -> None:
    pass


ESCROW_SHARE_SUFFIXES = tuple(f".share-{n}" for n in range(1, recovery_service.SHARES + 1))


def _fingerprint(public: bytes) -> str:
    """A short, comparable name of an escrow public key, written on every share."""
    return hashlib.sha256(public).hexdigest()[:32]


def _share_text(number: int, words: str, fingerprint: str) -> str:
    lines = [
        f"# Vault escrow key share {number} of {recovery_service.SHARES} (SLIP-39).",
        f"# Any {recovery_service.THRESHOLD} of the {recovery_service.SHARES} shares "
        "rebuild the escrow secret; one alone reveals nothing.",
        f"# Escrow public key fingerprint: {fingerprint}",
        "# Keep each share with a different person, offline.",
    ]
    tokens = words.split()
    lines += [" ".join(tokens[i : i + 11]) for i in range(0, len(tokens), 11)]
    return "\n".join(lines) + "\n"


# No app context: in production the app refuses to start without an escrow
# public key, and this command is how the operator makes one.
@escrow_group.command("init", help="Make the escrow key pair; write the secret to a new file.")
@click.option(
    "--secret-file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="New file for the secret (mode 0600); an existing file is never overwritten. "
    "With --split, the common start of the three share files' names.",
)
@click.option(
    "--split",
    is_flag=True,
    help="Split the secret 2-of-3 (SLIP-39 words): write FILE.share-1, FILE.share-2 and "
    "FILE.share-3 (mode 0600) and never the whole secret.",
)
def escrow_init(secret_file: Path, split: bool) -> None:
    secret = generate_data_key()
    public_bytes = derive_keypair(secret).public_bytes()
    public = base64.b64encode(public_bytes).decode()
    if split:
        targets = [secret_file.with_name(secret_file.name + s) for s in ESCROW_SHARE_SUFFIXES]
        # All three or none: a set with a share missing would be a trap.
        for target in targets:
            if target.exists():
                raise fail(f"escrow init: FAILED: {target} exists; refusing to overwrite a share")
        fingerprint = _fingerprint(public_bytes)
        written: list[Path] = []
        try:
            for number, (target, words) in enumerate(
                zip(targets, recovery_service.split_escrow_secret(secret), strict=True), start=1
            ):
                create_private(
                    target, _share_text(number, words, fingerprint).encode(), "escrow init"
                )
                written.append(target)
        except click.exceptions.Exit:
            for target in written:
                target.unlink(missing_ok=True)
            raise
        click.echo(
            f"escrow init: OK ({recovery_service.SHARES} shares written, mode 0600: "
            + ", ".join(str(t) for t in targets)
            + ")"
        )
        click.echo(
            f"Any {recovery_service.THRESHOLD} of them rebuild the secret; "
            "one alone reveals nothing."
        )
    else:
        create_private(secret_file, base64.b64encode(secret) + b"\n", "escrow init")
        click.echo(f"escrow init: OK (secret written to {secret_file}, mode 0600)")
    click.echo(f"Escrow public key: {public}")
    click.echo("Put this line in the configuration (environment or secrets file):")
    click.echo(f"VAULT_ESCROW_PUBLIC_KEY={public}")
    if split:
        click.echo(
            "Then give each share file to a different keeper, OFFLINE (e.g. printed, or on an "
            "encrypted USB key in a safe), and delete them from this machine: two shares, with "
            "the database and the server keys, open every vault."
        )
    else:
        click.echo(
            f"Then take {secret_file} OFFLINE (e.g. an encrypted USB key in a safe) and delete "
            "it from this machine: with the database and the server keys, it opens every vault."
        )


def _read_share(path: Path, what: str) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) else "not a text file"
        raise fail(f"{what}: FAILED: cannot read {path}: {reason}") from None
    return " ".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def _read_escrow_secret(secret_file: Path | None, shares: tuple[Path, ...], what: str) -> bytes:
    """The escrow secret from its file or from two (or three) share files; one line on failure."""
    if (secret_file is None) == (not shares):
        raise fail(f"{what}: FAILED: give either --secret-file or two --share files")
    if secret_file is not None:
        try:
            text = secret_file.read_text(encoding="ascii").strip()
            secret = base64.b64decode(text, validate=True)
        except OSError as e:
            raise fail(f"{what}: FAILED: cannot read {secret_file}: {e.strerror}") from None
        except (UnicodeDecodeError, binascii.Error, ValueError):
            secret = b""
        if len(secret) != 32:
            raise fail(f"{what}: FAILED: {secret_file} is not an escrow secret file")
        return secret
    if len(shares) < recovery_service.THRESHOLD:
        raise fail(
            f"{what}: FAILED: one share is not enough; give {recovery_service.THRESHOLD} of the "
            f"{recovery_service.SHARES} share files"
        )
    if len({p.resolve() for p in shares}) != len(shares):
        raise fail(f"{what}: FAILED: the same share file was given twice")
    try:
        return recovery_service.combine_escrow_shares([_read_share(p, what) for p in shares])
    except recovery_service.WrongShares:
        raise fail(
            f"{what}: FAILED: the shares do not rebuild a secret "
            "(a damaged share, or shares of different splits)"
        ) from None


_ESCROW_REFUSALS = {
    "not_found": "no escrow recovery request has this id",
    "closed": "the request is already completed or cancelled",
    "one_officer": "the request is not confirmed by two different recovery officers",
    "one_creator": "both recovery officers' accounts were opened by the same administrator, "
    "{creator}: one person cannot be both officers",
    "expired": "the request is too old; the officers must open a new one",
    "account": "the account is disabled or closed",
    "no_slot": "the account has no escrow slot",
    "damaged": "the escrow slot fails the server key ring (are the server keys right?)",
    "mismatch": "the escrow slot holds another key than the account's",
}


def _activation_url(base_url: str) -> str:
    try:
        return sheets.activation_url_at(base_url)
    except ValueError:
        raise fail(
            "escrow recover: FAILED: --base-url must look like https://coffre.example.fr"
        ) from None


def _activation_sheet(user: User, code: str, activation_url: str) -> bytes:
    """The activation sheet an administrator would print, for the re-enrolled person."""
    return sheets.activation_sheet(user, code, activation_url)


def _officer_line(account: recovery_service.OfficerAccount) -> str:
    """Who an officer is and who opened their account (two officers must be two people)."""
    officer, creator = account.officer, account.creator
    opened = f"{officer.created_at:%Y-%m-%d}"
    if creator is None:
        by = "opened by the operator (command line)"
    else:
        by = f"opened by the administrator {creator.display_name} ({creator.username})"
    return f"{officer.display_name} ({officer.username}), {by} on {opened}"


def _identity_line(done: recovery_service.Reenrolment) -> str:
    """What officer 1 recorded, the last 4 characters opened with the escrow secret."""
    identity = done.identity
    last4 = identity.get("last4")
    ending = f" ending {last4}" if last4 else " (last 4 characters not recorded)"
    officer = done.officers[0].officer if done.officers else None
    by = f" by {officer.display_name} ({officer.username})" if officer else ""
    seen = identity.get("seen_on", "?")
    return f"{identity.get('document', '?')}{ending}, seen on {seen}{by}"


@escrow_group.command(
    "recover",
    help="Carry out an escrow recovery confirmed by two recovery officers: open the person's "
    "escrow slot and re-enrol the account with a new activation code.",
)
@click.option("--request", "request_id", required=True, type=click.UUID, help="The request id.")
@click.option(
    "--secret-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The escrow secret file written by `escrow init`.",
)
@click.option(
    "--share",
    "shares",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A share file of `escrow init --split`; give two (or three).",
)
@click.option(
    "--sheet-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the new activation sheet (PDF, new file, mode 0600) here; "
    "without it the code is printed.",
)
@click.option(
    "--base-url",
    help="The vault's public address printed on the sheet (e.g. https://coffre.example.fr).",
)
@with_appcontext
def escrow_recover(
    request_id: uuid.UUID,
    secret_file: Path | None,
    shares: tuple[Path, ...],
    sheet_out: Path | None,
    base_url: str | None,
) -> None:
    from vault.core.pdf.render import PdfError  # WeasyPrint loads only when a sheet is made

    what = "escrow recover"
    # Every input is checked before the database is touched.
    if sheet_out is not None and base_url is None:
        raise fail(f"{what}: FAILED: --sheet-out needs --base-url (the address on the sheet)")
    if sheet_out is not None and sheet_out.exists():
        raise fail(f"{what}: FAILED: {sheet_out} exists; refusing to overwrite it")
    activation_url = _activation_url(base_url) if base_url else ""
    secret = _read_escrow_secret(secret_file, shares, what)
    db = db_session()
    try:
        done = recovery_service.escrow_recover(
            db,
            get_keyring(),
            secret,
            request_id,
            activation_days=get_settings().activation_days,
        )
        pdf = (
            _activation_sheet(done.user, done.activation_code, activation_url) if sheet_out else b""
        )
    except recovery_service.EscrowRefused as e:
        db.rollback()
        creator = f"{e.creator.display_name} ({e.creator.username})" if e.creator else ""
        reason = _ESCROW_REFUSALS.get(e.code, e.code).format(creator=creator)
        raise fail(f"{what}: REFUSED: {reason}; nothing changed") from None
    except recovery_service.WrongEscrowSecret:
        db.rollback()
        raise fail(
            f"{what}: REFUSED: this escrow secret does not open the person's escrow slot "
            "(wrong secret, or shares of another key); nothing changed"
        ) from None
    except (SQLAlchemyError, CryptoError, PdfError, OSError) as e:
        db.rollback()
        raise fail(f"{what}: FAILED: {type(e).__name__}; nothing changed") from None
    user = done.user
    if sheet_out is not None:
        # Written before the commit, removed if the commit fails: a sheet on
        # disk always matches the database.
        create_private(sheet_out, pdf, what)
        try:
            db.commit()
        except (OSError, SQLAlchemyError) as e:
            db.rollback()
            sheet_out.unlink(missing_ok=True)
            raise fail(f"{what}: FAILED: {type(e).__name__}; nothing changed") from None
    else:
        try:
            db.commit()
        except SQLAlchemyError as e:
            db.rollback()
            raise fail(f"{what}: FAILED: database: {type(e).__name__}; nothing changed") from None
    click.echo(f"{what}: OK (request {request_id}; {user.username} re-enrolled, sessions ended)")
    for number, account in enumerate(done.officers, start=1):
        click.echo(f"Officer {number}: {_officer_line(account)}")
    click.echo(f"Identity check: {_identity_line(done)}")
    if sheet_out is not None:
        click.echo(f"New activation sheet written to {sheet_out} (mode 0600).")
        click.echo("Hand it to the person, then delete the file.")
    else:
        print_activation(f"New activation code for {user.display_name}", user, done.activation_code)


@escrow_group.command(
    "check",
    help="Check that a secret file or two share files rebuild the configured escrow key "
    "(a drill: nothing is read or changed in the database).",
)
@click.option("--secret-file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--share", "shares", multiple=True, type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def escrow_check(secret_file: Path | None, shares: tuple[Path, ...]) -> None:
    secret = _read_escrow_secret(secret_file, shares, "escrow check")
    public = derive_keypair(secret).public_bytes()
    if public != get_escrow_key().to_bytes():
        raise fail(
            "escrow check: FAILED: this is not the configured escrow key "
            f"(fingerprint {_fingerprint(public)})"
        )
    click.echo(f"escrow check: OK (the configured escrow key, fingerprint {_fingerprint(public)})")


commands: list[click.Command] = [escrow_group]
