"""The retention sweep reads only what is due: the reference day kept on the profile.

`person_profiles.retention_from` is the day a released person's retention
period counts from (the later of the release and the last sign-in) while no
notice is pending, None otherwise (D-201); a partial index holds only the
non-null ones, so the daily sweep reads the people whose notice is due rather
than every released person near the window with months of people already
noticed (211 ms at a million persons, docs/benchmarks.md). A partial index of
the pending notices by deletion day lets it read only the due notices.

Revision ID: 0016_retention_from
Revises: 0015_assignment_access_until
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_retention_from"
down_revision = "0015_assignment_access_until"
branch_labels = None
depends_on = None

NOT_NULL = "retention_from IS NOT NULL"
PENDING = "status = 'pending'"


# Plain ALTER TABLE on both databases, as 0013 and 0015.
def upgrade() -> None:
    op.add_column("person_profiles", sa.Column("retention_from", sa.Date(), nullable=True))
    # What vault.lifecycle.service.track_retention keeps from now on, for the
    # released without a pending notice. The sign-in's day is taken in UTC, as
    # the app does (timestamps are stored in UTC).
    if op.get_bind().dialect.name == "postgresql":
        signin_day = "(u.last_signin_at AT TIME ZONE 'UTC')::date"
    else:
        signin_day = "date(u.last_signin_at)"
    # The statement is one of two constant texts (the dialect's day of a
    # timestamp), no input.
    op.execute(
        "UPDATE person_profiles SET retention_from = ("  # noqa: S608
        f" SELECT CASE WHEN u.last_signin_at IS NOT NULL AND {signin_day} > released_on"
        f" THEN {signin_day} ELSE released_on END"
        " FROM users u WHERE u.id = person_profiles.user_id)"
        " WHERE lifecycle = 'released' AND released_on IS NOT NULL AND NOT EXISTS ("
        " SELECT 1 FROM retention_notices n"
        " WHERE n.user_id = person_profiles.user_id AND n.status = 'pending')"
    )
    op.create_index(
        "ix_person_profiles_retention_from",
        "person_profiles",
        ["retention_from"],
        postgresql_where=sa.text(NOT_NULL),
        sqlite_where=sa.text(NOT_NULL),
    )
    op.create_index(
        "ix_retention_notices_pending_deletion_on",
        "retention_notices",
        ["deletion_on"],
        postgresql_where=sa.text(PENDING),
        sqlite_where=sa.text(PENDING),
    )
    if op.get_bind().dialect.name == "postgresql":
        # The new column's statistics now, not at the next autovacuum: without
        # them the planner expects a third of the profiles due and scans them
        # all (0.5 s at a million, docs/benchmarks.md).
        op.execute("ANALYZE person_profiles")


def downgrade() -> None:
    op.drop_index("ix_retention_notices_pending_deletion_on", table_name="retention_notices")
    op.drop_index("ix_person_profiles_retention_from", table_name="person_profiles")
    op.drop_column("person_profiles", "retention_from")
