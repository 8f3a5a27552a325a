"""Enrolled fingers' vendor templates for 边民核验 (``finger_template``)

Filled from the desk's own enrollments when they are saved and from the pull for the desk's
districts; each template sealed with the desk key (``bts_desk.store.templates``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "finger_template",
        sa.Column("borderer_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("template_format", sa.String(length=256), nullable=False),
        sa.Column("module_family", sa.String(length=256), nullable=False),
        sa.Column("enrollment_uuid", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("borderer_id", "position", name=op.f("pk_finger_template")),
    )


def downgrade() -> None:
    op.drop_table("finger_template")
