"""``enrollment_key``: each enrollment's payload under its own data key

A new enrollment's biometric bundle is sealed with a fresh AES-256 data key, stored here
wrapped by the desk key. Acknowledging the upload deletes this small row (overwritten by
SQLite's secure_delete) instead of overwriting the payload's pages: a cryptographic erase.
Enrollments saved earlier have no row and keep being read and erased as before.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 20:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enrollment_key",
        sa.Column("enrollment_uuid", sa.String(length=36), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enrollment_uuid"],
            ["enrollment.uuid"],
            name=op.f("fk_enrollment_key_enrollment_uuid_enrollment"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enrollment_uuid", name=op.f("pk_enrollment_key")),
    )


def downgrade() -> None:
    op.drop_table("enrollment_key")
