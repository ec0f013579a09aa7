"""The counsellor's home figures from narrow indexes (shares, links and recoveries waiting).

A page of the home reads the shares of twenty people with one counsellor:
two single-column indexes and a bitmap AND of a caseload's shares (D-204),
now one composite index, whose first column serves every lookup by
counsellor alone (the old index goes). The links and the recoveries waiting
are counted over the whole caseload on every visit: partial indexes hold
only those waiting, a few among every link and recovery ever made.

Revision ID: 0019_caseload_figures
Revises: 0018_caseload
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_caseload_figures"
down_revision = "0018_caseload"
branch_labels = None
depends_on = None

LINK_PENDING = "status = 'pending' AND revoked_at IS NULL"
RECOVERY_PENDING = "status = 'pending'"


def upgrade() -> None:
    op.create_index("ix_shares_counsellor_id_vault_id", "shares", ["counsellor_id", "vault_id"])
    op.drop_index("ix_shares_counsellor_id", table_name="shares")
    op.create_index(
        "ix_external_links_pending",
        "external_links",
        ["vault_id"],
        postgresql_where=sa.text(LINK_PENDING),
        sqlite_where=sa.text(LINK_PENDING),
    )
    op.create_index(
        "ix_recovery_requests_pending",
        "recovery_requests",
        ["user_id"],
        postgresql_where=sa.text(RECOVERY_PENDING),
        sqlite_where=sa.text(RECOVERY_PENDING),
    )


def downgrade() -> None:
    op.drop_index("ix_recovery_requests_pending", table_name="recovery_requests")
    op.drop_index("ix_external_links_pending", table_name="external_links")
    op.create_index("ix_shares_counsellor_id", "shares", ["counsellor_id"])
    op.drop_index("ix_shares_counsellor_id_vault_id", table_name="shares")
