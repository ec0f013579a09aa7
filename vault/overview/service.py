"""The administrators' overview: counts that help run the service and say nothing about a person.

Every figure is an aggregate (a COUNT or a SUM grouped by status or by
establishment); no query here selects a name, a username, an id or a title,
so the page cannot show one (a test puts canaries in every such column).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vault.jobs import runner, steps
from vault.models import (
    AccountStatus,
    Document,
    DocumentRequest,
    Establishment,
    Lifecycle,
    PersonProfile,
    RecoveryRequest,
    RecoveryStatus,
    RequestStatus,
    Role,
    User,
)

# The scheduled jobs (`vault jobs run`), in the order they run and are shown.
JOBS = tuple(job.name for job in steps.JOBS)


@dataclass(frozen=True)
class PlaceFigures:
    name: str
    people: int
    documents: int
    bytes: int


@dataclass(frozen=True)
class Overview:
    accounts: dict[str, dict[str, int]]  # role -> status -> count
    lifecycle: dict[str, int]  # a person's step -> count
    active_this_month: int
    places: list[PlaceFigures]
    unplaced: PlaceFigures  # people with no establishment
    pending_recoveries: int
    open_requests: int
    jobs: dict[str, datetime | None] = field(default_factory=dict)


def jobs_last_run(db: Session) -> dict[str, datetime | None]:
    """When each scheduled job last started (`job_runs`); None: never."""
    runs = runner.last_runs(db)
    return {name: runs[name].started_at if name in runs else None for name in JOBS}


def overview(db: Session, *, today: date) -> Overview:
    accounts: dict[str, dict[str, int]] = {}
    for role, status, count in db.execute(
        select(User.role, User.status, func.count()).group_by(User.role, User.status)
    ):
        accounts.setdefault(str(role), {})[str(status)] = count
    lifecycle = {
        str(step): count
        for step, count in db.execute(
            select(PersonProfile.lifecycle, func.count()).group_by(PersonProfile.lifecycle)
        )
    }
    month_start = datetime(today.year, today.month, 1, tzinfo=UTC)
    active = db.execute(
        select(func.count()).where(
            User.role == Role.PERSON,
            User.status == AccountStatus.ACTIVE,
            User.last_signin_at >= month_start,
        )
    ).scalar_one()
    people: dict[uuid.UUID | None, int] = {
        place: count
        for place, count in db.execute(
            select(User.establishment_id, func.count())
            .where(User.role == Role.PERSON)
            .group_by(User.establishment_id)
        )
    }
    stored: dict[uuid.UUID | None, tuple[int, int]] = {
        place: (count, int(size or 0))
        for place, count, size in db.execute(
            select(User.establishment_id, func.count(Document.id), func.sum(Document.size))
            .join(User, User.id == Document.vault_id)
            .group_by(User.establishment_id)
        )
    }
    places = [
        PlaceFigures(name, people.get(place_id, 0), *stored.get(place_id, (0, 0)))
        for place_id, name in db.execute(
            select(Establishment.id, Establishment.name).order_by(Establishment.name)
        )
    ]
    pending = db.execute(
        select(func.count()).where(
            RecoveryRequest.status.in_([RecoveryStatus.PENDING, RecoveryStatus.APPROVED])
        )
    ).scalar_one()
    requests = db.execute(
        select(func.count()).where(DocumentRequest.status == RequestStatus.OPEN)
    ).scalar_one()
    return Overview(
        accounts=accounts,
        lifecycle={step.value: lifecycle.get(step.value, 0) for step in Lifecycle},
        active_this_month=active,
        places=places,
        unplaced=PlaceFigures("", people.get(None, 0), *stored.get(None, (0, 0))),
        pending_recoveries=pending,
        open_requests=requests,
        jobs=jobs_last_run(db),
    )
