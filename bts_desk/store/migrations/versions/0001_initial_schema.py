"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 15:33:59.323577
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("officer_id", sa.String(length=32), nullable=False),
        sa.Column("officer_name", sa.String(length=64), nullable=False),
        sa.Column("desk_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("borderer_id", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit")),
    )
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_borderer_id"), ["borderer_id"], unique=False)

    op.create_table(
        "borderer",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("customs_code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("gender", sa.String(length=1), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("id_valid_from", sa.Date(), nullable=False),
        sa.Column("id_valid_to", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("data_source", sa.String(length=32), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("has_face", sa.Boolean(), nullable=False),
        sa.Column("has_finger", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("synced", sa.Boolean(), nullable=False),
        sa.Column("last_op_date", sa.Date(), nullable=True),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_borderer")),
    )
    with op.batch_alter_table("borderer", schema=None) as batch_op:
        batch_op.create_index("ix_borderer_id_number", ["id_number"], unique=False)
        batch_op.create_index("ix_borderer_name", ["name", "id"], unique=False)
        batch_op.create_index("ix_borderer_lastop", ["last_op_date", "id"], unique=False)
        batch_op.create_index("ix_borderer_revision", ["revision"], unique=False)
        batch_op.create_index(
            "ix_borderer_synced_bio", ["synced", "has_face", "has_finger", "id"], unique=False
        )
        batch_op.create_index(
            "ix_borderer_synced_customs_bio",
            ["synced", "customs_code", "has_face", "has_finger", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_borderer_synced_enabled", ["synced", "enabled", "id"], unique=False
        )
        batch_op.create_index("ix_borderer_synced_gender", ["synced", "gender", "id"], unique=False)
        batch_op.create_index("ix_borderer_synced_state", ["synced", "state", "id"], unique=False)
        batch_op.create_index(
            "ix_borderer_synced_valid_to", ["synced", "valid_to", "id"], unique=False
        )
        batch_op.create_index(
            "ix_borderer_synced_id_valid_to", ["synced", "id_valid_to", "id"], unique=False
        )
        batch_op.create_index(
            "ix_borderer_synced_lastop", ["synced", "last_op_date", "id"], unique=False
        )
        batch_op.create_index("ix_borderer_synced_name", ["synced", "name", "id"], unique=False)

    op.create_table(
        "sync_state",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sync_state")),
    )
    op.create_table(
        "enrollment",
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("borderer_id", sa.BigInteger(), nullable=False),
        sa.Column("officer_id", sa.String(length=32), nullable=False),
        sa.Column("officer_name", sa.String(length=64), nullable=False),
        sa.Column("desk_id", sa.String(length=64), nullable=False),
        sa.Column("scanner_model", sa.String(length=64), nullable=False),
        sa.Column("scanner_serial", sa.String(length=64), nullable=False),
        sa.Column("camera_name", sa.String(length=128), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("has_face", sa.Boolean(), nullable=False),
        sa.Column("has_finger", sa.Boolean(), nullable=False),
        sa.Column("quality_json", sa.Text(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["borderer_id"], ["borderer.id"], name=op.f("fk_enrollment_borderer_id_borderer")
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_enrollment")),
    )
    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enrollment_borderer_id"), ["borderer_id"], unique=False
        )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("enrollment_uuid", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["enrollment_uuid"],
            ["enrollment.uuid"],
            name=op.f("fk_outbox_enrollment_uuid_enrollment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_enrollment_uuid"), ["enrollment_uuid"], unique=True
        )
        batch_op.create_index(batch_op.f("ix_outbox_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_state"))
        batch_op.drop_index(batch_op.f("ix_outbox_enrollment_uuid"))

    op.drop_table("outbox")
    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrollment_borderer_id"))

    op.drop_table("enrollment")
    op.drop_table("sync_state")
    with op.batch_alter_table("borderer", schema=None) as batch_op:
        batch_op.drop_index("ix_borderer_synced_name")
        batch_op.drop_index("ix_borderer_synced_lastop")
        batch_op.drop_index("ix_borderer_synced_gender")
        batch_op.drop_index("ix_borderer_synced_state")
        batch_op.drop_index("ix_borderer_synced_valid_to")
        batch_op.drop_index("ix_borderer_synced_id_valid_to")
        batch_op.drop_index("ix_borderer_synced_enabled")
        batch_op.drop_index("ix_borderer_synced_customs_bio")
        batch_op.drop_index("ix_borderer_synced_bio")
        batch_op.drop_index("ix_borderer_revision")
        batch_op.drop_index("ix_borderer_id_number")
        batch_op.drop_index("ix_borderer_name")
        batch_op.drop_index("ix_borderer_lastop")

    op.drop_table("borderer")
    with op.batch_alter_table("audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_borderer_id"))
        batch_op.drop_index(batch_op.f("ix_audit_at"))

    op.drop_table("audit")
