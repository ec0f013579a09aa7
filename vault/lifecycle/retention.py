"""How long a vault is kept after release, the notices, and deletion for inactivity.

The rule (issue 6; décret 2018-853 on digital vaults): a released person's
vault is kept `years` after their last sign-in, counted at the earliest from
the release (a person who last signed in years ago in detention gets the full
period from the day they walk out). At least 3 months before deletion a
notice is recorded; the person sees it when signing in, and signing in keeps
the vault (the period starts again). A vault is never deleted while the
person is detained.

`plan` only reads and says what is due; `apply` does one action, so the
command can print each, commit each, and a dry run is `plan` alone.
"""

from __future__ import annotations

import calendar
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import ngettext
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from vault.access.rules import counsellor_access_open
from vault.journal import service as journal
from vault.lifecycle.closing import Closed, shred_vault
from vault.lifecycle.service import reference_day, track_retention
from vault.models import (
    Assignment,
    Lifecycle,
    NoticeStatus,
    PersonProfile,
    RetentionNotice,
    Role,
    Share,
    ShareKey,
    User,
)
from vault.models.base import utcnow

NOTICE_MONTHS = 3
PENDING, CANCELLED, DONE = NoticeStatus.PENDING, NoticeStatus.CANCELLED, NoticeStatus.DONE


def rule_text(years: int) -> str:
    """The retention rule in plain French words, for the app, the export and its summary.

    Needs an app context (translation); pass `get_settings().retention_years`.
    """
    return str(
        ngettext(
            "Your vault is kept as long as you are in detention. After your release, it is "
            "kept %(num)d year after your last sign-in, then deleted. You are told at least "
            "3 months before.",
            "Your vault is kept as long as you are in detention. After your release, it is "
            "kept %(num)d years after your last sign-in, then deleted. You are told at least "
            "3 months before.",
            years,
        )
    )


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months; the 31st becomes the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)


def kept_until(person: User, years: int) -> date | None:
    """The day the vault would be deleted if the person never signs in again (None: kept)."""
    start = reference_day(person)
    return add_years(start, years) if start else None


def pending_notice(db: Session, user_id: uuid.UUID) -> RetentionNotice | None:
    return db.execute(
        select(RetentionNotice)
        .where(RetentionNotice.user_id == user_id, RetentionNotice.status == PENDING)
        .order_by(RetentionNotice.sent_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def signed_in(db: Session, user: User) -> RetentionNotice | None:
    """At sign-in: a pending notice is cancelled (the vault is kept); return it to show once.

    Also after an activation: the first sign-in. The period starts again
    either way, so the sweep's copy of the reference day follows.
    """
    if user.role != Role.PERSON:
        return None
    notice = pending_notice(db, user.id)
    track_retention(user)
    if notice is None:
        db.flush()
        return None
    notice.status = CANCELLED
    db.flush()
    journal.append(
        db,
        vault_id=user.id,
        action="retention.kept",
        actor=user,
        details={"deletion_on": notice.deletion_on.isoformat()},
    )
    return notice


# --- the command's work -----------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One thing `vault retention run` does: "notice", "cancel", "delete" or "end_access"."""

    kind: str
    user_id: uuid.UUID
    username: str
    # "notice": the deletion date announced; "delete": the one that passed;
    # "end_access": the last day of counsellors' access.
    day: date | None = None
    notice_id: uuid.UUID | None = None


def notice_day(reference: date, years: int) -> date:
    """The first day a notice is due for a vault whose period counts from `reference`."""
    return add_months(add_years(reference, years), -NOTICE_MONTHS)


def latest_reference_due(today: date, years: int) -> date:
    """The last reference day whose notice is due by `today`: the sweep reads up to it.

    notice_day never decreases as the reference day grows, so the days due are
    exactly those up to this one. Computed from an estimate a week late (the
    month ends add_months clamps move the day by three days at most), stepped
    back; tests/unit/lifecycle checks it over every day of several years.
    """
    day = add_months(today, NOTICE_MONTHS - 12 * years) + timedelta(days=7)
    while notice_day(day, years) > today:
        day -= timedelta(days=1)
    return day


def plan(db: Session, *, today: date, years: int) -> list[Action]:
    """What is due today, in a stable order; reads only.

    Two indexed reads of what is due, never months of the service (D-201): the
    pending notices whose deletion day has come, and the released whose
    reference day (the profile's copy, `retention_from`, None once a notice is
    pending) makes a notice due. Sign-in cancels a pending notice itself; the
    check on the due day is the safety net.
    """
    actions: list[Action] = []
    notices = db.execute(
        select(RetentionNotice, User)
        .join(User, User.id == RetentionNotice.user_id)
        .where(RetentionNotice.status == PENDING, RetentionNotice.deletion_on <= today)
        .order_by(RetentionNotice.deletion_on, User.username)
    ).all()
    noticed: set[uuid.UUID] = set()
    for notice, person in notices:
        noticed.add(person.id)
        if _notice_void(notice, person):
            actions.append(Action("cancel", person.id, person.username, None, notice.id))
        else:
            actions.append(
                Action("delete", person.id, person.username, notice.deletion_on, notice.id)
            )
    released = db.execute(
        select(User)
        .join(PersonProfile, PersonProfile.user_id == User.id)
        .where(
            PersonProfile.retention_from <= latest_reference_due(today, years),
            PersonProfile.lifecycle == Lifecycle.RELEASED,
        )
        .order_by(User.username)
    ).scalars()
    for person in released:
        # The rule itself decides, from the columns the copy was made of.
        expiry = kept_until(person, years)
        if person.id in noticed or expiry is None:
            continue
        if today >= add_months(expiry, -NOTICE_MONTHS):
            deletion_on = max(expiry, add_months(today, NOTICE_MONTHS))
            actions.append(Action("notice", person.id, person.username, deletion_on))
    actions += _access_to_end(db, today)
    return actions


def _notice_void(notice: RetentionNotice, person: User) -> bool:
    """The person signed in since the notice, or is no longer released (detained again)."""
    profile = person.profile
    if profile is None or profile.lifecycle != Lifecycle.RELEASED:
        return True
    return person.last_signin_at is not None and person.last_signin_at > notice.sent_at


def _access_to_end(db: Session, today: date) -> list[Action]:
    """Released people whose counsellors' grace period is over but assignments remain.

    The permission check already refuses those counsellors; ending the
    assignments also deletes the keys sealed to them. Found through the
    assignments' copy of the day (D-200), whose partial index holds only
    active assignments of people released without follow-up; the profile's
    own columns are still checked.
    """
    # Two statements, not a subquery: the column's statistics count ended
    # assignments too (they keep their copy), so the planner expected
    # thousands of due rows and chose to scan every profile.
    due = list(
        db.execute(
            select(Assignment.person_id)
            .where(
                Assignment.ended_at.is_(None),
                Assignment.access_until.is_not(None),
                Assignment.access_until < today,
            )
            .distinct()
        ).scalars()
    )
    if not due:
        return []
    rows = db.execute(
        select(User, PersonProfile.counsellor_access_until)
        .join(PersonProfile, PersonProfile.user_id == User.id)
        .where(
            User.id.in_(due),
            PersonProfile.lifecycle == Lifecycle.RELEASED,
            PersonProfile.counsellor_access_until < today,
        )
        .order_by(User.username)
    ).all()
    return [Action("end_access", person.id, person.username, until) for person, until in rows]


@dataclass(frozen=True)
class Outcome:
    # False when the action no longer held (the person signed in meanwhile...).
    applied: bool
    # For a deletion: the documents count and the blobs to delete after the commit.
    closed: Closed | None = None


def apply(db: Session, action: Action, *, today: date, years: int) -> Outcome:
    """Do one planned action (flushed; the caller commits, then deletes the blobs).

    Every condition is checked again under a lock of the person's row: the
    person may have signed in since the plan was made.
    """
    person = db.execute(
        select(User)
        .where(User.id == action.user_id)
        .with_for_update(of=User)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if person is None:
        return Outcome(False)
    if action.kind == "notice":
        return Outcome(_send_notice(db, person, today=today, years=years))
    if action.kind == "end_access":
        return Outcome(_end_access(db, person, today))
    notice = db.get(RetentionNotice, action.notice_id) if action.notice_id else None
    if notice is None or notice.status != PENDING:
        return Outcome(False)
    if action.kind == "cancel":
        notice.status = CANCELLED
        track_retention(person)
        db.flush()
        return Outcome(True)
    if action.kind != "delete" or today < notice.deletion_on or _notice_void(notice, person):
        return Outcome(False)
    closed = shred_vault(db, person, reason="retention")
    notice.status = DONE
    db.flush()
    return Outcome(True, closed)


def _send_notice(db: Session, person: User, *, today: date, years: int) -> bool:
    expiry = kept_until(person, years)
    if expiry is None or pending_notice(db, person.id) is not None:
        return False
    if today < add_months(expiry, -NOTICE_MONTHS):
        return False
    deletion_on = max(expiry, add_months(today, NOTICE_MONTHS))
    db.add(RetentionNotice(user_id=person.id, deletion_on=deletion_on, sent_at=utcnow()))
    track_retention(person, notice_pending=True)
    db.flush()
    journal.append(
        db,
        vault_id=person.id,
        action="retention.notice",
        actor=None,
        details={"deletion_on": deletion_on.isoformat()},
    )
    return True


def _end_access(db: Session, person: User, today: date) -> bool:
    """End the assignments the grace period left open; the counsellors' keys go."""
    if counsellor_access_open(person, today):
        return False
    now = utcnow()
    assignments = list(
        db.execute(
            select(Assignment).where(
                Assignment.person_id == person.id, Assignment.ended_at.is_(None)
            )
        ).scalars()
    )
    for assignment in assignments:
        # Like access.grants.end_assignment, with the system as the actor (it needs a user).
        assignment.ended_at = now
        shares = select(Share.id).where(
            Share.vault_id == person.id, Share.counsellor_id == assignment.counsellor_id
        )
        db.execute(
            delete(ShareKey).where(ShareKey.share_id.in_(shares)),
            execution_options={"synchronize_session": False},
        )
        db.execute(
            update(Share)
            .where(
                Share.vault_id == person.id,
                Share.counsellor_id == assignment.counsellor_id,
                Share.revoked_at.is_(None),
            )
            .values(revoked_at=now),
            execution_options={"synchronize_session": False},
        )
        db.flush()
        journal.append(
            db,
            vault_id=person.id,
            action="assignment.ended",
            actor=None,
            details={"counsellor": str(assignment.counsellor_id), "reason": "release"},
        )
    return bool(assignments)
