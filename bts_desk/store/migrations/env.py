"""Alembic environment: runs on the connection that ``bts_desk.store.db.upgrade`` passes in."""

from alembic import context

from bts_desk.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs batch ALTERs
)
with context.begin_transaction():
    context.run_migrations()
