"""Transfers, recovery requests, retention notices, settings; lifecycle columns.

Revision ID: 0004_lifecycle
Revises: 0003_sharing
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0004_lifecycle"
down_revision = "0003_sharing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recovery_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("approved_by_id", sa.Uuid(), nullable=True),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.Column("second_officer_id", sa.Uuid(), nullable=True),
        sa.Column("identity_check", sa.Text(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["users.id"], name=op.f("fk_recovery_requests_approved_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["second_officer_id"],
            ["users.id"],
            name=op.f("fk_recovery_requests_second_officer_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_recovery_requests_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_requests")),
    )
    with op.batch_alter_table("recovery_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recovery_requests_user_id"), ["user_id"], unique=False)

    op.create_table(
        "retention_notices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("deletion_on", sa.Date(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_retention_notices_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_notices")),
    )
    with op.batch_alter_table("retention_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retention_notices_user_id"), ["user_id"], unique=False)

    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_settings_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )
    op.create_table(
        "transfers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("from_establishment_id", sa.Uuid(), nullable=True),
        sa.Column("to_establishment_id", sa.Uuid(), nullable=False),
        sa.Column("by_id", sa.Uuid(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["by_id"], ["users.id"], name=op.f("fk_transfers_by_id_users")),
        sa.ForeignKeyConstraint(
            ["from_establishment_id"],
            ["establishments.id"],
            name=op.f("fk_transfers_from_establishment_id_establishments"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["users.id"], name=op.f("fk_transfers_person_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["to_establishment_id"],
            ["establishments.id"],
            name=op.f("fk_transfers_to_establishment_id_establishments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfers")),
    )
    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transfers_person_id"), ["person_id"], unique=False)

    with op.batch_alter_table("establishments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("restrict_signin", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    with op.batch_alter_table("person_profiles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("followup_continues", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("counsellor_access_until", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("closed_at", UTCDateTime(), nullable=True))

    # The defaults only filled existing rows; the models set values themselves.
    with op.batch_alter_table("establishments", schema=None) as batch_op:
        batch_op.alter_column("restrict_signin", server_default=None)
    with op.batch_alter_table("person_profiles", schema=None) as batch_op:
        batch_op.alter_column("followup_continues", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("person_profiles", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
        batch_op.drop_column("counsellor_access_until")
        batch_op.drop_column("followup_continues")

    with op.batch_alter_table("establishments", schema=None) as batch_op:
        batch_op.drop_column("restrict_signin")

    with op.batch_alter_table("transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transfers_person_id"))

    op.drop_table("transfers")
    op.drop_table("settings")
    with op.batch_alter_table("retention_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retention_notices_user_id"))

    op.drop_table("retention_notices")
    with op.batch_alter_table("recovery_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_requests_user_id"))

    op.drop_table("recovery_requests")
