"""Operator commands: `vault db upgrade`, `vault storage check`, `vault storage gc`,
`vault accounts first-admin|create-admin|disable|enable`, `vault demo`,
`vault escrow init|recover|check`, `vault journal verify`.

Also reachable as `flask --app wsgi ...`. Each command commits its own work and
reports failure as one line on stderr with a non-zero exit status, never a
traceback: operators run these from scripts and health checks.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import logging
import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from pathlib import Path
from urllib.parse import quote, urlsplit

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import storage
from crypto import CryptoError, derive_keypair, generate_data_key
from vault.accounts import service as accounts
from vault.accounts.passphrases import check_passphrase, generate_passphrase
from vault.core.db import db_session, get_database
from vault.core.errors import ServiceError
from vault.core.extensions import get_escrow_key, get_keyring, get_settings, get_store
from vault.documents import service as documents
from vault.journal import service as journal
from vault.models import Blob, Establishment, Role, User
from vault.recovery import service as recovery_service

log = logging.getLogger(__name__)

PROBE_PREFIX = "probes"
GC_BATCH = 500


def fail(message: str) -> click.exceptions.Exit:
    click.echo(message, err=True)
    return click.exceptions.Exit(1)


@click.group("db", help="Database schema.")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Migrate the database to the latest schema.")
@with_appcontext
def db_upgrade() -> None:
    database = get_database()
    try:
        # Alembic is loaded here only: app processes never need it.
        from vault.core import migrate

        migrate.upgrade(database.engine)
        with database.engine.connect() as connection:
            revision = migrate.current_revision(connection)
    except SQLAlchemyError as e:
        raise fail(f"db upgrade: FAILED: {type(e).__name__}: {_first_line(e)}") from None
    click.echo(f"db upgrade: OK (revision {revision})")


@click.group("storage", help="Blob store.")
def storage_group() -> None:
    pass


@storage_group.command("check", help="Write, read back and delete a probe blob.")
@with_appcontext
def storage_check() -> None:
    store = get_store()
    key = storage.new_key(PROBE_PREFIX)
    payload = secrets.token_bytes(4096)
    try:
        store.put(key, io.BytesIO(payload), len(payload))
        with store.open(key) as reader:
            echoed = reader.read()
        store.delete(key)
    except storage.StorageError as e:
        raise fail(f"storage check: FAILED: {e}") from None
    if echoed != payload:
        raise fail(f"storage check: FAILED: {store.describe()}: read back different bytes")
    click.echo(f"storage check: OK ({store.describe()})")


@storage_group.command("gc", help="Remove blobs that no row references (dry run by default).")
@click.option(
    "--grace-hours",
    type=click.IntRange(min=1),
    default=24,
    show_default=True,
    help="Only blobs older than this; younger ones may belong to a request in flight.",
)
@click.option("--delete", is_flag=True, help="Really delete (default: only report).")
@with_appcontext
def storage_gc(grace_hours: int, delete: bool) -> None:
    store = get_store()
    cutoff = datetime.now(UTC) - timedelta(hours=grace_hours)
    count = size = 0
    try:
        for info in _orphans(store, cutoff):
            count += 1
            size += info.size
            if delete:
                store.delete(info.key)
            click.echo(f"{'deleted' if delete else 'orphan'} {info.key} {info.size}")
        # Temporary files of local puts cut short by a crash are never blobs.
        if delete and isinstance(store, storage.LocalBlobStore):
            swept = store.sweep_partials(older_than=grace_hours * 3600)
            if swept:
                click.echo(f"removed {swept} partial file(s) left by interrupted writes")
    except storage.StorageError as e:
        raise fail(f"storage gc: FAILED after {count} blob(s): {e}") from None
    except SQLAlchemyError as e:
        raise fail(f"storage gc: FAILED: database: {type(e).__name__}") from None
    verb = "deleted" if delete else "would delete (dry run; pass --delete)"
    click.echo(f"storage gc: {verb} {count} blob(s), {size} bytes, older than {grace_hours} h")


def _orphans(store: storage.BlobStore, cutoff: datetime) -> Iterator[storage.BlobInfo]:
    """Blobs older than `cutoff` that no `blobs` row references, in batches."""
    # Probes of `storage check` and the health probe are the app's own too.
    candidates = (info for info in store.list() if info.modified < cutoff)
    session = db_session()
    while batch := list(islice(candidates, GC_BATCH)):
        keys = [info.key for info in batch]
        known = set(
            session.execute(
                select(Blob.key).where(Blob.store == store.name, Blob.key.in_(keys))
            ).scalars()
        )
        yield from (info for info in batch if info.key not in known)


# --- accounts ---------------------------------------------------------------------------

# Replicas starting together all run `accounts first-admin`: on PostgreSQL they
# serialise on this advisory lock, so only the first opens an administrator.
FIRST_ADMIN_LOCK_ID = 0x7661756C7441  # "vaultA"
FIRST_ADMIN_USERNAME = "admin"
NAME_MAX = 100


@click.group("accounts", help="Administrator accounts; disabling staff.")
def accounts_group() -> None:
    pass


def _print_activation(title: str, user: User, code: str) -> None:
    """The one-time code, on the operator's console only (never in a log)."""
    expires = user.activation_expires_at.date().isoformat() if user.activation_expires_at else ""
    rule = "=" * 64
    click.echo(rule)
    click.echo(f" {title}")
    click.echo(f"   Username:        {user.username}")
    click.echo(f"   Activation code: {code}")
    click.echo("   Activate at:     /activer  (e.g. http://127.0.0.1:5000/activer)")
    click.echo(f"   The code works once, until {expires}. It is not shown again.")
    click.echo(rule)


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
    _print_activation("First administrator account opened", user, code)


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
    _print_activation(f"Administrator account opened for {user.display_name}", user, code)


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


# --- demo -------------------------------------------------------------------------------

DEMO_ESTABLISHMENT = "Centre pénitentiaire de démonstration"


@click.command("demo", help="Fill an empty instance with demo accounts and documents.")
@with_appcontext
def demo_command() -> None:
    db = db_session()
    try:
        exists = db.execute(
            select(Establishment.id).where(Establishment.name == DEMO_ESTABLISHMENT)
        ).first()
    except SQLAlchemyError as e:
        raise fail(f"demo: FAILED: database: {type(e).__name__}") from None
    if exists:
        raise fail("demo: REFUSED: the demo establishment already exists; nothing done")
    try:
        lines = _make_demo(db)
        db.commit()
    except (SQLAlchemyError, storage.StorageError, ServiceError, CryptoError, OSError) as e:
        # Nothing is committed; blobs already written have no row and
        # `vault storage gc --delete` removes them.
        db.rollback()
        raise fail(f"demo: FAILED: {type(e).__name__}: {_first_line(e)}") from None
    click.echo("demo: OK")
    click.echo("")
    click.echo("!" * 72)
    click.echo("  DEMO ACCOUNTS, for trying the vault only. Their secret phrases are")
    click.echo("  printed here in clear: never put real papers in them, and never run")
    click.echo("  `vault demo` on an instance that real people use.")
    click.echo("!" * 72)
    click.echo("Sign in at /connexion with:")
    for line in lines:
        click.echo(f"  {line}")


def _demo_passphrase(username: str) -> str:
    while True:
        passphrase = generate_passphrase()
        if not check_passphrase(passphrase, username=username):
            return passphrase


def _activated(
    db: Session, role: Role, first: str, last: str, **profile: object
) -> tuple[User, bytes, str]:
    """An account opened, activated and given a demo passphrase, like a real one."""
    ring = get_keyring()
    new = accounts.open_account(
        db,
        ring,
        get_escrow_key(),
        role=role,
        first_name=first,
        last_name=last,
        created_by=None,
        activation_days=get_settings().activation_days,
        **profile,  # type: ignore[arg-type]
    )
    user, key = accounts.check_activation(db, ring, new.user.username, new.activation_code)
    passphrase = _demo_passphrase(user.username)
    accounts.complete_activation(db, ring, user, key, passphrase)
    return user, key, passphrase


def _make_demo(db: Session) -> list[str]:
    establishment = Establishment(name=DEMO_ESTABLISHMENT)
    db.add(establishment)
    db.flush()
    lines: list[str] = []

    person, person_key, passphrase = _activated(
        db,
        Role.PERSON,
        "Alex",
        "Exemple",
        establishment_id=establishment.id,
        birth_date=date(1991, 4, 17),
        prison_number="DEMO-0001",
    )
    lines.append(f"person (vault holder)  {person.username:<18} {passphrase}")
    counsellor, _key, passphrase = _activated(
        db, Role.COUNSELLOR, "Claire", "Exemple", establishment_id=establishment.id
    )
    lines.append(f"counsellor             {counsellor.username:<18} {passphrase}")
    if accounts.administrators_exist(db):
        lines.append("administrator          (one exists already; the demo added none)")
    else:
        admin, _key, passphrase = _activated(
            db, Role.ADMINISTRATOR, "Adèle", "Exemple", establishment_id=establishment.id
        )
        lines.append(f"administrator          {admin.username:<18} {passphrase}")

    owner = documents.Unlocked(person, person_key)
    for sample in _demo_documents():
        documents.add_document(
            db,
            get_store(),
            get_keyring(),
            owner,
            [sample.content],
            mime=sample.mime,
            title=sample.title,
            filename=sample.filename,
            category=sample.category,
            doc_type=sample.doc_type,
            expiry_date=sample.expiry_date,
            actor=person,
        )
    return lines


@dataclass(frozen=True)
class _Sample:
    title: str
    filename: str
    category: str
    doc_type: str
    content: bytes
    expiry_date: date | None = None

    @property
    def mime(self) -> str:
        return "image/png" if self.filename.endswith(".png") else "application/pdf"


def _demo_documents() -> list[_Sample]:
    """Fake papers, drawn here so the demo needs no file and holds nobody's data."""
    soon = date.today() + timedelta(days=60)
    return [
        _Sample(
            "Carte Vitale",
            "carte-vitale.png",
            "health",
            "social_security_card",
            _card_png("carte Vitale", ["ALEX EXEMPLE", "1 91 04 99 999 999 99"], (46, 139, 87)),
        ),
        _Sample(
            "Carte nationale d'identité",
            "carte-identite.png",
            "identity",
            "id_card",
            _card_png(
                "RÉPUBLIQUE FRANÇAISE",
                ["CARTE NATIONALE D'IDENTITÉ", "EXEMPLE Alex", f"Expire le {soon:%d/%m/%Y}"],
                (40, 70, 160),
            ),
            expiry_date=soon,
        ),
        _Sample(
            "CV",
            "cv-alex-exemple.pdf",
            "work",
            "cv",
            _text_pdf(
                "Alex Exemple - Curriculum vitae",
                [
                    "Expérience",
                    "2019-2022  Préparateur de commandes, entrepôt logistique",
                    "2016-2019  Agent d'entretien des espaces verts",
                    "",
                    "Formation",
                    "2023  CACES R489 (chariots élévateurs)",
                    "2015  CAP Maintenance des bâtiments",
                    "",
                    "Langues : français, arabe (courant), anglais (notions)",
                ],
            ),
        ),
        _Sample(
            "Attestation de droits à l'Assurance maladie",
            "attestation-droits.pdf",
            "health",
            "social_security_certificate",
            _text_pdf(
                "Attestation de droits (exemple)",
                ["Bénéficiaire : Alex Exemple", "Document de démonstration, sans valeur."],
            ),
        ),
        _Sample(
            "Relevé d'identité bancaire",
            "rib.pdf",
            "benefits",
            "bank_details",
            _text_pdf(
                "Relevé d'identité bancaire (exemple)",
                ["Titulaire : Alex Exemple", "IBAN : FR76 0000 0000 0000 0000 0000 000"],
            ),
        ),
        _Sample(
            "Attestation d'hébergement",
            "attestation-hebergement.pdf",
            "housing",
            "accommodation_certificate",
            _text_pdf(
                "Attestation d'hébergement (exemple)",
                ["Je soussignée, Mme Exemple, certifie héberger Alex Exemple à sa sortie."],
            ),
        ),
    ]


def _card_png(heading: str, lines: list[str], colour: tuple[int, int, int]) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (640, 400), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle(
        (8, 8, 632, 392), radius=28, fill=(245, 245, 240), outline=colour, width=6
    )
    draw.rectangle((8, 40, 632, 110), fill=colour)
    draw.text((36, 52), heading, fill=(255, 255, 255), font=ImageFont.load_default(size=40))
    body = ImageFont.load_default(size=30)
    for i, line in enumerate(lines):
        draw.text((36, 150 + 48 * i), line, fill=(20, 20, 20), font=body)
    draw.text((36, 350), "SPÉCIMEN - DÉMONSTRATION", fill=(180, 0, 0), font=body)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _pdf_text(value: str) -> bytes:
    raw = value.encode("cp1252", "replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _text_pdf(title: str, lines: list[str]) -> bytes:
    """A one-page text PDF (Helvetica, WinAnsi for French accents)."""
    body = b"BT /F1 18 Tf 56 770 Td " + _pdf_text(title) + b" Tj /F1 11 Tf 16 TL 0 -36 Td"
    for line in lines:
        body += b" " + _pdf_text(line) + b" Tj T*"
    body += b" 0 -24 Td " + _pdf_text("Document de démonstration : aucune valeur.") + b" Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(body)).encode() + b" >>\nstream\n" + body + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + obj + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


# --- escrow -----------------------------------------------------------------------------


@click.group("escrow", help="The organisation's escrow key.")
def escrow_group() -> None:
    pass


ESCROW_SHARE_SUFFIXES = tuple(f".share-{n}" for n in range(1, recovery_service.SHARES + 1))


def _fingerprint(public: bytes) -> str:
    """A short, comparable name of an escrow public key, written on every share."""
    return hashlib.sha256(public).hexdigest()[:32]


def _create_private(path: Path, data: bytes, what: str) -> None:
    """Write `data` to a new file of mode 0600; never overwrite (O_EXCL)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise fail(f"{what}: FAILED: {path} exists; refusing to overwrite it") from None
    except OSError as e:
        raise fail(f"{what}: FAILED: cannot create {path}: {e.strerror}") from None
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except OSError as e:
        path.unlink(missing_ok=True)
        raise fail(f"{what}: FAILED: cannot write {path}: {e.strerror}") from None


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
                _create_private(
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
        _create_private(secret_file, base64.b64encode(secret) + b"\n", "escrow init")
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
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise fail("escrow recover: FAILED: --base-url must look like https://coffre.example.fr")
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme
    )
    return adapter.build("auth.activate", force_external=True)


def _activation_sheet(user: User, code: str, activation_url: str) -> bytes:
    """The activation sheet an administrator would print, for the re-enrolled person."""
    from flask_babel import format_date

    from vault.accounts.views.admin import role_label
    from vault.core.pdf.render import render_pdf

    digits = accounts.normalize_activation_code(code)
    return render_pdf(
        "pdf/activation_sheet.html",
        display_name=user.display_name,
        username=user.username,
        activation_code=code,
        activation_url=activation_url,
        # In the fragment, which browsers never send (as on the administrators' sheets).
        qr_payload=f"{activation_url}#u={quote(user.username, safe='')}&c={digits}",
        expires_on=format_date(user.activation_expires_at, "long")
        if user.activation_expires_at
        else "",
        establishment=user.establishment.name if user.establishment else None,
        role_label=role_label(user.role),
    )


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
        _create_private(sheet_out, pdf, what)
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
        _print_activation(
            f"New activation code for {user.display_name}", user, done.activation_code
        )


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


# --- journal ----------------------------------------------------------------------------


@click.group("journal", help="The hash-chained journal.")
def journal_group() -> None:
    pass


@journal_group.command("verify", help="Check every vault's journal chain.")
@with_appcontext
def journal_verify() -> None:
    try:
        count, problems = journal.verify(db_session(), ring=get_keyring())
    except SQLAlchemyError as e:
        raise fail(f"journal verify: FAILED: database: {type(e).__name__}") from None
    if problems:
        click.echo(f"journal verify: FAILED: {len(problems)} problem(s)", err=True)
        for problem in problems:
            click.echo(f"  vault {problem.vault_id} seq {problem.seq}: {problem.problem}", err=True)
        raise click.exceptions.Exit(1)
    click.echo(f"journal verify: OK ({count} events)")


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else ""


def register_commands(app: Flask) -> None:
    app.cli.add_command(db_group)
    app.cli.add_command(storage_group)
    app.cli.add_command(accounts_group)
    app.cli.add_command(demo_command)
    app.cli.add_command(escrow_group)
    app.cli.add_command(journal_group)
    # Each area's module exposes `commands`; importing them here, not at the
    # top, keeps the areas free to import this module's helpers.
    from vault.cli import export as export_area
    from vault.cli import keys as keys_area
    from vault.cli import lifecycle as lifecycle_area
    from vault.cli import recovery as recovery_area

    for area in (export_area, keys_area, lifecycle_area, recovery_area):
        for command in area.commands:
            app.cli.add_command(command)


def _create_app() -> Flask:
    from vault import create_app

    return create_app()


def main() -> None:
    """Entry point of the `vault` console script."""
    group = FlaskGroup(create_app=_create_app, add_default_commands=True)
    # Reachable before the app can be built (no escrow key configured yet).
    group.add_command(escrow_group)
    # `export verify` checks a file on any machine, without configuration or database.
    from vault.cli.export import export_group

    group.add_command(export_group)
    group(prog_name="vault")
