"""Operator commands: `vault db upgrade`, `vault storage check`, `vault storage gc`,
`vault accounts first-admin|create-admin`, `vault demo`, `vault escrow init`,
`vault journal verify`.

Also reachable as `flask --app wsgi ...`. Each command commits its own work and
reports failure as one line on stderr with a non-zero exit status, never a
traceback: operators run these from scripts and health checks.
"""

from __future__ import annotations

import base64
import io
import logging
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from pathlib import Path

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

import storage
from crypto import CryptoError, derive_keypair, generate_data_key
from vault import migrate
from vault.db import db_session, get_database
from vault.extensions import get_escrow_key, get_keyring, get_settings, get_store
from vault.models import Blob, Establishment, Role, User
from vault.passphrases import check_passphrase, generate_passphrase
from vault.services import accounts, documents, journal
from vault.services.errors import ServiceError

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


@click.group("accounts", help="Administrator accounts.")
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


# No app context: in production the app refuses to start without an escrow
# public key, and this command is how the operator makes one.
@escrow_group.command("init", help="Make the escrow key pair; write the secret to a new file.")
@click.option(
    "--secret-file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="New file for the secret (mode 0600); an existing file is never overwritten.",
)
def escrow_init(secret_file: Path) -> None:
    secret = generate_data_key()
    public = base64.b64encode(derive_keypair(secret).public_bytes()).decode()
    try:
        # O_EXCL: refuse an existing file, even one created a moment ago.
        fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise fail(
            f"escrow init: FAILED: {secret_file} exists; refusing to overwrite an escrow secret"
        ) from None
    except OSError as e:
        raise fail(f"escrow init: FAILED: cannot create {secret_file}: {e.strerror}") from None
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(base64.b64encode(secret).decode() + "\n")
    except OSError as e:
        secret_file.unlink(missing_ok=True)
        raise fail(f"escrow init: FAILED: cannot write {secret_file}: {e.strerror}") from None
    click.echo(f"escrow init: OK (secret written to {secret_file}, mode 0600)")
    click.echo(f"Escrow public key: {public}")
    click.echo("Put this line in the configuration (environment or secrets file):")
    click.echo(f"VAULT_ESCROW_PUBLIC_KEY={public}")
    click.echo(
        f"Then take {secret_file} OFFLINE (e.g. an encrypted USB key in a safe) and delete it "
        "from this machine: with the database and the server keys, it opens every vault."
    )


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
    from vault.commands import all_commands

    for command in all_commands():
        app.cli.add_command(command)


def _create_app() -> Flask:
    from vault import create_app

    return create_app()


def main() -> None:
    """Entry point of the `vault` console script."""
    group = FlaskGroup(create_app=_create_app, add_default_commands=True)
    # Reachable before the app can be built (no escrow key configured yet).
    group.add_command(escrow_group)
    group(prog_name="vault")
