"""Indexes for the list page: a vault's documents by date, and its deposits.

Revision ID: 0007_document_list_indexes
Revises: 0006_title_index
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_document_list_indexes"
down_revision = "0006_title_index"
branch_labels = None
depends_on = None

DEPOSITED = sa.text("deposited_by_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_documents_vault_id_updated_at", ["vault_id", "updated_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_documents_vault_id_deposits",
            ["vault_id", "created_at"],
            unique=False,
            postgresql_where=DEPOSITED,
            sqlite_where=DEPOSITED,
        )
        # The first index above leads with vault_id: it serves these lookups too.
        batch_op.drop_index("ix_documents_vault_id")


def downgrade() -> None:
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index("ix_documents_vault_id", ["vault_id"], unique=False)
        batch_op.drop_index("ix_documents_vault_id_deposits")
        batch_op.drop_index("ix_documents_vault_id_updated_at")
