"""StrEnum status columns: the same strings stored, the enum's member read back."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from vault.core.db import db_session
from vault.models import Establishment, LinkPolicy


def test_a_status_is_stored_as_its_string_and_read_as_its_member(app: Flask) -> None:
    with app.app_context():
        db = db_session()
        place = Establishment(name="Maison d'arrêt D", external_links="off")
        db.add(place)
        db.flush()

        stored = db.execute(
            text("SELECT external_links FROM establishments WHERE name = :name"),
            {"name": "Maison d'arrêt D"},
        ).scalar_one()
        assert stored == "off" and type(stored) is str

        db.expire_all()
        read = db.execute(select(Establishment).where(Establishment.id == place.id)).scalar_one()
        assert read.external_links is LinkPolicy.OFF
        # A member equals its string: code comparing with "off" still works.
        assert read.external_links == "off"
        found = db.execute(
            select(Establishment.id).where(Establishment.external_links == "off")
        ).scalar_one()
        assert found == place.id


def test_a_value_outside_the_enum_is_refused(app: Flask) -> None:
    with app.app_context():
        db = db_session()
        db.add(Establishment(name="Maison d'arrêt E", external_links="sometimes"))
        with pytest.raises(StatementError):
            db.flush()
        db.rollback()
