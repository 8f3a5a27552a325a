"""enrollment.finger_positions: which fingers a 补录 holds, as ISO/IEC 19794 finger codes

A comma-separated list in slot order (``"2,7"`` = 右手食指, 左手食指), readable without
opening the sealed biometric bundle (操作日志, 上传队列, support). Enrollments saved before this
revision get ``""`` (their bundle's captures carry no position; the upload files them under
the slots' default fingers).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 11:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enrollment") as batch:
        batch.add_column(
            sa.Column("finger_positions", sa.String(32), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("enrollment") as batch:
        batch.drop_column("finger_positions")
