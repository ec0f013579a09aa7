"""`owned_or_404` and the NotFound handler: a row that is not yours is a row that is not there."""

from __future__ import annotations

import re
import uuid

import pytest
from flask import Flask, abort

from vault.core.db import db_session
from vault.core.errors import NotFound, owned_or_404
from vault.models import Establishment


def test_owned_or_404_returns_the_row_whose_columns_match(app: Flask) -> None:
    with app.app_context():
        db = db_session()
        place = Establishment(name="Centre pénitentiaire A", external_links="approval")
        db.add(place)
        db.flush()

        assert owned_or_404(db, Establishment, place.id) is place
        found = owned_or_404(db, Establishment, place.id, name="Centre pénitentiaire A")
        assert found is place
        both = owned_or_404(
            db, Establishment, place.id, name="Centre pénitentiaire A", external_links="approval"
        )
        assert both is place


def test_owned_or_404_refuses_a_missing_row_or_another_owners_alike(app: Flask) -> None:
    with app.app_context():
        db = db_session()
        place = Establishment(name="Centre pénitentiaire B", external_links="off")
        db.add(place)
        db.flush()

        with pytest.raises(NotFound):
            owned_or_404(db, Establishment, uuid.uuid4())
        with pytest.raises(NotFound):
            owned_or_404(db, Establishment, None)
        # One column of several not matching is enough to refuse.
        with pytest.raises(NotFound):
            owned_or_404(
                db, Establishment, place.id, name="Centre pénitentiaire B", external_links="on"
            )
        with pytest.raises(NotFound):
            owned_or_404(db, Establishment, place.id, name="Centre pénitentiaire C")


def test_a_service_not_found_gets_the_same_page_as_abort_404(app: Flask) -> None:
    @app.get("/test/abort")
    def aborted() -> str:
        abort(404)

    @app.get("/test/raised")
    def raised() -> str:
        raise NotFound()

    client = app.test_client()
    by_abort = client.get("/test/abort")
    by_service = client.get("/test/raised")

    assert by_service.status_code == by_abort.status_code == 404

    def page(response: object) -> str:
        # The language switcher's hidden fields carry the page's own path and a token.
        return re.sub(r'<input type="hidden"[^>]*>', "", response.get_data(as_text=True))  # type: ignore[attr-defined]

    assert page(by_service) == page(by_abort)
    assert "Page introuvable" in by_service.get_data(as_text=True)
