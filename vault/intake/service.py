"""Intake from an establishment's list: plan every line, then apply the good ones.

Two passes (docs/intake.md): `plan` reads the whole file and checks each line
against the database without writing anything; `apply` then carries out the
lines the plan accepted, each through the service that owns its rule (opening
an account: vault.accounts.opening; a counsellor: vault.access.assignments;
transfers and releases: vault.lifecycle.service), each in a savepoint, so that
a line refused at the last moment undoes only itself. A refused line never
stops the others.

The key of a person is their prison number and their establishment: a line
whose person is already as the line says is "unchanged", which is what makes
importing the same file twice change nothing.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crypto import KeyRing, PublicKey
from vault.access import assignments
from vault.accounts.opening import AccountKeys, open_account
from vault.core.errors import ServiceError
from vault.intake.csvfile import Action, Line, Refusal, fold, parse
from vault.journal import service as journal
from vault.lifecycle import service as lifecycle
from vault.models import (
    AccountStatus,
    Establishment,
    Lifecycle,
    PersonProfile,
    Role,
    User,
)


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REFUSED = "refused"


@dataclass(frozen=True)
class LineReport:
    """What became of one line; `reasons` are vault.intake.messages codes."""

    number: int
    outcome: Outcome
    action: Action | None = None
    prison_number: str = ""
    reasons: tuple[str, ...] = ()
    user_id: uuid.UUID | None = None
    # Only for a created account: printed on its sheet, never shown nor logged.
    activation_code: str | None = field(default=None, repr=False)


@dataclass
class Step:
    """A line the plan accepted, with what the database said about it."""

    line: Line
    outcome: Outcome
    establishment_id: uuid.UUID
    person: User | None = None
    counsellor: User | None = None
    destination_id: uuid.UUID | None = None


@dataclass
class Plan:
    steps: list[Step]
    refused: list[LineReport]

    @property
    def new_accounts(self) -> int:
        return sum(1 for step in self.steps if step.outcome == Outcome.CREATED)

    def reports(self) -> list[LineReport]:
        """The planned outcome of every line, in file order (what a dry run shows)."""
        planned = [
            LineReport(
                s.line.number,
                s.outcome,
                s.line.action,
                s.line.prison_number,
                user_id=s.person.id if s.person else None,
            )
            for s in self.steps
        ]
        return sorted([*planned, *self.refused], key=lambda report: report.number)


@dataclass(frozen=True)
class Context:
    """The collaborators of `apply` (docs/architecture.md §8.6)."""

    ring: KeyRing
    escrow: PublicKey
    by: User | None  # the administrator; None when the operator's command runs alone
    activation_days: int
    grace_days: int
    today: date


def _refused(line: Line | Refusal, *reasons: str) -> LineReport:
    if isinstance(line, Refusal):
        return LineReport(
            line.number, Outcome.REFUSED, prison_number=line.prison_number, reasons=line.reasons
        )
    return LineReport(line.number, Outcome.REFUSED, line.action, line.prison_number, reasons)


class _World:
    """What the plan reads once: establishments, counsellors, people by key."""

    def __init__(self, db: Session, lines: list[Line]) -> None:
        self.db = db
        self.places = {
            fold(row.name): row.id
            for row in db.execute(select(Establishment.id, Establishment.name))
        }
        wanted = {fold(line.counsellor) for line in lines if line.counsellor}
        self.counsellors = {
            user.username.casefold(): user
            for user in db.execute(
                select(User).where(
                    User.role == Role.COUNSELLOR,
                    User.status != AccountStatus.DISABLED,
                    func.lower(User.username).in_(wanted),
                )
            ).scalars()
        }
        ids = {self.places.get(fold(line.establishment)) for line in lines}
        ids |= {self.places.get(fold(line.destination)) for line in lines if line.destination}
        self.people: dict[tuple[str, uuid.UUID], list[User]] = {}
        query = (
            select(User)
            .join(PersonProfile, PersonProfile.user_id == User.id)
            .where(
                User.role == Role.PERSON,
                User.establishment_id.in_([i for i in ids if i is not None]),
                PersonProfile.prison_number.is_not(None),
            )
        )
        for person in db.execute(query).scalars().unique():
            assert person.profile is not None and person.establishment_id is not None
            key = (fold(person.profile.prison_number or ""), person.establishment_id)
            self.people.setdefault(key, []).append(person)
        # Keys a line of this file will give a person: two lines may not claim one.
        self.claimed: dict[tuple[str, uuid.UUID], int] = {}

    def person_at(self, number: str, place: uuid.UUID) -> User | str | None:
        """The one person with `number` at `place`, None, or "ambiguous"."""
        found = self.people.get((fold(number), place), [])
        if len(found) > 1:
            return "ambiguous"
        return found[0] if found else None

    def claim(self, number: str, place: uuid.UUID, line: int) -> str | None:
        earlier = self.claimed.setdefault((fold(number), place), line)
        return None if earlier == line else f"duplicate:{earlier}"


def _plan_arrival(world: _World, line: Line, place: uuid.UUID) -> Step | LineReport:
    counsellor = None
    if line.counsellor:
        counsellor = world.counsellors.get(line.counsellor.casefold())
        if counsellor is None:
            return _refused(line, "unknown_counsellor")
    found = world.person_at(line.prison_number, place)
    if isinstance(found, str):
        return _refused(line, found)
    if found is None:
        clash = world.claim(line.prison_number, place, line.number)
        if clash:
            return _refused(line, clash)
        return Step(line, Outcome.CREATED, place, counsellor=counsellor)
    profile = found.profile
    assert profile is not None
    if (fold(profile.last_name), fold(profile.first_name)) != (
        fold(line.last_name),
        fold(line.first_name),
    ):
        return _refused(line, "other_person")
    if profile.lifecycle not in lifecycle.DETAINED:
        return _refused(line, str(profile.lifecycle))
    if counsellor is not None and (
        assignments.current_assignment(world.db, found.id, counsellor.id) is None
    ):
        return Step(line, Outcome.UPDATED, place, found, counsellor)
    return Step(line, Outcome.UNCHANGED, place, found)


def _plan_transfer(world: _World, line: Line, place: uuid.UUID) -> Step | LineReport:
    destination = world.places.get(fold(line.destination))
    if destination is None:
        return _refused(line, "unknown_destination")
    new_number = line.destination_number or line.prison_number
    found = world.person_at(line.prison_number, place)
    if isinstance(found, str):
        return _refused(line, found)
    there = world.person_at(new_number, destination)
    if found is None:
        # Already moved (the same file, imported again): nothing to do.
        if (
            isinstance(there, User)
            and there.profile
            and there.profile.lifecycle in (lifecycle.DETAINED)
        ):
            return Step(line, Outcome.UNCHANGED, place, there)
        return _refused(line, "unknown_person")
    assert found.profile is not None
    if found.profile.lifecycle not in lifecycle.DETAINED:
        return _refused(line, str(found.profile.lifecycle))
    if there is not None:
        return _refused(line, "number_taken")
    clash = world.claim(new_number, destination, line.number)
    if clash:
        return _refused(line, clash)
    return Step(line, Outcome.UPDATED, place, found, destination_id=destination)


def _plan_release(world: _World, line: Line, place: uuid.UUID) -> Step | LineReport:
    found = world.person_at(line.prison_number, place)
    if isinstance(found, str):
        return _refused(line, found)
    if found is None:
        return _refused(line, "unknown_person")
    profile = found.profile
    assert profile is not None and line.released_on is not None
    if profile.lifecycle == Lifecycle.RELEASED and profile.released_on == line.released_on:
        return Step(line, Outcome.UNCHANGED, place, found)
    if profile.lifecycle not in lifecycle.DETAINED:
        return _refused(line, str(profile.lifecycle))
    if line.released_on < lifecycle.EARLIEST_RELEASE:
        return _refused(line, "too_old")
    return Step(line, Outcome.UPDATED, place, found)


PLANNERS = {
    Action.ARRIVAL: _plan_arrival,
    Action.TRANSFER: _plan_transfer,
    Action.RELEASE: _plan_release,
}


def plan(db: Session, data: bytes, *, today: date) -> Plan:
    """Check every line of `data` against the file format and the database; write nothing.

    Raises vault.intake.csvfile.FileRefused when the file cannot be read at all.
    """
    lines, refusals = parse(data, today=today)
    world = _World(db, lines)
    steps: list[Step] = []
    refused = [_refused(refusal) for refusal in refusals]
    for line in lines:
        place = world.places.get(fold(line.establishment))
        checked = (
            _refused(line, "unknown_establishment")
            if place is None
            else PLANNERS[line.action](world, line, place)
        )
        if isinstance(checked, Step):
            steps.append(checked)
        else:
            refused.append(checked)
    return Plan(steps, refused)


def _apply_step(db: Session, step: Step, ctx: Context, keys: Iterator[AccountKeys]) -> LineReport:
    line = step.line
    if step.outcome == Outcome.UNCHANGED:
        return LineReport(
            line.number, step.outcome, line.action, line.prison_number, user_id=_id(step)
        )
    if step.outcome == Outcome.CREATED:
        new = open_account(
            db,
            ctx.ring,
            ctx.escrow,
            role=Role.PERSON,
            first_name=line.first_name,
            last_name=line.last_name,
            created_by=ctx.by,
            establishment_id=step.establishment_id,
            birth_date=line.birth_date,
            prison_number=line.prison_number,
            activation_days=ctx.activation_days,
            prepared=next(keys),
            locale=line.locale,
        )
        if step.counsellor is not None:
            assignments.assign(db, new.user, step.counsellor, by=ctx.by)
        return LineReport(
            line.number,
            step.outcome,
            line.action,
            line.prison_number,
            user_id=new.user.id,
            activation_code=new.activation_code,
        )
    person = step.person
    assert person is not None and person.profile is not None
    if line.action == Action.ARRIVAL:
        assert step.counsellor is not None
        assignments.assign(db, person, step.counsellor, by=ctx.by)
    elif line.action == Action.TRANSFER:
        assert step.destination_id is not None
        lifecycle.record_transfer(db, person, step.destination_id, by=ctx.by)
        if line.destination_number:
            # A new establishment gives a new prison number (docs/intake.md).
            person.profile.prison_number = line.destination_number
    else:
        assert line.released_on is not None
        lifecycle.record_release(
            db,
            person,
            line.released_on,
            followup_continues=line.followup,
            by=ctx.by,
            grace_days=ctx.grace_days,
            today=ctx.today,
        )
    return LineReport(line.number, step.outcome, line.action, line.prison_number, user_id=person.id)


def _id(step: Step) -> uuid.UUID | None:
    return step.person.id if step.person else None


def apply(
    db: Session, the_plan: Plan, ctx: Context, keys: Iterable[AccountKeys]
) -> Iterator[LineReport]:
    """Carry out the plan's steps in file order; yield a report per step.

    `keys` gives one `AccountKeys` per account to open (vault.intake.keysource).
    Each step runs in a savepoint: a rule that refuses at the last moment
    (a release recorded meanwhile by hand) undoes that line only and reports
    it refused. The caller commits, when it likes (the command every few
    hundred lines, the page once at the end).
    """
    source = iter(keys)
    for step in the_plan.steps:
        try:
            with db.begin_nested():
                report = _apply_step(db, step, ctx, source)
        except ServiceError as e:
            report = _refused(step.line, e.code)
        yield report


def summary(reports: Iterable[LineReport]) -> Counter[str]:
    """How many lines had each outcome."""
    return Counter(report.outcome.value for report in reports)


def journal_import(db: Session, ctx: Context, counts: Counter[str], *, dry_run: bool) -> None:
    """The import as a whole, on the administrator's own chain (counts only: no name)."""
    if ctx.by is None:
        return
    journal.append(
        db,
        vault_id=ctx.by.id,
        action="intake.imported",
        actor=ctx.by,
        details={"dry_run": dry_run, **{o.value: counts.get(o.value, 0) for o in Outcome}},
    )
