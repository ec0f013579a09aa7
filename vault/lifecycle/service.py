"""A person's way through detention and after (docs/architecture.md §3).

detained -> transferred -> released -> closed. Administrators record transfers
and releases; the person closes their own vault. What follows from each step
lives here so that every caller applies the same rules:

- sign-in may be limited to the establishment's networks while the person is
  detained or transferred (`signin_allowed`), never after release;
- after a release without follow-up, counsellors keep access for a grace
  period only (`counsellor_access_open`, a rule of vault.access.rules that
  assignments and shares ask);
- closing a vault crypto-shreds it: its documents, keys, shares and links go,
  the journal stays (vault.lifecycle.closing).

Every step is journaled on the person's chain.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.access import assignments, grants
from vault.access.networks import BadNetwork as BadNetwork
from vault.access.networks import OutsideNetworks as OutsideNetworks
from vault.access.networks import parse_networks as parse_networks
from vault.access.networks import signin_allowed as signin_allowed
from vault.access.rules import DETAINED as DETAINED
from vault.access.rules import counsellor_access_open as counsellor_access_open
from vault.core.errors import NotFound, ServiceError
from vault.journal import service as journal
from vault.models import Establishment, Lifecycle, Role, Transfer, User

# One network per line; a list longer than this is a mistake, not a prison.
MAX_NETWORKS = 64
# A release is recorded after the fact, rarely long after: a date further
# back is a typing mistake (19/03/2205 for 2025...).
EARLIEST_RELEASE = date(2000, 1, 1)


class LifecycleRefused(ServiceError):
    """A transfer, release or follow-up change that does not fit the person's situation.

    Codes: "closed", "released" (a transfer after release), "not_released"
    (follow-up changes before release), "same_establishment",
    "unknown_establishment", "future_date", "too_old", "no_networks", "too_many".
    """

    code = "refused"


# --- rules ------------------------------------------------------------------------------

# is_detained, counsellor_access_open and DETAINED are vault.access.rules': the
# access rules sit below the documents, which the lifecycle builds on.


# --- transfers and releases -------------------------------------------------------------


def check_person(person: User) -> None:
    if person.role != Role.PERSON or person.profile is None:
        raise NotFound()
    if person.profile.lifecycle == Lifecycle.CLOSED:
        raise LifecycleRefused("closed")


def record_transfer(
    db: Session, person: User, establishment_id: uuid.UUID, *, by: User | None
) -> Transfer:
    """Move a detained person to another establishment (same vault, same documents).

    Counsellor assignments stay: the administrator reviews them on the same
    page and ends those that no longer make sense.
    """
    check_person(person)
    assert person.profile is not None
    if person.profile.lifecycle not in DETAINED:
        raise LifecycleRefused("released")
    place = db.get(Establishment, establishment_id)
    if place is None:
        raise LifecycleRefused("unknown_establishment")
    if place.id == person.establishment_id:
        raise LifecycleRefused("same_establishment")
    transfer = Transfer(
        person_id=person.id,
        from_establishment_id=person.establishment_id,
        to_establishment_id=place.id,
        by_id=by.id if by else None,  # None: the system (an intake file, vault.intake)
    )
    db.add(transfer)
    person.establishment_id = place.id
    person.establishment = place
    person.profile.lifecycle = Lifecycle.TRANSFERRED
    db.flush()
    journal.append(
        db,
        vault_id=person.id,
        action="lifecycle.transferred",
        actor=by,
        details={
            "from": str(transfer.from_establishment_id) if transfer.from_establishment_id else None,
            "to": str(place.id),
        },
    )
    return transfer


def _access_until(released_on: date, followup: bool, grace_days: int) -> date | None:
    return None if followup else released_on + timedelta(days=grace_days)


def record_release(
    db: Session,
    person: User,
    released_on: date,
    *,
    followup_continues: bool,
    by: User | None,
    grace_days: int,
    today: date,
) -> None:
    """Record the release: sign-in from anywhere from now on; counsellors per follow-up.

    Shares the person gave "until release" end here, their keys deleted.
    Without follow-up, counsellors keep access `grace_days` after the release
    date, then lose it.
    """
    check_person(person)
    profile = person.profile
    assert profile is not None
    if profile.lifecycle not in DETAINED:
        raise LifecycleRefused("released")
    if released_on > today:
        raise LifecycleRefused("future_date")
    if released_on < EARLIEST_RELEASE:
        # Not before the account's opening: an account may be opened after
        # release (at the probation service) and the release recorded then.
        raise LifecycleRefused("too_old")
    profile.lifecycle = Lifecycle.RELEASED
    profile.released_on = released_on
    profile.followup_continues = followup_continues
    assignments.set_access_until(
        db, person, _access_until(released_on, followup_continues, grace_days)
    )
    track_retention(person)
    ended = grants.end_until_release_shares(db, person.id)
    db.flush()
    journal.append(
        db,
        vault_id=person.id,
        action="lifecycle.released",
        actor=by,
        details={
            "on": released_on.isoformat(),
            "followup": followup_continues,
            "counsellor_access_until": _iso(profile.counsellor_access_until),
            "shares_ended": ended,
        },
    )


def set_followup(
    db: Session, person: User, followup_continues: bool, *, by: User, grace_days: int
) -> None:
    """After release: follow-up continues (counsellors keep access) or stops (grace period)."""
    check_person(person)
    profile = person.profile
    assert profile is not None
    if profile.lifecycle != Lifecycle.RELEASED or profile.released_on is None:
        raise LifecycleRefused("not_released")
    if profile.followup_continues == followup_continues:
        return
    profile.followup_continues = followup_continues
    assignments.set_access_until(
        db, person, _access_until(profile.released_on, followup_continues, grace_days)
    )
    db.flush()
    journal.append(
        db,
        vault_id=person.id,
        action="lifecycle.followup",
        actor=by,
        details={
            "followup": followup_continues,
            "counsellor_access_until": _iso(profile.counsellor_access_until),
        },
    )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# --- the retention sweep's copy of the reference day ------------------------------------


def reference_day(person: User) -> date | None:
    """The day the retention period starts from: last sign-in, at the earliest the release."""
    profile = person.profile
    if profile is None or profile.lifecycle != Lifecycle.RELEASED or profile.released_on is None:
        return None
    signed = person.last_signin_at.date() if person.last_signin_at else None
    return max(profile.released_on, signed) if signed else profile.released_on


def track_retention(person: User, *, notice_pending: bool = False) -> None:
    """Keep `profile.retention_from`, the copy of the reference day the retention sweep reads.

    The reference day while the vault waits for its notice; None when the
    person is not released or once a notice is pending (the sweep has nothing
    more to send). The daily sweep then reads, through a partial index, only
    the people whose notice is due, not months of people already noticed
    (D-201). Every writer of what it depends on calls it: the release, a
    sign-in (activation included), a notice sent or cancelled, closing.
    """
    if person.profile is not None:
        person.profile.retention_from = None if notice_pending else reference_day(person)


def transfers_of(db: Session, person_id: uuid.UUID) -> list[Transfer]:
    return list(
        db.execute(
            select(Transfer).where(Transfer.person_id == person_id).order_by(Transfer.at.desc())
        ).scalars()
    )


def set_networks(
    db: Session, place: Establishment, text: str, restrict: bool, *, by: User
) -> list[str]:
    """Save an establishment's networks and whether sign-in is limited to them.

    Raises BadNetwork for a line that is not a network, LifecycleRefused
    "no_networks" when the rule is on with an empty list (nobody could sign
    in) or "too_many". Journaled on the administrator's own chain: an
    establishment has none.
    """
    networks = parse_networks(text)
    if len(networks) > MAX_NETWORKS:
        raise LifecycleRefused("too_many")
    if restrict and not networks:
        raise LifecycleRefused("no_networks")
    place.networks = "\n".join(networks)
    place.restrict_signin = restrict
    db.flush()
    journal.append(
        db,
        vault_id=by.id,
        action="establishment.networks",
        actor=by,
        details={"establishment": str(place.id), "networks": len(networks), "restrict": restrict},
    )
    return networks
