"""The sealed head of each journal chain.

Revision ID: 0005_journal_heads
Revises: 0004_lifecycle
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_journal_heads"
down_revision = "0004_lifecycle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "journal_heads",
        sa.Column("vault_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("seal", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("vault_id", name=op.f("pk_journal_heads")),
    )


def downgrade() -> None:
    op.drop_table("journal_heads")
