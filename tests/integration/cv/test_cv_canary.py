"""No CV in clear at rest: canary strings typed into every step of the CV and the
letter, then made into PDFs, are found in no column of any table (SQLite and
PostgreSQL), in no blob (local folder and S3) and in no file of the instance.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from tests.factories import csrf_token, make_account, signed_in
from tests.helpers import pdf_text
from tests.integration.core.test_canary import assert_absent, sqlite_folders
from tests.integration.cv.steps import make_pdf, post_step
from tests.s3server import S3Target
from vault.core.db import db_session, get_database
from vault.models import CvDraft


def answers(marker: str) -> dict[str, dict[str, object]]:
    return {
        "identite": {
            "first_name": f"Prenom{marker}",
            "last_name": f"Nom{marker}",
            "phone": "06 12 34 56 78",
            "email": f"{marker.lower()}@exemple.fr",
            "town": f"Ville{marker}",
        },
        "emploi": {"title": f"Metier{marker}", "summary": f"Resume{marker}"},
        "experience": {
            "items-0-title": f"Poste{marker}",
            "items-0-place": f"Lieu{marker}",
            "items-0-dates": "2024",
            "items-0-details": f"Taches{marker}",
        },
        "formation": {"items-0-title": f"Diplome{marker}", "items-0-place": f"Ecole{marker}"},
        "competences": {"picked": ["cooking"], "other": f"Savoir{marker}"},
        "langues": {"items-0-language": f"Langue{marker}", "items-0-level": "B1"},
        "permis": {"kinds": ["B"]},
        "loisirs": {"interests": f"Loisir{marker}"},
    }


def build_everything(app: Flask, marker: str) -> FlaskClient:
    client = signed_in(app, make_account(app))
    for slug, data in answers(marker).items():
        assert post_step(client, slug, data).status_code == 302, slug
    made = make_pdf(client)
    assert made.status_code == 302
    # The marker really went in: the PDF, read back through the vault, holds it.
    assert f"Metier{marker}" in pdf_text(client.get(made.headers["Location"] + "/telecharger").data)
    letter = "/cv/lettre/etape/"
    job = {"title": f"Metier{marker}", "employer": f"Employeur{marker}", "name": "K B"}
    assert post_step(client, "poste", job, prefix=letter).status_code == 302
    assert (
        post_step(client, "vous", {"paragraph": f"Phrase{marker}"}, prefix=letter).status_code
        == 302
    )
    token = csrf_token(client, letter + "fin")
    assert client.post("/cv/lettre/pdf", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        assert db_session().execute(select(func.count()).select_from(CvDraft)).scalar_one() == 2
    return client


def test_a_cv_is_nowhere_in_clear_at_rest(app: Flask, tmp_path: Path, database_url: str) -> None:
    marker = "CANARY" + secrets.token_hex(8)
    build_everything(app, marker)
    assert assert_absent(app, marker, [tmp_path, *sqlite_folders(database_url)]) > 10


def test_a_cv_is_nowhere_in_clear_at_rest_on_s3(
    make_app: Callable[..., Flask],
    database_url: str,
    connection: Connection,
    s3_server: S3Target,
    tmp_path: Path,
) -> None:
    app = make_app(database_url=database_url, storage_url=s3_server.url)
    get_database(app).bind_to(connection)
    marker = "CANARY" + secrets.token_hex(8)
    build_everything(app, marker)
    assert assert_absent(app, marker, [tmp_path]) > 10
