"""Free text that sat in clear is sealed: request messages and the ID's last 4 characters.

- `document_requests.message` becomes `message_for_person` and
  `message_for_counsellor`, the text sealed (HPKE) to each one's public key.
  Existing messages are sealed here: sealing needs only the public keys,
  which the users table holds.
- `recovery_requests.identity_sealed` holds the last 4 characters of the
  identity document sealed to the escrow public key. That key is not in the
  database, so the last 4 characters of requests recorded before are dropped
  from `identity_check` rather than sealed; the kind of document, the date and
  the officers stay.

Downgrade restores the columns but not the texts: a sealed message cannot be
opened without the person's or the counsellor's key.

Revision ID: 0010_sealed_request_texts
Revises: 0009_link_keys
Create Date: 2026-12-05
"""

from __future__ import annotations

import json
import uuid

import sqlalchemy as sa
from alembic import op

from crypto import load_public_key, seal

revision = "0010_sealed_request_texts"
down_revision = "0009_link_keys"
branch_labels = None
depends_on = None

requests = sa.table(
    "document_requests",
    sa.column("id", sa.Uuid()),
    sa.column("vault_id", sa.Uuid()),
    sa.column("counsellor_id", sa.Uuid()),
    sa.column("message", sa.Text()),
    sa.column("message_for_person", sa.LargeBinary()),
    sa.column("message_for_counsellor", sa.LargeBinary()),
)
users = sa.table("users", sa.column("id", sa.Uuid()), sa.column("public_key", sa.LargeBinary()))
recovery_requests = sa.table(
    "recovery_requests", sa.column("id", sa.Uuid()), sa.column("identity_check", sa.Text())
)


def _message_context(request_id: uuid.UUID, reader_id: uuid.UUID) -> bytes:
    # The same bytes as vault/core/envelope.py `request_message_context`; a
    # migration keeps its own copy so that later code changes cannot alter it.
    return b"vault/request-message|" + request_id.bytes + reader_id.bytes


def _seal_messages(connection: sa.Connection) -> None:
    rows = connection.execute(
        sa.select(requests.c.id, requests.c.vault_id, requests.c.counsellor_id, requests.c.message)
    ).all()
    keys: dict[uuid.UUID, bytes] = {}
    for request_id, vault_id, counsellor_id, message in rows:
        text = (message or "").strip()
        if not text:
            continue
        sealed = {}
        for column, reader in (
            ("message_for_person", vault_id),
            ("message_for_counsellor", counsellor_id),
        ):
            if reader not in keys:
                keys[reader] = connection.execute(
                    sa.select(users.c.public_key).where(users.c.id == reader)
                ).scalar_one()
            public = load_public_key(keys[reader])
            sealed[column] = seal(public, text.encode(), _message_context(request_id, reader))
        connection.execute(requests.update().where(requests.c.id == request_id).values(**sealed))


def _drop_last4(connection: sa.Connection) -> None:
    rows = connection.execute(
        sa.select(recovery_requests.c.id, recovery_requests.c.identity_check)
    ).all()
    for request_id, text in rows:
        try:
            data = json.loads(text or "{}")
        except ValueError:
            data = {}
        if isinstance(data, dict) and "last4" in data:
            del data["last4"]
            connection.execute(
                recovery_requests.update()
                .where(recovery_requests.c.id == request_id)
                .values(identity_check=json.dumps(data, sort_keys=True))
            )


def upgrade() -> None:
    with op.batch_alter_table("document_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_for_person", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("message_for_counsellor", sa.LargeBinary(), nullable=True))
    _seal_messages(op.get_bind())
    with op.batch_alter_table("document_requests", schema=None) as batch_op:
        batch_op.drop_column("message")
    with op.batch_alter_table("recovery_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identity_sealed", sa.LargeBinary(), nullable=True))
    _drop_last4(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("recovery_requests", schema=None) as batch_op:
        batch_op.drop_column("identity_sealed")
    with op.batch_alter_table("document_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("document_requests", schema=None) as batch_op:
        batch_op.alter_column("message", server_default=None)
        batch_op.drop_column("message_for_counsellor")
        batch_op.drop_column("message_for_person")
