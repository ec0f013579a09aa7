"""Assignments, shares and their keys, document requests, external links, deposits.

Revision ID: 0003_sharing
Revises: 0002_accounts
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0003_sharing"
down_revision = "0002_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assignments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("counsellor_id", sa.Uuid(), nullable=False),
        sa.Column("assigned_by_id", sa.Uuid(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("ended_by_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"], ["users.id"], name=op.f("fk_assignments_assigned_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["counsellor_id"], ["users.id"], name=op.f("fk_assignments_counsellor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["ended_by_id"], ["users.id"], name=op.f("fk_assignments_ended_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["users.id"], name=op.f("fk_assignments_person_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
    )
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assignments_counsellor_id"), ["counsellor_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_assignments_person_id"), ["person_id"], unique=False)

    op.create_table(
        "document_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("vault_id", sa.Uuid(), nullable=False),
        sa.Column("counsellor_id", sa.Uuid(), nullable=False),
        sa.Column("doc_type", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["counsellor_id"], ["users.id"], name=op.f("fk_document_requests_counsellor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_requests_document_id_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["vault_id"], ["users.id"], name=op.f("fk_document_requests_vault_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_requests")),
    )
    with op.batch_alter_table("document_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_document_requests_counsellor_id"), ["counsellor_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_document_requests_vault_id"), ["vault_id"], unique=False
        )

    op.create_table(
        "external_links",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("vault_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("recipient", sa.String(length=32), nullable=False),
        sa.Column("pin_hash", sa.String(length=200), nullable=True),
        sa.Column("pin_failures", sa.Integer(), nullable=False),
        sa.Column("pin_failed_at", UTCDateTime(), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("max_downloads", sa.Integer(), nullable=True),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("approved_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["approved_by_id"], ["users.id"], name=op.f("fk_external_links_approved_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_external_links_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["vault_id"], ["users.id"], name=op.f("fk_external_links_vault_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_external_links_token_hash")),
    )
    with op.batch_alter_table("external_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_external_links_document_id"), ["document_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_external_links_vault_id"), ["vault_id"], unique=False)

    op.create_table(
        "shares",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("vault_id", sa.Uuid(), nullable=False),
        sa.Column("counsellor_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("until_release", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["counsellor_id"], ["users.id"], name=op.f("fk_shares_counsellor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_shares_document_id_documents")
        ),
        sa.ForeignKeyConstraint(["vault_id"], ["users.id"], name=op.f("fk_shares_vault_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shares")),
    )
    with op.batch_alter_table("shares", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shares_counsellor_id"), ["counsellor_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_shares_vault_id"), ["vault_id"], unique=False)

    op.create_table(
        "share_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("share_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_share_keys_document_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["share_id"], ["shares.id"], name=op.f("fk_share_keys_share_id_shares")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_keys")),
        sa.UniqueConstraint(
            "share_id", "document_id", name=op.f("uq_share_keys_share_id_document_id")
        ),
    )
    with op.batch_alter_table("share_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_share_keys_document_id"), ["document_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_share_keys_share_id"), ["share_id"], unique=False)

    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sealed_dek", sa.LargeBinary(), nullable=True))
        batch_op.alter_column("wrapped_dek", existing_type=sa.LargeBinary(), nullable=True)

    with op.batch_alter_table("documents", schema=None) as batch_op:
        # Existing rows are the owners' own documents; the default only fills them.
        batch_op.add_column(
            sa.Column("meta_sealed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.alter_column("meta_sealed", server_default=None)

    with op.batch_alter_table("establishments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "external_links", sa.String(length=16), nullable=False, server_default="approval"
            )
        )
    with op.batch_alter_table("establishments", schema=None) as batch_op:
        batch_op.alter_column("external_links", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("establishments", schema=None) as batch_op:
        batch_op.drop_column("external_links")

    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("meta_sealed")

    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.alter_column("wrapped_dek", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column("sealed_dek")

    with op.batch_alter_table("share_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_keys_share_id"))
        batch_op.drop_index(batch_op.f("ix_share_keys_document_id"))

    op.drop_table("share_keys")
    with op.batch_alter_table("shares", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shares_vault_id"))
        batch_op.drop_index(batch_op.f("ix_shares_counsellor_id"))

    op.drop_table("shares")
    with op.batch_alter_table("external_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_external_links_vault_id"))
        batch_op.drop_index(batch_op.f("ix_external_links_document_id"))

    op.drop_table("external_links")
    with op.batch_alter_table("document_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_requests_vault_id"))
        batch_op.drop_index(batch_op.f("ix_document_requests_counsellor_id"))

    op.drop_table("document_requests")
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignments_person_id"))
        batch_op.drop_index(batch_op.f("ix_assignments_counsellor_id"))

    op.drop_table("assignments")
