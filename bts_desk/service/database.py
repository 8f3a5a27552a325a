"""Engine, schema creation and the revision counter of the sync service.

``ServiceDatabase.write()`` opens a write transaction: ``BEGIN IMMEDIATE`` on SQLite (so two
writers never both read and then fail to upgrade their lock, which WAL answers with an
immediate SQLITE_BUSY that no busy timeout cures), a plain transaction on PostgreSQL, where
row locks do the serialising (see ``models``). ``read()`` is a normal read transaction.
``write(durable=False)`` is for rows whose loss in a crash costs nothing but a retry (login
challenges, desk status reports, which the desk sends again minutes later): on PostgreSQL the
commit then does not wait for the WAL flush (``synchronous_commit`` off for that transaction
only; the rows are visible at once, a crash may lose the last fraction of a second of them).
Enrollments, sessions and revocations always wait for it.
Thread-safe: uvicorn's worker threads each take their own connection from the pool.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from bts_desk.errors import StoreError
from bts_desk.service.models import RevisionCounter, ServerBase

log = logging.getLogger(__name__)

_IMMEDIATE = "bts_sqlite_immediate"


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (the pysqlite recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged upload must survive power loss
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get(_IMMEDIATE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class ServiceDatabase:
    """The service's engine; create one per app and ``dispose()`` it at shutdown."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(
            url,
            pool_pre_ping=not url.startswith("sqlite"),
            pool_size=10,
            max_overflow=20,
            # Errors must not carry statement parameters into the log: they hold biometric
            # payloads and full ID numbers.
            hide_parameters=True,
        )
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._writer = self.engine.execution_options(**{_IMMEDIATE: True})

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def create_schema(self) -> None:
        """Create the tables that are missing and the counter row (idempotent)."""
        try:
            ServerBase.metadata.create_all(self.engine)
            with self.write() as conn:
                exists = conn.execute(select(RevisionCounter.value)).first()
                if exists is None:
                    conn.execute(insert(RevisionCounter).values(id=1, value=0))
        except SQLAlchemyError as exc:
            raise StoreError("同步服务数据库无法初始化", f"schema on {self.url}: {exc}") from exc

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[Connection]:
        """A write transaction, committed on success, rolled back on any error."""
        with self._writer.begin() as conn:
            if not durable and not self.is_sqlite:
                conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def take_revisions(conn: Connection, count: int = 1) -> int:
    """Reserve ``count`` revisions; returns the last one (the block is last-count+1..last).

    Call it after every other row lock of the transaction (only rows it already holds or
    inserts may follow): on PostgreSQL the counter's row lock is held until commit, which is
    what keeps revision order equal to commit order, and taking it last rules out deadlocks."""
    new_value = conn.execute(
        update(RevisionCounter)
        .where(RevisionCounter.id == 1)
        .values(value=RevisionCounter.value + count)
        .returning(RevisionCounter.value)
    ).scalar_one()
    return int(new_value)
