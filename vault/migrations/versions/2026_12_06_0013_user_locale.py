"""Each account's interface language (issue 14).

Revision ID: 0013_user_locale
Revises: 0012_cv_drafts
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_user_locale"
down_revision = "0012_cv_drafts"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both databases (SQLite has DROP COLUMN since 3.35): a
# batch copy would drop and recreate `users`, which every other table references.
def upgrade() -> None:
    op.add_column("users", sa.Column("locale", sa.String(length=16), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "locale")
