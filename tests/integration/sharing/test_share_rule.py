"""The rule of a share in force, in Python (`share_is_active`) and in SQL (`share_in_force`).

The counsellor's home counts shares in SQL (D-207); every other path loads
the share and asks `share_is_active`. On every combination of what the rule
reads, both must answer the same, the person's own access apart (the SQL
condition leaves it to the caller, who asks `counsellor_access_open`).
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

from flask import Flask
from sqlalchemy import select

from tests.factories import make_account
from vault.access.rules import counsellor_access_open, share_in_force, share_is_active
from vault.core.db import db_session
from vault.models import Lifecycle, Role, Share, User
from vault.models.base import utcnow

SITUATIONS: list[tuple[Lifecycle, date | None]] = [
    (Lifecycle.DETAINED, None),
    (Lifecycle.TRANSFERRED, None),
    (Lifecycle.RELEASED, None),  # followed up after release
    (Lifecycle.RELEASED, date(2000, 1, 1)),  # the grace period is over
    (Lifecycle.CLOSED, None),
]


def test_both_renderings_of_the_rule_agree(app: Flask) -> None:
    counsellor = make_account(app, Role.COUNSELLOR, "Claire", "Regle")
    people = [make_account(app, first="Personne", last=f"Cas{k}") for k in range(len(SITUATIONS))]
    now = utcnow()
    with app.app_context():
        db = db_session()
        persons = []
        for account, (lifecycle, until) in zip(people, SITUATIONS, strict=True):
            person = db.get(User, account.user.id)
            assert person is not None and person.profile is not None
            person.profile.lifecycle = lifecycle
            person.profile.counsellor_access_until = until
            persons.append(person)
        shares = []
        for person, revoked, expires, until_release in itertools.product(
            persons,
            [None, now - timedelta(days=1)],
            [None, now - timedelta(minutes=1), now + timedelta(days=1)],
            [False, True],
        ):
            share = Share(
                vault_id=person.id,
                counsellor_id=counsellor.user.id,
                category="identity",
                revoked_at=revoked,
                expires_at=expires,
                until_release=until_release,
            )
            db.add(share)
            shares.append((share, person))
        db.flush()
        in_force = set(
            db.execute(
                select(Share.id).where(
                    Share.counsellor_id == counsellor.user.id, share_in_force(now)
                )
            ).scalars()
        )
        answers = {share.id: share_is_active(share, person, now) for share, person in shares}
        expected = {
            share.id: share.id in in_force and counsellor_access_open(person, now.date())
            for share, person in shares
        }
        db.rollback()
    assert answers == expected
    # Every branch of the rule was met: some shares in force, some not, in each situation.
    assert len(answers) == len(SITUATIONS) * 12
    assert 0 < sum(answers.values()) < len(answers)
