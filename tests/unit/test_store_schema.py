from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import pytest
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


def _store_descriptors(db: Database) -> int:
    """Open descriptors of this process on the store's file and its WAL."""
    name = db.engine.url.database or ""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            count += os.readlink(f"/proc/self/fd/{fd}").startswith(name)
    return count


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors in /proc")
def test_the_store_holds_the_same_descriptors_all_day(settings: Settings) -> None:
    """Opened once at start, the kept connections serve every thread: no new descriptors for
    up to that many threads at once. A burst of more borrows overflow connections; SQLite may
    park a closed connection's descriptors while another holds a lock (POSIX locks are per
    process) and reuses them at the next open: bursts again and again stay within the most
    that many connections at once hold."""
    db, _key = open_desk_store(settings)
    try:
        at_start = _store_descriptors(db)
        for threads in (2, 4, 1, 4):
            _sessions_at_once(db, threads)
            assert _store_descriptors(db) == at_start, f"after {threads} threads at once"
        most = 2 * 9 + 1  # nine connections' file and WAL, the process's one -shm
        for burst in range(12):
            _sessions_at_once(db, 9)
            assert _store_descriptors(db) <= most, f"after burst {burst} of 9 at once"
    finally:
        db.dispose()


def _sessions_at_once(db: Database, threads: int) -> None:
    together = threading.Barrier(threads)

    def work() -> None:
        with db.session() as s:
            together.wait(timeout=30)
            s.execute(text("SELECT count(*) FROM borderer")).scalar()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
