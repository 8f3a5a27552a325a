"""enrollment.exceptions_json: the biometrics a 补录 recorded as impossible to capture

补录 无法采集 / 无法拍照: a JSON list of ``{"position": <ISO finger code or null for the
face>, "reason": <domain.ExceptionReason code>, "note": <text of 其他>}`` in the order they
are uploaded. Kept after the service acknowledged the enrollment (they are not biometric data,
and 详情 shows them); enrollments saved before this revision get ``"[]"``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enrollment") as batch:
        batch.add_column(
            sa.Column("exceptions_json", sa.Text(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("enrollment") as batch:
        batch.drop_column("exceptions_json")
