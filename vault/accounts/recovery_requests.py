"""Recovery requests' kinds and statuses, and what disabling an officer does to theirs.

Here rather than in vault/recovery: disabling a recovery officer (accounts/
staff.py) cancels the escrow requests they opened or confirmed, and accounts
sit below recovery. vault/recovery re-exports these names.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from vault.journal import service as journal
from vault.models import RecoveryKind, RecoveryRequest, RecoveryStatus, User

KIT, ESCROW = RecoveryKind.KIT, RecoveryKind.ESCROW
PENDING, APPROVED, COMPLETED, REFUSED, CANCELLED = (
    RecoveryStatus.PENDING,
    RecoveryStatus.APPROVED,
    RecoveryStatus.COMPLETED,
    RecoveryStatus.REFUSED,
    RecoveryStatus.CANCELLED,
)


def cancel_escrow_requests_of(db: Session, officer: User, *, by: User | None, now: datetime) -> int:
    """Cancel the open escrow requests `officer` opened or confirmed; return how many.

    Their identity check or confirmation no longer counts once they are disabled.
    """
    requests = db.execute(
        select(RecoveryRequest)
        .where(
            RecoveryRequest.kind == ESCROW,
            RecoveryRequest.status.in_((PENDING, APPROVED)),
            or_(
                RecoveryRequest.approved_by_id == officer.id,
                RecoveryRequest.second_officer_id == officer.id,
            ),
        )
        .with_for_update()
    ).scalars()
    count = 0
    for request in list(requests):
        request.status = CANCELLED
        journal.append(
            db,
            vault_id=request.user_id,
            action="recovery.escrow_cancelled",
            actor=by,
            details={"request": str(request.id), "reason": "officer_disabled"},
            now=now,
        )
        count += 1
    return count
