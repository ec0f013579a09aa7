"""The signed-in person's vault, opened for this request: the views' way in.

Here rather than in vault.accounts.auth (which knows who is signed in):
opening the vault also takes in the deposits made since the last request,
and deposits are documents', above accounts.
"""

from __future__ import annotations

import uuid

from flask import abort, g

from vault.accounts.auth import open_session, signed_in_user
from vault.accounts.keys import Unlocked, vault_key_of
from vault.core.db import db_session
from vault.core.extensions import get_keyring
from vault.documents.deposits import take_in_deposits
from vault.documents.service import get_document
from vault.models import Document, Role


def unlocked_vault() -> Unlocked:
    """The signed-in person's vault with its key, for this request only.

    Deposits made since the last request are taken in here (re-wrapped under
    the vault key), so every view sees the vault's documents alike.
    """
    user = signed_in_user()
    if user.role != Role.PERSON:
        abort(403)
    owner = Unlocked(user, vault_key_of(open_session().user_key))
    # The counter on the user row (loaded anyway) says whether there is
    # anything to take in, so most requests make no query for it.
    if user.pending_deposits and "deposits_taken_in" not in g:
        db = db_session()
        g.deposits_taken_in = take_in_deposits(db, get_keyring(), owner)
        if g.deposits_taken_in:
            db.commit()
    return owner


def own_document(owner: Unlocked, document_id: uuid.UUID) -> Document:
    """A document of the signed-in person's vault; 404 for any other (no hint either way)."""
    return get_document(db_session(), owner.vault_id, document_id)
