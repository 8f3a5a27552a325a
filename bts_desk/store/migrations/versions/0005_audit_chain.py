"""audit rows carry a keyed hash chain (``audit.mac``) and the chain's head (``sync_state``)

Each new row's ``mac`` is HMAC-SHA256 under a key derived from the desk key over the previous
row's ``mac`` and the row's own fields (``store.audit``); the ``audit_head`` entry of
``sync_state`` names the last row and is keyed too, so a deleted, edited or truncated row is
found by ``bts-desk audit verify``. Rows written before this revision keep ``mac`` NULL and are
reported as unchained.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 11:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit", sa.Column("mac", sa.String(64), nullable=True))  # triggers stay
    # The row every writer updates first: it serialises the chain (SQLite's write lock, a row
    # lock on PostgreSQL) before the previous row is read.
    op.execute("INSERT INTO sync_state (key, value) VALUES ('audit_head', '')")


def downgrade() -> None:
    op.execute("DELETE FROM sync_state WHERE key = 'audit_head'")
    with op.batch_alter_table("audit") as batch:
        batch.drop_column("mac")
