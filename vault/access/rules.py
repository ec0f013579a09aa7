"""Who may read what, as pure rules over a person's situation (no database).

The lifecycle records the steps (vault.lifecycle.service); these are what
follows from them for access, asked by assignments, shares and deposits:

- after a release without follow-up, counsellors keep access for a grace
  period only (`counsellor_access_open`);
- a share "until release" ends with the release, any share with its expiry or
  its revocation (`share_is_active`; `share_in_force` is the same rule as a
  SQL condition, for counting without loading the shares).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, exists, or_

from vault.models import Lifecycle, PersonProfile, Share, User
from vault.models.base import utcnow

DETAINED = (Lifecycle.DETAINED, Lifecycle.TRANSFERRED)
RELEASED = (Lifecycle.RELEASED, Lifecycle.CLOSED)


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
    released = person.profile is not None and person.profile.lifecycle in RELEASED
    return not (share.until_release and released)


def share_in_force(now: datetime) -> ColumnElement[bool]:
    """`share_is_active` as a condition on `shares` rows, but for the person's access.

    The caller asks `counsellor_access_open` of the person (the counsellor's
    home does for every line it shows). tests/integration/sharing/test_share_rule.py holds
    the two renderings of the rule to the same answers.
    """
    released = exists().where(
        PersonProfile.user_id == Share.vault_id, PersonProfile.lifecycle.in_(RELEASED)
    )
    return and_(
        Share.revoked_at.is_(None),
        or_(Share.expires_at.is_(None), Share.expires_at > now),
        or_(~Share.until_release, ~released),
    )
