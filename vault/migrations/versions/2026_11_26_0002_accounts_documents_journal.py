"""Accounts, key slots, sessions, documents and the journal.

Revision ID: 0002_accounts
Revises: 0001_blobs
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0002_accounts"
down_revision = "0001_blobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "establishments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("networks", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_establishments")),
        sa.UniqueConstraint("name", name=op.f("uq_establishments_name")),
    )
    op.create_table(
        "signin_throttles",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_signin_throttles")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("establishment_id", sa.Uuid(), nullable=True),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("activation_expires_at", UTCDateTime(), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("activated_at", UTCDateTime(), nullable=True),
        sa.Column("last_signin_at", UTCDateTime(), nullable=True),
        sa.Column("passphrase_changed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_users_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["establishment_id"],
            ["establishments.id"],
            name=op.f("fk_users_establishment_id_establishments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_users_establishment_id"), ["establishment_id"], unique=False
        )

    op.create_table(
        "documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("vault_id", sa.Uuid(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("doc_type", sa.String(length=64), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=True),
        sa.Column("meta", sa.LargeBinary(), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("mime", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("deposited_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deposited_by_id"], ["users.id"], name=op.f("fk_documents_deposited_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["vault_id"], ["users.id"], name=op.f("fk_documents_vault_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_documents_vault_id"), ["vault_id"], unique=False)

    op.create_table(
        "journal_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("vault_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("time", UTCDateTime(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_role", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_journal_events_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_events")),
        sa.UniqueConstraint("vault_id", "seq", name=op.f("uq_journal_events_vault_id_seq")),
    )
    with op.batch_alter_table("journal_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_journal_events_vault_id"), ["vault_id"], unique=False)

    op.create_table(
        "key_slots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_key_slots_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_slots")),
        sa.UniqueConstraint("user_id", "kind", name=op.f("uq_key_slots_user_id_kind")),
    )
    with op.batch_alter_table("key_slots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_key_slots_user_id"), ["user_id"], unique=False)

    op.create_table(
        "person_profiles",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("prison_number", sa.String(length=32), nullable=True),
        sa.Column("lifecycle", sa.String(length=16), nullable=False),
        sa.Column("released_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_person_profiles_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_person_profiles")),
    )
    with op.batch_alter_table("person_profiles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_person_profiles_prison_number"), ["prison_number"], unique=False
        )

    op.create_table(
        "server_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("sealed_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("idle_minutes", sa.Integer(), nullable=False),
        sa.Column("pending", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_server_sessions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_sessions")),
    )
    with op.batch_alter_table("server_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_server_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "document_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("blob_id", sa.Uuid(), nullable=False),
        sa.Column("preview_blob_id", sa.Uuid(), nullable=True),
        sa.Column("mime", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("wrapped_dek", sa.LargeBinary(), nullable=False),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["blob_id"], ["blobs.id"], name=op.f("fk_document_versions_blob_id_blobs")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_document_versions_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_versions_document_id_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["preview_blob_id"],
            ["blobs.id"],
            name=op.f("fk_document_versions_preview_blob_id_blobs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_versions")),
        sa.UniqueConstraint(
            "document_id", "version", name=op.f("uq_document_versions_document_id_version")
        ),
    )
    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_document_versions_document_id"), ["document_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("document_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_versions_document_id"))

    op.drop_table("document_versions")
    with op.batch_alter_table("server_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_server_sessions_user_id"))

    op.drop_table("server_sessions")
    with op.batch_alter_table("person_profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_profiles_prison_number"))

    op.drop_table("person_profiles")
    with op.batch_alter_table("key_slots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_key_slots_user_id"))

    op.drop_table("key_slots")
    with op.batch_alter_table("journal_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journal_events_vault_id"))

    op.drop_table("journal_events")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_vault_id"))

    op.drop_table("documents")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_establishment_id"))

    op.drop_table("users")
    op.drop_table("signin_throttles")
    op.drop_table("establishments")
