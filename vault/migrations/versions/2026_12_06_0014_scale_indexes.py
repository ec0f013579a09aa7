"""Indexes for a national service: searches, the retention sweep, the counsellor's home.

On PostgreSQL the searches' indexes are trigram indexes (the pg_trgm
extension, trusted since PostgreSQL 13: the database's owner may create it);
on SQLite they are plain indexes, which the searches do not use (a small
service). docs/benchmarks.md, "National scale".

Revision ID: 0014_scale_indexes
Revises: 0013_user_locale
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0014_scale_indexes"
down_revision = "0013_user_locale"
branch_labels = None
depends_on = None

TRIGRAMS = (
    ("users", "ix_users_display_name_trgm", "display_name"),
    ("users", "ix_users_username_trgm", "username"),
    ("person_profiles", "ix_person_profiles_prison_number_trgm", "prison_number"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # In `public`, named with it by the indexes: created in the schema of
        # the search path it would be invisible from other schemas of the
        # same database (one extension per database), and dropped with it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    for table, name, column in TRIGRAMS:
        op.create_index(
            name,
            table,
            [column],
            postgresql_using="gin",
            postgresql_ops={column: "public.gin_trgm_ops"},
        )
    op.create_index(
        "ix_person_profiles_lifecycle_released_on",
        "person_profiles",
        ["lifecycle", "released_on"],
    )
    op.create_index(
        "ix_documents_vault_id_doc_type", "documents", ["vault_id", "doc_type", "expiry_date"]
    )
    op.create_index(
        "ix_journal_events_vault_id_actor_id_time",
        "journal_events",
        ["vault_id", "actor_id", "time"],
    )


def downgrade() -> None:
    op.drop_index("ix_journal_events_vault_id_actor_id_time", table_name="journal_events")
    op.drop_index("ix_documents_vault_id_doc_type", table_name="documents")
    op.drop_index("ix_person_profiles_lifecycle_released_on", table_name="person_profiles")
    for table, name, _ in reversed(TRIGRAMS):
        op.drop_index(name, table_name=table)
    # The extension stays: other objects of the database may use it.
