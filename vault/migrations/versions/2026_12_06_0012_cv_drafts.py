"""CV and cover-letter drafts, sealed under the vault key (issue 15).

Revision ID: 0012_cv_drafts
Revises: 0011_job_runs
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0012_cv_drafts"
down_revision = "0011_job_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cv_drafts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("vault_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["vault_id"], ["users.id"], name=op.f("fk_cv_drafts_vault_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cv_drafts")),
        sa.UniqueConstraint("vault_id", "kind", name=op.f("uq_cv_drafts_vault_id_kind")),
    )


def downgrade() -> None:
    op.drop_table("cv_drafts")
