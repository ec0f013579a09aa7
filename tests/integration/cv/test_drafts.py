"""Drafts are sealed under the vault key and bound to their vault, row and kind."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import CryptoError
from tests.factories import make_account
from vault.cv import drafts
from vault.documents.service import Unlocked
from vault.models import CvDraft, DraftKind, User


def unlocked(app: Flask, db: Session, first: str) -> Unlocked:
    account = make_account(app, first=first, last="Test")
    user = db.get(User, account.user.id)
    assert user is not None
    return Unlocked(user, account.key)


def test_a_draft_reads_back_and_is_bound_to_its_vault_and_kind(app: Flask, db: Session) -> None:
    alex, sam = unlocked(app, db, "Alex"), unlocked(app, db, "Sam")
    drafts.save(db, alex, DraftKind.CV, {"v": 1, "job": {"title": "Peintre"}})
    drafts.save(db, sam, DraftKind.CV, {"v": 1})
    assert drafts.load(db, alex, DraftKind.CV)["job"] == {"title": "Peintre"}
    assert drafts.load(db, alex, DraftKind.LETTER) == {"v": 1}
    rows = {r.vault_id: r for r in db.execute(select(CvDraft)).scalars()}
    assert b"Peintre" not in rows[alex.vault_id].sealed
    # Alex's sealed draft copied onto Sam's row does not open, even under Alex's key
    # (the row is part of the associated data), nor as the other kind.
    rows[sam.vault_id].sealed = rows[alex.vault_id].sealed
    with pytest.raises(CryptoError):
        drafts.load(db, sam, DraftKind.CV)
    rows[alex.vault_id].kind = DraftKind.LETTER
    with pytest.raises(CryptoError):
        drafts.load(db, alex, DraftKind.LETTER)


def test_a_record_beyond_the_bound_is_refused(app: Flask, db: Session) -> None:
    alex = unlocked(app, db, "Alex")
    with pytest.raises(drafts.DraftTooLarge):
        drafts.save(db, alex, DraftKind.CV, {"v": 1, "x": "é" * drafts.MAX_RECORD_BYTES})
    drafts.forget(db, alex, DraftKind.CV)
    assert not drafts.exists(db, alex, DraftKind.CV)


@pytest.mark.parametrize("how", ["closed", "shredded"])
def test_closing_or_shredding_a_vault_deletes_its_drafts(app: Flask, db: Session, how: str) -> None:
    from vault.lifecycle import closing

    alex, sam = unlocked(app, db, "Alex"), unlocked(app, db, "Sam")
    for owner in (alex, sam):
        drafts.save(db, owner, DraftKind.CV, {"v": 1})
        drafts.save(db, owner, DraftKind.LETTER, {"v": 1})
    if how == "closed":
        closing.close_vault(db, alex)
    else:
        closing.shred_vault(db, alex.user, reason="retention")
    left = db.execute(select(CvDraft.vault_id)).scalars().all()
    assert left == [sam.vault_id, sam.vault_id]
