"""Demo accounts and fake papers for `vault demo` (trying the vault, never production).

Everything here is drawn in code, so the demo needs no file and holds nobody's
data. Only the `demo` command imports this module, and only when it runs.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from vault.accounts import service as accounts
from vault.accounts.keys import vault_key_of
from vault.accounts.passphrases import check_passphrase, generate_passphrase
from vault.core.envelope import UserKey
from vault.core.extensions import get_escrow_key, get_keyring, get_settings, get_store
from vault.documents import service as documents
from vault.models import Establishment, Role, User

DEMO_ESTABLISHMENT = "Centre pénitentiaire de démonstration"


def _demo_passphrase(username: str) -> str:
    while True:
        passphrase = generate_passphrase()
        if not check_passphrase(passphrase, username=username):
            return passphrase


def _activated(
    db: Session, role: Role, first: str, last: str, **profile: object
) -> tuple[User, UserKey, str]:
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


def make_demo(db: Session) -> list[str]:
    """The demo establishment, its three accounts and the person's papers; the sign-in lines."""
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

    owner = documents.Unlocked(person, vault_key_of(person_key))
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
