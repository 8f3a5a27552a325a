"""Engine, schema creation and the revisions of the sync service.

``ServiceDatabase.write()`` opens a write transaction: ``BEGIN IMMEDIATE`` on SQLite (so two
writers never both read and then fail to upgrade their lock, which WAL answers with an
immediate SQLITE_BUSY that no busy timeout cures), a plain transaction on PostgreSQL, where
row locks do the serialising (see ``models``). ``read()`` is a normal read transaction.
Revisions (``take_revisions``) come from a counter row on SQLite and from the writing
transaction's id on PostgreSQL, where a shared counter row locked until commit made every
upload wait for the previous one's commit (fleet_bench at 1,000 desks: 20 uploads at a time
waiting on its lock, p99 38 s); pulls stop at ``revision_horizon``.
``lookup()`` is for reads of one statement (a session check, an upload's stored digest): on
PostgreSQL the connection is in autocommit mode, so the statement is its own transaction and
costs one round trip instead of three (BEGIN, the statement, ROLLBACK), the same snapshot as
in a READ COMMITTED transaction. Pooled connections are pinged before use only when they have
been idle for ``IDLE_PING_S`` (``_ping_when_idle``), not at every checkout: under load a
connection comes back within milliseconds, and the ping was a round trip of its own for every
transaction (8% of the workers' samples under fleet_bench); one that broke while in use
(the database restarted) fails its statement, which invalidates the whole pool (503, the desk
retries).
``write(durable=False)`` is for rows whose loss in a crash costs nothing but a retry (login
challenges, desk status reports, which the desk sends again minutes later): on PostgreSQL the
commit then does not wait for the WAL flush (``synchronous_commit`` off for that transaction
only; the rows are visible at once, a crash may lose the last fraction of a second of them).
Enrollments, sessions and revocations always wait for it.
Thread-safe: uvicorn's worker threads each take their own connection from the pool.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    Integer,
    Text,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError

from bts_desk.errors import StoreError
from bts_desk.service.models import RevisionCounter, ServerBase, ServerBorderer

log = logging.getLogger(__name__)

_IMMEDIATE = "bts_sqlite_immediate"

# Threads of a service process that run blocking endpoints (Starlette's thread pool, set by
# the app's lifespan), and its connection pool. Few: the work is mostly CPU under one GIL,
# and AnyIO's default of 40 threads made every database round trip wait for the GIL behind
# dozens of others (fleet_bench at 1,000 desks: 15-30k context switches a second, a quarter
# of the CPU in the kernel). A pull's or an upload's wait on PostgreSQL is a few ms.
WORKER_THREADS = 12
IDLE_PING_S = 10.0  # a pooled connection idle this long is pinged before it is used again
_IDLE_SINCE = "bts_idle_since"  # pooled connection's info: time.monotonic() when checked in


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


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection at checkout only if it has been idle ``IDLE_PING_S`` (the
    pessimistic check of SQLAlchemy's ``pool_pre_ping``, without its round trip before every
    transaction); a dead one is replaced (``DisconnectionError``: the pool connects anew)."""

    def idle_from_now(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_IDLE_SINCE, 0.0) < IDLE_PING_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"pooled connection is dead: {exc}") from exc

    event.listen(engine, "connect", idle_from_now)
    event.listen(engine, "checkin", idle_from_now)
    event.listen(engine, "checkout", checkout)


class ServiceDatabase:
    """The service's engine; create one per app and ``dispose()`` it at shutdown."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(
            url,
            pool_size=WORKER_THREADS,
            max_overflow=4,  # the odd connection outside the worker threads
            # Errors must not carry statement parameters into the log: they hold biometric
            # payloads and full ID numbers.
            hide_parameters=True,
        )
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            _ping_when_idle(self.engine)
        self._writer = self.engine.execution_options(**{_IMMEDIATE: True})
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def create_schema(self) -> None:
        """Create the tables that are missing and the counter row (idempotent); on
        PostgreSQL, raise the revision floor if the data came from another cluster
        (``_raise_floor``). Call it before any worker writes (``workers`` does)."""
        try:
            ServerBase.metadata.create_all(self.engine)
            with self.write() as conn:
                exists = conn.execute(select(RevisionCounter.value)).first()
                if exists is None:
                    conn.execute(insert(RevisionCounter).values(id=1, value=0))
                elif not self.is_sqlite:
                    _raise_floor(conn)
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
    def read(self, *, snapshot: bool = False) -> Iterator[Connection]:
        """A read transaction; ``snapshot``: all its statements see one snapshot
        (REPEATABLE READ on PostgreSQL; a SQLite read transaction always does)."""
        with self.engine.connect() as conn:
            if snapshot and not self.is_sqlite:
                conn.execution_options(isolation_level="REPEATABLE READ")  # until returned
            yield conn

    @contextmanager
    def lookup(self) -> Iterator[Connection]:
        """A connection for one read statement: autocommit on PostgreSQL (no BEGIN and
        ROLLBACK round trips), a read transaction on SQLite. Never for several statements
        that must agree with one another (``read(snapshot=True)``), nor for writes."""
        if self.is_sqlite:
            with self.read() as conn:
                yield conn
            return
        with self._autocommit.connect() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


# PostgreSQL: a revision is the writing transaction's id shifted left by this many bits, plus
# the revision's rank within its transaction (see ``take_revisions``).
XACT_SHIFT = 20
_XACT_RANK = "bts_xact_revision_rank"  # conn.info: (transaction id, revisions taken in it)


# take_revisions' statements, built once (every upload runs one).
_BUMP_COUNTER = (
    update(RevisionCounter)
    .where(RevisionCounter.id == 1)
    .values(value=RevisionCounter.value + bindparam("count"))
    .returning(RevisionCounter.value)
)
_XACT_AND_FLOOR = select(
    func.pg_current_xact_id().cast(Text).cast(BigInteger), RevisionCounter.value
).where(RevisionCounter.id == 1)


def dialect_insert(dialect: str, model: Any) -> postgresql.Insert | sqlite.Insert:
    """``INSERT`` in ``dialect``'s own form (``"postgresql"`` or ``"sqlite"``), for its
    ``ON CONFLICT`` clauses: the one place the service picks between the two."""
    if dialect == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def insert_if_new(conn: Connection, model: Any, key: Any, values: dict[str, Any]) -> bool:
    """``INSERT … ON CONFLICT (key) DO NOTHING``: True if this call inserted the row. A
    concurrent insert of the same key waits on PostgreSQL until the other commits, then
    inserts nothing (SQLite's ``BEGIN IMMEDIATE`` serialises them); follow with a locked read."""
    statement = dialect_insert(conn.dialect.name, model).values(**values)
    return bool(conn.execute(statement.on_conflict_do_nothing(index_elements=[key])).rowcount)


def take_revisions(conn: Connection, count: int = 1) -> int:
    """Reserve ``count`` revisions; returns the last one (the block is last-count+1..last).

    Revisions grow with every change, and a pull (``revision_horizon``) must never pass a
    revision whose transaction may still commit: a cursor that went past it would skip it.

    - SQLite (writers serialised by ``BEGIN IMMEDIATE``): the counter row, bumped.
    - PostgreSQL: no shared row, so writers never queue on one another. A revision is
      ``floor + (xid << XACT_SHIFT) + rank``: the transaction's own 64-bit id
      (``pg_current_xact_id()``, assigned here if the transaction has none yet) and the rank
      of the revision among those the transaction took (at most 2**XACT_SHIFT); ``floor`` is
      the counter row's value, frozen (the last revision the counter gave before this scheme;
      0 on a new database), so these revisions are above all older ones. Revision order is
      then transaction-id order, not commit order — which is why pulls stop at the horizon.
    Call it after every other row lock of the transaction (SQLite takes no lock here; the
    rule keeps the order of locks the same on both)."""
    if conn.dialect.name != "postgresql":
        new_value = conn.execute(_BUMP_COUNTER, {"count": count}).scalar_one()
        return int(new_value)
    row = conn.execute(_XACT_AND_FLOOR).one()
    xact, floor = int(row[0]), int(row[1])
    known, taken = conn.info.get(_XACT_RANK, (None, 0))
    taken = taken if known == xact else 0
    if taken + count > 1 << XACT_SHIFT:
        raise StoreError("同步服务数据库写入过大", f"{taken + count} revisions in one transaction")
    conn.info[_XACT_RANK] = (xact, taken + count)
    return floor + (xact << XACT_SHIFT) + taken + count - 1


def _raise_floor(conn: Connection) -> None:
    """After a restore into another cluster (``pg_dump``, the production guide's backup),
    the records keep revisions made from the old cluster's transaction ids, which the new
    cluster may not have reached: new revisions would fall below them (desks would never
    pull the changes) and so would the pull's horizon (nothing pulled at all). Raising the
    floor above the newest revision puts both above every restored one. It never happens
    on the cluster that made the revisions (transaction ids only grow); at start only, as
    the floor must not move while writers are running."""
    newest = select(func.coalesce(func.max(ServerBorderer.revision), 0)).scalar_subquery()
    xact = func.pg_current_xact_id().cast(Text).cast(BigInteger)
    raised = conn.execute(
        update(RevisionCounter)
        .where(
            RevisionCounter.id == 1,
            RevisionCounter.value + xact.op("<<")(literal(XACT_SHIFT, Integer)) <= newest,
        )
        .values(value=newest + 1)
        .returning(RevisionCounter.value)
    ).scalar_one_or_none()
    if raised is not None:
        log.warning("revision floor raised to %d: records restored from another cluster", raised)


def revision_horizon(dialect: str) -> ColumnElement[Any] | None:
    """What a pull may bring: revisions below this (a scalar subquery, evaluated in the
    pull's own statement snapshot), or None (SQLite: every committed revision is final).

    On PostgreSQL, the snapshot's ``xmin`` is the oldest transaction still running when the
    pull's statement began: every transaction with a lower id has committed (its rows are
    in the snapshot) or aborted, and every transaction that commits later has an id of at
    least ``xmin``, hence revisions at or above ``floor + (xmin << XACT_SHIFT)``. Below that
    the revisions are final, so a cursor never skips a change that commits late; a change
    above it is brought by a later pull, once older writers have finished."""
    if dialect != "postgresql":
        return None
    xmin = func.pg_snapshot_xmin(func.pg_current_snapshot()).cast(Text).cast(BigInteger)
    return (
        select(RevisionCounter.value + xmin.op("<<")(literal(XACT_SHIFT, Integer)))
        .where(RevisionCounter.id == 1)
        .scalar_subquery()
    )
