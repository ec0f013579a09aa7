"""Intake from a list (issue 17): the plan, the two passes, idempotence, transfers, releases."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import make_account, make_establishment
from tests.integration.intake.files import OTHER_PLACE, PLACE, arrivals
from vault.core.db import db_session
from vault.core.extensions import get_escrow_key, get_keyring
from vault.intake import keysource
from vault.intake import service as intake
from vault.intake.csvfile import FileRefused
from vault.intake.service import Outcome
from vault.models import (
    Assignment,
    JournalEvent,
    KeySlot,
    Lifecycle,
    PersonProfile,
    Role,
    SlotKind,
    Transfer,
    User,
)
from vault.models.base import utcnow


def _import(db: Session, data: bytes, by: User | None = None) -> list[intake.LineReport]:
    today = utcnow().date()
    plan = intake.plan(db, data, today=today)
    ctx = intake.Context(get_keyring(), get_escrow_key(), by, 30, 30, today)
    reports = [*plan.refused, *intake.apply(db, plan, ctx, keysource.in_process())]
    intake.journal_import(db, ctx, intake.summary(reports), dry_run=False)
    db.commit()
    return sorted(reports, key=lambda r: r.number)


def _people(db: Session) -> int:
    return db.execute(select(func.count()).select_from(PersonProfile)).scalar_one()


def test_500_lines_with_20_bad_import_480_and_report_20_twice_no_change(app: Flask) -> None:
    make_establishment(app, PLACE)
    counsellor = make_account(app, Role.COUNSELLOR, first="Claire", last="Conseil")
    admin = make_account(app, Role.ADMINISTRATOR, first="Ada", last="Admin")
    data, expected = arrivals(480, counsellor=counsellor.username)
    assert data.count(b"\n") == 501  # the header and 500 lines
    with app.app_context():
        db = db_session()
        by = db.get(User, admin.user.id)
        first = _import(db, data, by)
        refused = {r.number: r.reasons for r in first if r.outcome == Outcome.REFUSED}
        assert refused == {line: (reason,) for line, reason in expected.items()}
        created = [r for r in first if r.outcome == Outcome.CREATED]
        assert len(created) == 480
        assert all(r.activation_code and r.user_id for r in created)
        assert _people(db) == 480
        # Every third arrival named the counsellor: assigned.
        assigned = db.execute(
            select(func.count())
            .select_from(Assignment)
            .where(Assignment.counsellor_id == counsellor.user.id)
        ).scalar_one()
        assert assigned == 160
        person = db.execute(
            select(User).join(PersonProfile).where(PersonProfile.prison_number == "A0007")
        ).scalar_one()
        assert person.profile is not None and person.establishment is not None
        assert person.establishment.name == PLACE
        assert (person.profile.first_name, person.profile.birth_date) == (
            "Prénom7",
            date(1990, 3, 8),
        )
        slots = db.execute(select(KeySlot.kind).where(KeySlot.user_id == person.id)).scalars()
        assert set(slots) == {SlotKind.ACTIVATION, SlotKind.ESCROW}
        events_before = db.execute(select(func.count()).select_from(JournalEvent)).scalar_one()

        second = _import(db, data, by)
        outcomes = intake.summary(second)
        assert outcomes == {"unchanged": 480, "refused": 20}
        assert _people(db) == 480
        # Only the administrator's summary line was added to any journal.
        events_after = db.execute(select(func.count()).select_from(JournalEvent)).scalar_one()
        assert events_after == events_before + 1
        summaries = db.execute(
            select(JournalEvent.details).where(
                JournalEvent.vault_id == admin.user.id, JournalEvent.action == "intake.imported"
            )
        ).scalars()
        assert [s.count('"created":480') for s in summaries] == [1, 0]


def test_transfers_and_releases_apply_once(app: Flask) -> None:
    make_establishment(app, PLACE)
    make_establishment(app, OTHER_PLACE)
    data = (
        "action,numero_ecrou,etablissement,nom,prenom\n"
        f"arrivee,100,{PLACE},Martin,Léa\n"
        f"arrivee,101,{PLACE},Petit,Jules\n"
        f"arrivee,102,{PLACE},Roux,Inès\n"
    ).encode("utf-8-sig")
    moves = (
        "action;numero_ecrou;etablissement;etablissement_destination;numero_ecrou_destination;"
        "date_sortie;suivi\n"
        f"transfert;100;{PLACE};{OTHER_PLACE};L-555;;\n"
        f"sortie;101;{PLACE};;;03/11/2026;oui\n"
        f"sortie;102;{PLACE.upper()};;;2026-11-04;non\n"
        f"sortie;999;{PLACE};;;03/11/2026;\n"
        f"transfert;777;{PLACE};Prison de Nulle Part;;;\n"
    ).encode()
    with app.app_context():
        db = db_session()
        assert intake.summary(_import(db, data)) == {"created": 3}
        reports = {r.number: r for r in _import(db, moves)}
        assert [reports[n].outcome for n in range(2, 7)] == [
            Outcome.UPDATED,
            Outcome.UPDATED,
            Outcome.UPDATED,
            Outcome.REFUSED,
            Outcome.REFUSED,
        ]
        assert reports[5].reasons == ("unknown_person",)
        # The destination is unknown: checked before the release on line 3 was
        # written, refused whatever the order.
        assert reports[6].reasons == ("unknown_destination",)

        def profile(number: str) -> PersonProfile:
            return db.execute(
                select(PersonProfile).where(PersonProfile.prison_number == number)
            ).scalar_one()

        moved = profile("L-555")
        assert moved.lifecycle == Lifecycle.TRANSFERRED
        assert moved.user.establishment is not None
        assert moved.user.establishment.name == OTHER_PLACE
        assert db.execute(select(func.count()).select_from(Transfer)).scalar_one() == 1
        released = profile("101")
        assert (released.lifecycle, released.released_on, released.followup_continues) == (
            Lifecycle.RELEASED,
            date(2026, 11, 3),
            True,
        )
        assert profile("102").counsellor_access_until == date(2026, 12, 4)
        actions = set(
            db.execute(
                select(JournalEvent.action).where(JournalEvent.vault_id == moved.user_id)
            ).scalars()
        )
        assert "lifecycle.transferred" in actions

        again = intake.summary(_import(db, moves))
        assert again == {"unchanged": 3, "refused": 2}
        assert db.execute(select(func.count()).select_from(Transfer)).scalar_one() == 1


def test_same_number_with_another_name_is_refused_not_overwritten(app: Flask) -> None:
    make_establishment(app, PLACE)
    with app.app_context():
        db = db_session()
        _import(
            db, f"action;numero_ecrou;etablissement;nom;prenom\narrivee;7;{PLACE};A;B\n".encode()
        )
        reports = _import(
            db, f"action;numero_ecrou;etablissement;nom;prenom\narrivee;7;{PLACE};C;D\n".encode()
        )
        assert [(r.outcome, r.reasons) for r in reports] == [(Outcome.REFUSED, ("other_person",))]
        assert db.execute(select(PersonProfile.last_name)).scalars().all() == ["A"]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        ("action;numéro;établissement\n".encode("latin-1"), "encoding"),
        (b"action;etablissement\narrivee;X\n", "missing_column"),
        (b"action;numero_ecrou;etablissement;couleur\n", "unknown_column"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(app: Flask, data: bytes, code: str) -> None:
    with app.app_context():
        with pytest.raises(FileRefused) as caught:
            intake.plan(db_session(), data, today=utcnow().date())
        assert caught.value.code == code


def test_an_arrival_again_with_a_counsellor_assigns_and_a_release_date_never_changes(
    app: Flask,
) -> None:
    make_establishment(app, PLACE)
    counsellor = make_account(app, Role.COUNSELLOR, first="Claire", last="Conseil")
    head = "action;numero_ecrou;etablissement;nom;prenom;conseiller;date_sortie\n"
    with app.app_context():
        db = db_session()
        _import(db, f"{head}arrivee;8;{PLACE};Bah;Awa;;\n".encode())
        again = _import(db, f"{head}arrivee;8;{PLACE};BAH;Awa;{counsellor.username};\n".encode())
        assert [r.outcome for r in again] == [Outcome.UPDATED]
        assert db.execute(select(func.count()).select_from(Assignment)).scalar_one() == 1
        third = _import(db, f"{head}arrivee;8;{PLACE};Bah;Awa;{counsellor.username};\n".encode())
        assert [r.outcome for r in third] == [Outcome.UNCHANGED]
        _import(db, f"{head}sortie;8;{PLACE};;;;01/12/2026\n".encode())
        other_day = _import(db, f"{head}sortie;8;{PLACE};;;;02/12/2026\n".encode())
        assert [(r.outcome, r.reasons) for r in other_day] == [(Outcome.REFUSED, ("released",))]
        back = _import(db, f"{head}arrivee;8;{PLACE};Bah;Awa;;\n".encode())
        assert [(r.outcome, r.reasons) for r in back] == [(Outcome.REFUSED, ("released",))]
        released_on = db.execute(select(PersonProfile.released_on)).scalar_one()
        assert released_on == date(2026, 12, 1)
