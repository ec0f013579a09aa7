"""The accounts search finds names by their words: a full-text index instead of trigrams.

vault.accounts.search matches a name when each word typed begins one of its
words (D-202). On PostgreSQL a GIN index of `to_tsvector('simple',
display_name)` serves it: a full name's search read the trigram index's
posting lists for 9 ms of CPU at a million accounts (docs/benchmarks.md),
the words' lists are short. The name's trigram index goes (no query reads
it any more); SQLite's plain index of the name, which no search used,
too.

Revision ID: 0017_name_words
Revises: 0016_retention_from
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_name_words"
down_revision = "0016_retention_from"
branch_labels = None
depends_on = None

WORDS = "to_tsvector('simple'::regconfig, display_name)"


def upgrade() -> None:
    op.drop_index("ix_users_display_name_trgm", table_name="users")
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_users_display_name_words", "users", [sa.text(WORDS)], postgresql_using="gin"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_users_display_name_words", table_name="users")
    op.create_index(
        "ix_users_display_name_trgm",
        "users",
        ["display_name"],
        postgresql_using="gin",
        postgresql_ops={"display_name": "public.gin_trgm_ops"},
    )
