"""Filling the CV and letter builders through HTTP, as a browser without script would."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.factories import csrf_token

CV = {
    "identite": {
        "first_name": "Karim",
        "last_name": "Benali",
        "phone": "06 12 34 56 78",
        "email": "karim.benali@exemple.fr",
        "town": "Lyon",
    },
    "emploi": {"title": "Commis de cuisine", "summary": "Sérieux et ponctuel."},
    "experience": {
        "items-0-title": "Agent de conditionnement",
        "items-0-place": "Atelier de production",
        "items-0-dates": "2024–2025",
        "items-0-details": "Emballage et contrôle qualité",
    },
    "formation": {"items-0-title": "CAP Cuisine", "items-0-place": "GRETA", "items-0-year": "2023"},
    "competences": {"picked": ["cooking", "teamwork"], "other": "Couture"},
    "langues": {"items-0-language": "Arabe", "items-0-level": "native"},
    "permis": {"kinds": ["B"]},
    "loisirs": {"interests": "Football en club"},
}


def post_step(
    client: FlaskClient,
    slug: str,
    data: dict[str, object],
    action: str = "next",
    prefix: str = "/cv/etape/",
):  # type: ignore[no-untyped-def]
    path = prefix + slug
    form = {"csrf_token": csrf_token(client, path), "action": action, **data}
    return client.post(path, data=form)


def write_cv(client: FlaskClient, answers: dict[str, dict[str, object]] | None = None) -> None:
    for slug, data in (answers or CV).items():
        response = post_step(client, slug, data)
        assert response.status_code == 302, (slug, response.get_data(as_text=True)[:2000])


def make_pdf(client: FlaskClient, template: str = "sober", labels: str = "fr"):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/cv/etape/fin")
    return client.post(
        "/cv/pdf", data={"csrf_token": token, "template": template, "labels": labels}
    )
