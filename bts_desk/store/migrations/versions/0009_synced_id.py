"""``(synced, id)``: the table's own order under 同步状态, and deep pages counted off on it

Dragging the scroll bar of 边民备案查询 to the middle of a million records fetched a page at
``OFFSET 500000``, which stepped over half the table's rows — on the encrypted store, half the
table decrypted (about 2 s). The narrow ``(synced, id)`` index lets ``store.borderers`` count
the offset off along it and read the page from the id found; it also serves the first page of
the default view (已同步海关 by id) in order on every SQLite version.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 14:20:00
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("borderer", schema=None) as batch_op:
        batch_op.create_index("ix_borderer_synced_id", ["synced", "id"], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":  # a store with planner statistics gets this index's too
        analyzed = bind.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"
        ).first()
        if analyzed:
            bind.exec_driver_sql("ANALYZE ix_borderer_synced_id")


def downgrade() -> None:
    with op.batch_alter_table("borderer", schema=None) as batch_op:
        batch_op.drop_index("ix_borderer_synced_id")
