"""Assignments carry the day their counsellor's access ends, for the retention sweep.

`assignments.access_until` is the person's `counsellor_access_until` copied
onto their active assignments once released (D-200); a partial index holds
only the active ones that have such a day, so the sweep's `end_access`
selection reads the few due instead of joining every released person with
every active assignment (1.3 s at a million persons, docs/benchmarks.md).

Revision ID: 0015_assignment_access_until
Revises: 0014_scale_indexes
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_assignment_access_until"
down_revision = "0014_scale_indexes"
branch_labels = None
depends_on = None

WHERE = "ended_at IS NULL AND access_until IS NOT NULL"


# Plain ALTER TABLE on both databases, as 0013: a batch copy would recreate
# `assignments`.
def upgrade() -> None:
    op.add_column("assignments", sa.Column("access_until", sa.Date(), nullable=True))
    # Existing active assignments of released people: the same copy
    # vault.access.assignments.set_access_until keeps from now on. A
    # correlated subquery, which both databases run.
    op.execute(
        "UPDATE assignments SET access_until = ("
        " SELECT p.counsellor_access_until FROM person_profiles p"
        " WHERE p.user_id = assignments.person_id AND p.lifecycle = 'released')"
        " WHERE ended_at IS NULL AND EXISTS ("
        " SELECT 1 FROM person_profiles p WHERE p.user_id = assignments.person_id"
        " AND p.lifecycle = 'released' AND p.counsellor_access_until IS NOT NULL)"
    )
    op.create_index(
        "ix_assignments_access_until",
        "assignments",
        ["access_until"],
        postgresql_where=sa.text(WHERE),
        sqlite_where=sa.text(WHERE),
    )


def downgrade() -> None:
    op.drop_index("ix_assignments_access_until", table_name="assignments")
    op.drop_column("assignments", "access_until")
