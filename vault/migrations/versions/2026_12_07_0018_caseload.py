"""The counsellor's home a page at a time: assignments carry the person's name, indexed.

`assignments.person_name` is the person's display name (which never changes
once the account is opened); a partial index of the active assignments by
counsellor and name, holding the person and the access day, gives a page of
the caseload in name order from the index alone (D-203): the whole caseload's
rows cost 9 ms at a million persons (docs/benchmarks.md).

Revision ID: 0018_caseload
Revises: 0017_name_words
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_caseload"
down_revision = "0017_name_words"
branch_labels = None
depends_on = None

ACTIVE = "ended_at IS NULL"


# Plain ALTER TABLE on both databases, as 0013 and 0015.
def upgrade() -> None:
    op.add_column(
        "assignments",
        sa.Column("person_name", sa.String(200), nullable=False, server_default=""),
    )
    op.execute(
        "UPDATE assignments SET person_name = ("
        " SELECT u.display_name FROM users u WHERE u.id = assignments.person_id)"
    )
    op.create_index(
        "ix_assignments_caseload",
        "assignments",
        ["counsellor_id", "person_name", "person_id"],
        postgresql_where=sa.text(ACTIVE),
        sqlite_where=sa.text(ACTIVE),
        postgresql_include=["access_until"],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ANALYZE assignments")


def downgrade() -> None:
    op.drop_index("ix_assignments_caseload", table_name="assignments")
    op.drop_column("assignments", "person_name")
