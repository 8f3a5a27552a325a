"""``pulled_exception``: the 无法采集 / 无法拍照 entries of records enrolled at other desks

The pull brings, with each record, the exception entries of its latest enrollment (the
service stored them at upload); 详情 shows them as it shows this desk's own. One row per
record and position (ISO finger code, 0 the face); a record pulled again has its rows
replaced.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 17:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pulled_exception",
        sa.Column("borderer_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=64), nullable=False),
        sa.Column("enrollment_uuid", sa.String(length=36), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("borderer_id", "position", name=op.f("pk_pulled_exception")),
    )


def downgrade() -> None:
    op.drop_table("pulled_exception")
