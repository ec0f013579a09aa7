"""The journal of scheduled jobs: one row per job per `vault jobs run` (docs/operations.md).

Holds nothing about a person: a job's name, when it ran, how it ended, how
many items it handled and a short summary made of counts (or an error's
class name). The administrator's overview reads each job's last row.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from vault.models.base import Base, StrEnumColumn, UTCDateTime, uuid_pk


class JobOutcome(StrEnum):
    OK = "ok"
    FAILED = "failed"
    # Another machine's run held the lock: this one did nothing.
    SKIPPED = "skipped"


class JobRun(Base):
    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_started_at", "job", "started_at"),)

    id: Mapped[uuid_pk]
    # The jobs of one `vault jobs run` share it.
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    job: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[JobOutcome] = mapped_column(StrEnumColumn(JobOutcome, 16))
    items: Mapped[int] = mapped_column(Integer, default=0)
    # Counts or an error's class name: never a name, a title or an id of a person.
    summary: Mapped[str] = mapped_column(String(200), default="")
