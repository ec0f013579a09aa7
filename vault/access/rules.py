"""Who may read what, as pure rules over a person's situation (no database).

The lifecycle records the steps (vault.lifecycle.service); these are what
follows from them for access, asked by assignments, shares and deposits:

- after a release without follow-up, counsellors keep access for a grace
  period only (`counsellor_access_open`);
- a share "until release" ends with the release, any share with its expiry or
  its revocation (`share_is_active`).
"""

from __future__ import annotations

from datetime import date, datetime

from vault.models import Lifecycle, Share, User
from vault.models.base import utcnow

DETAINED = (Lifecycle.DETAINED, Lifecycle.TRANSFERRED)


def is_detained(person: User) -> bool:
    return person.profile is not None and person.profile.lifecycle in DETAINED


def counsellor_access_open(person: User, today: date) -> bool:
    """May counsellors assigned to `person` still read and deposit?

    Yes while detained, and after release while follow-up continues; after a
    release without follow-up, until `counsellor_access_until` inclusive.
    Never once the vault is closed.
    """
    profile = person.profile
    if profile is None:
        return True
    if profile.lifecycle == Lifecycle.CLOSED:
        return False
    until = profile.counsellor_access_until
    return until is None or today <= until


def share_is_active(share: Share, person: User, now: datetime | None = None) -> bool:
    now = now or utcnow()
    if share.revoked_at is not None:
        return False
    if not counsellor_access_open(person, now.date()):
        return False
    if share.expires_at is not None and share.expires_at <= now:
        return False
    released = person.profile is not None and person.profile.lifecycle in (
        Lifecycle.RELEASED,
        Lifecycle.CLOSED,
    )
    return not (share.until_release and released)
