"""External links: keys under the key ring and the PIN; links of the first format stopped.

The first format wrapped a link's document key under a key derived from the
token alone, and the token reached the access logs: with a database dump and
the logs, such a row opens its document. New links are sealed under the PIN
(Argon2id), the token and the server key ring. Rows of the first format cannot
be moved to it (the server never had their tokens), so they are stopped and
their wrapped keys deleted here; the person sees why on their links page and
makes a new link if it is still needed (a link lived 30 days at most). This is
the one data change: no journal line (the journal needs the key ring, which
migrations do not have).

Revision ID: 0009_link_keys
Revises: 0008_preview_failures
Create Date: 2026-12-05
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from vault.models.base import UTCDateTime

revision = "0009_link_keys"
down_revision = "0008_preview_failures"
branch_labels = None
depends_on = None

links = sa.table(
    "external_links",
    sa.column("wrapped", sa.LargeBinary()),
    sa.column("pin_hash", sa.String()),
    sa.column("has_pin", sa.Boolean()),
    sa.column("revoked_at", UTCDateTime()),
    sa.column("revoked_reason", sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table("external_links", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("has_pin", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("wrong_pins", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("revoked_reason", sa.String(length=16), nullable=True))
        batch_op.alter_column("wrapped", existing_type=sa.LargeBinary(), nullable=True)

    op.execute(links.update().where(links.c.pin_hash.is_not(None)).values(has_pin=True))
    op.execute(
        links.update()
        .where(links.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC), revoked_reason="key_format")
    )
    op.execute(links.update().values(wrapped=None))

    with op.batch_alter_table("external_links", schema=None) as batch_op:
        batch_op.drop_column("pin_hash")
        # The defaults only filled existing rows; the model sets values itself.
        batch_op.alter_column("has_pin", server_default=None)
        batch_op.alter_column("wrong_pins", server_default=None)


def downgrade() -> None:
    # Links made since the upgrade cannot work with the first release (their
    # keys are in the new layers): stopped and emptied as well.
    op.execute(
        links.update().where(links.c.revoked_at.is_(None)).values(revoked_at=datetime.now(UTC))
    )
    op.execute(links.update().values(wrapped=b""))
    with op.batch_alter_table("external_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pin_hash", sa.String(length=200), nullable=True))
        batch_op.alter_column("wrapped", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column("revoked_reason")
        batch_op.drop_column("wrong_pins")
        batch_op.drop_column("has_pin")
