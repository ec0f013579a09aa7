"""Sealed title index per vault; previous sign-in and pending deposits on users.

Revision ID: 0006_title_index
Revises: 0005_journal_heads
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0006_title_index"
down_revision = "0005_journal_heads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vault_indexes",
        sa.Column("vault_id", sa.Uuid(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["vault_id"], ["users.id"], name=op.f("fk_vault_indexes_vault_id_users")
        ),
        sa.PrimaryKeyConstraint("vault_id", name=op.f("pk_vault_indexes")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("previous_signin_at", UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("pending_deposits", sa.Integer(), nullable=False, server_default="0")
        )
    # Deposits made before this column existed are taken in at the next request.
    op.execute(
        "UPDATE users SET pending_deposits = (SELECT COUNT(*) FROM documents "
        "WHERE documents.vault_id = users.id AND documents.meta_sealed)"
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("pending_deposits", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("pending_deposits")
        batch_op.drop_column("previous_signin_at")

    op.drop_table("vault_indexes")
