"""Off-boarding staff: disabling an account at once, and enabling it again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vault.access import grants
from vault.accounts import sessions
from vault.accounts.recovery_requests import cancel_escrow_requests_of
from vault.core.errors import ServiceError
from vault.journal import service as journal
from vault.models import AccountStatus, Assignment, Role, User
from vault.models.base import utcnow

STAFF_ROLES = (Role.ADMINISTRATOR, Role.COUNSELLOR, Role.RECOVERY_OFFICER)


class StaffRefused(ServiceError):
    """Disabling or enabling refused; `code` says why.

    Codes: "not_staff" (a person's account goes through the lifecycle),
    "self", "last_administrator", "already_disabled", "not_disabled".
    """

    code = "refused"


@dataclass(frozen=True)
class DisabledAccount:
    sessions_ended: int
    followups_ended: int
    escrow_requests_cancelled: int


def disable_account(
    db: Session, user: User, *, by: User | None, now: datetime | None = None
) -> DisabledAccount:
    """Disable a staff account at once: sessions end, sign-in is refused.

    Its slots stay, so `enable_account` gives the same person their access
    back. A counsellor's follow-ups end, which revokes what people shared with
    them (shares are sealed to their key: someone who left keeps none); the
    administrator assigns someone else. A recovery officer's open escrow
    requests are cancelled: their identity check or confirmation no longer
    counts. `by` is None for the operator's command.

    Raises StaffRefused.
    """
    now = now or utcnow()
    if user.role not in STAFF_ROLES:
        raise StaffRefused("not_staff")
    if by is not None and by.id == user.id:
        raise StaffRefused("self")
    if user.status == AccountStatus.DISABLED:
        raise StaffRefused("already_disabled")
    if user.role == Role.ADMINISTRATOR and user.status == AccountStatus.ACTIVE:
        # Locked, so two administrators disabling each other at once cannot
        # both pass: one of them stays.
        others = db.execute(
            select(User.id)
            .where(
                User.role == Role.ADMINISTRATOR,
                User.status == AccountStatus.ACTIVE,
                User.id != user.id,
            )
            .with_for_update()
        ).all()
        if not others:
            raise StaffRefused("last_administrator")
    user.status = AccountStatus.DISABLED
    ended = sessions.end_all(db, user.id)
    followups = 0
    if user.role == Role.COUNSELLOR:
        current = db.execute(
            select(Assignment).where(
                Assignment.counsellor_id == user.id, Assignment.ended_at.is_(None)
            )
        ).scalars()
        for assignment in list(current):
            grants.end_assignment(db, assignment, by=by)
            followups += 1
    cancelled = 0
    if user.role == Role.RECOVERY_OFFICER:
        cancelled = cancel_escrow_requests_of(db, user, by=by, now=now)
    db.flush()
    journal.append(
        db,
        vault_id=user.id,
        action="account.disabled",
        actor=by,
        details={"sessions_ended": ended, "followups_ended": followups},
        now=now,
    )
    return DisabledAccount(ended, followups, cancelled)


def enable_account(
    db: Session, user: User, *, by: User | None, now: datetime | None = None
) -> None:
    """Give a disabled staff account its access back (the same passphrase works).

    An account disabled before its activation is pending again (a new
    activation code may be needed if the old one expired). Raises StaffRefused.
    """
    if user.role not in STAFF_ROLES:
        raise StaffRefused("not_staff")
    if user.status != AccountStatus.DISABLED:
        raise StaffRefused("not_disabled")
    user.status = AccountStatus.ACTIVE if user.activated_at else AccountStatus.PENDING
    db.flush()
    journal.append(db, vault_id=user.id, action="account.enabled", actor=by, now=now)
