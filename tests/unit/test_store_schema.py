from __future__ import annotations

from sqlalchemy import inspect, text

from bts_desk.config import Settings
from bts_desk.store.db import Database
from bts_desk.store.desk_store import open_desk_store
from bts_desk.store.models import Base


def test_migrations_build_the_model_schema(db: Database) -> None:
    insp = inspect(db.engine)
    assert set(Base.metadata.tables) <= set(insp.get_table_names())
    for table in Base.metadata.tables.values():
        columns = {c["name"] for c in insp.get_columns(table.name)}
        assert {c.name for c in table.columns} == columns, table.name


def test_sqlite_runs_in_wal_mode_with_foreign_keys(db: Database) -> None:
    with db.session() as s:
        assert s.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert s.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_reopening_is_idempotent(db: Database, settings: Settings) -> None:
    again, _key = open_desk_store(settings)
    with again.session() as s:
        assert s.execute(text("SELECT version_num FROM alembic_version")).scalar()
    again.dispose()
