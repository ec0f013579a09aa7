"""Factories: accounts, documents and signed-in clients built through the real services.

Each helper commits like a view would; under the `app` fixture those commits
are savepoints inside the test's rolled-back transaction.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from vault.accounts import service as accounts
from vault.core.db import db_session
from vault.core.extensions import get_escrow_key, get_keyring, get_settings, get_store
from vault.documents import service as documents
from vault.models import Document, Establishment, Role, User

PASSPHRASE = "cheval bleu marche vite"


@dataclass
class Account:
    user: User
    key: bytes
    passphrase: str
    recovery_code: str

    @property
    def username(self) -> str:
        return self.user.username


def make_establishment(app: Flask, name: str = "Centre pénitentiaire de Test") -> Establishment:
    with app.app_context():
        db = db_session()
        existing = db.execute(
            select(Establishment).where(Establishment.name == name)
        ).scalar_one_or_none()
        if existing:
            return existing
        establishment = Establishment(name=name)
        db.add(establishment)
        db.commit()
        return establishment


def open_pending(
    app: Flask,
    role: Role = Role.PERSON,
    first: str = "Camille",
    last: str = "Martin",
    **kwargs: object,
) -> accounts.NewAccount:
    """An account as an administrator opens it: pending, with its activation code."""
    with app.app_context():
        db = db_session()
        new = accounts.open_account(
            db,
            get_keyring(),
            get_escrow_key(),
            role=role,
            first_name=first,
            last_name=last,
            created_by=None,
            activation_days=get_settings().activation_days,
            **kwargs,  # type: ignore[arg-type]
        )
        db.commit()
        return new


def make_account(
    app: Flask,
    role: Role = Role.PERSON,
    first: str = "Camille",
    last: str = "Martin",
    passphrase: str = PASSPHRASE,
    **kwargs: object,
) -> Account:
    """An activated account with `passphrase`."""
    new = open_pending(app, role, first, last, **kwargs)
    with app.app_context():
        db = db_session()
        user, key = accounts.check_activation(
            db, get_keyring(), new.user.username, new.activation_code
        )
        code = accounts.complete_activation(db, get_keyring(), user, key, passphrase)
        db.commit()
        return Account(user, key, passphrase, code)


def sign_in(client: FlaskClient, account: Account) -> TestResponse:
    """`client` posts the real sign-in form as `account`; the answer, unchecked."""
    return client.post(
        "/connexion",
        data={
            "username": account.username,
            "passphrase": account.passphrase,
            "csrf_token": csrf_token(client, "/connexion"),
        },
    )


def signed_in(app: Flask, account: Account) -> FlaskClient:
    """A client signed in as `account` through the real sign-in form."""
    client = app.test_client()
    response = sign_in(client, account)
    assert response.status_code == 302, response.status_code
    return client


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token in the form served at `path`."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def pdf_bytes(marker: str = "") -> bytes:
    """A small valid one-page PDF, optionally carrying `marker` in its content."""
    body = f"BT /F1 12 Tf 72 720 Td ({marker or 'test'}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(body)).encode() + b" >>\nstream\n" + body + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
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


def png_bytes(size: tuple[int, int] = (40, 30)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


# A maker's name only the photo's EXIF carries: found in a file, the EXIF came along.
EXIF_MARKER = "PhoneMakerSecret"


def photo_bytes(size: tuple[int, int] = (400, 200), *, orientation: int = 1) -> bytes:
    """A JPEG as a phone takes it: EXIF with GPS coordinates, a maker's name and an
    orientation tag (6: to be turned 90 degrees clockwise to stand upright)."""
    from PIL import ExifTags, Image, ImageDraw

    image = Image.new("RGB", size, (240, 240, 230))
    ImageDraw.Draw(image).rectangle((10, 10, size[0] // 2, size[1] // 2), fill=(20, 20, 120))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = EXIF_MARKER
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (48.0, 51.0, 30.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (2.0, 17.0, 40.0),
    }
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), quality=90)
    return buffer.getvalue()


def make_document(
    app: Flask,
    account: Account,
    content: bytes | None = None,
    *,
    title: str = "Carte d'identité",
    category: str = "identity",
    doc_type: str = "id_card",
    mime: str = "application/pdf",
    expiry_date: date | None = None,
) -> Document:
    with app.app_context():
        db = db_session()
        owner = documents.Unlocked(db.get(User, account.user.id), account.key)  # type: ignore[arg-type]
        document = documents.add_document(
            db,
            get_store(),
            get_keyring(),
            owner,
            [content if content is not None else pdf_bytes()],
            mime=mime,
            title=title,
            filename="document.pdf",
            category=category,
            doc_type=doc_type,
            expiry_date=expiry_date,
            actor=owner.user,
        )
        db.commit()
        return document
