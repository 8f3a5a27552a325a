"""身份证号 sorts along ``(synced, id_number)`` like every other column of the table

``ix_borderer_id_number`` (``id_number`` alone) left SQLite to choose between walking it and
testing ``synced`` per row, or a ``(synced, …)`` index and a sort of all matches; on a small
store it chose the sort for 未同步海关. ``(synced, id_number)`` serves the sort with the
``synced`` filter as its prefix, and the full-number search in both ``synced`` halves
(同步状态 全部 merges them). Same index count.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 11:55:00
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("borderer", schema=None) as batch_op:
        batch_op.drop_index("ix_borderer_id_number")
        batch_op.create_index("ix_borderer_synced_id_number", ["synced", "id_number"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("borderer", schema=None) as batch_op:
        batch_op.drop_index("ix_borderer_synced_id_number")
        batch_op.create_index("ix_borderer_id_number", ["id_number"], unique=False)
