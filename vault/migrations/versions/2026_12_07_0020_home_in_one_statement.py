"""The counsellor's home from indexes alone: shares in force and open requests.

The home now counts, in its one page statement, the documents each person
shares with the counsellor and the counsellor's requests still open (D-207).
The shares' (counsellor, person) index carries what decides whether a share
is in force, so the count reads no share row; a partial index holds the
open requests by (counsellor, person), where the person's index read every
request of the person and then their rows.

Revision ID: 0020_home_in_one_statement
Revises: 0019_caseload_figures
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_home_in_one_statement"
down_revision = "0019_caseload_figures"
branch_labels = None
depends_on = None

REQUEST_OPEN = "status = 'open'"
SHARE_IN_FORCE = ["id", "revoked_at", "expires_at", "until_release"]


def upgrade() -> None:
    op.drop_index("ix_shares_counsellor_id_vault_id", table_name="shares")
    op.create_index(
        "ix_shares_counsellor_id_vault_id",
        "shares",
        ["counsellor_id", "vault_id"],
        postgresql_include=SHARE_IN_FORCE,
    )
    op.create_index(
        "ix_document_requests_open",
        "document_requests",
        ["counsellor_id", "vault_id"],
        postgresql_where=sa.text(REQUEST_OPEN),
        sqlite_where=sa.text(REQUEST_OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_document_requests_open", table_name="document_requests")
    op.drop_index("ix_shares_counsellor_id_vault_id", table_name="shares")
    op.create_index("ix_shares_counsellor_id_vault_id", "shares", ["counsellor_id", "vault_id"])
