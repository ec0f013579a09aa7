"""The administrators' overview counts (vault.overview.service): aggregates only."""

from __future__ import annotations

from flask import Flask

from tests.factories import make_account, make_document, make_establishment, open_pending
from vault.core.db import db_session
from vault.models import Role
from vault.models.base import utcnow
from vault.overview import service


def test_the_figures_count_accounts_vaults_documents_and_storage(app: Flask) -> None:
    place = make_establishment(app, "Centre de détention des Comptes")
    empty = make_establishment(app, "Maison d'arrêt Vide")
    person = make_account(app, establishment_id=place.id, prison_number="77")
    make_document(app, person, b"%PDF-1.4\n" + b"x" * 1000)
    make_document(app, person, b"%PDF-1.4\n" + b"y" * 500)
    open_pending(app, first="Noé", last="Attente", establishment_id=place.id)
    make_account(app, Role.COUNSELLOR, first="Claire", last="Conseil")
    with app.app_context():
        figures = service.overview(db_session(), today=utcnow().date())
    assert figures.accounts["person"] == {"active": 1, "pending": 1}
    assert figures.accounts["counsellor"] == {"active": 1}
    # Activation signs in: the active person used their vault this month.
    assert figures.active_this_month == 1
    assert figures.lifecycle["detained"] == 2
    rows = {p.name: (p.people, p.documents, p.bytes) for p in figures.places}
    assert rows[place.name][:2] == (2, 2) and rows[place.name][2] > 1500
    assert rows[empty.name] == (0, 0, 0)
    assert (figures.pending_recoveries, figures.open_requests) == (0, 0)
    assert figures.jobs == dict.fromkeys(service.JOBS)


def test_the_jobs_last_runs_come_from_vault_jobs_run(app: Flask) -> None:
    with app.app_context():
        assert service.overview(db_session(), today=utcnow().date()).jobs == dict.fromkeys(
            service.JOBS
        )
    result = app.test_cli_runner().invoke(args=["jobs", "run", "--only", "sessions"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        jobs = service.overview(db_session(), today=utcnow().date()).jobs
    assert jobs["sessions"] is not None
    assert {name for name, at in jobs.items() if at is None} == set(service.JOBS) - {"sessions"}
