"""The one database engine and session factory of the desk.

``open_database(url, key=...)`` creates the engine, applies the SQLite pragmas (WAL, foreign
keys, full sync, secure delete, temporary tables in memory) and brings the schema to the newest
Alembic revision. With a desk key, a SQLite file is opened through SQLCipher (``sqlcipher3``:
every page of the database and of its WAL is encrypted; see ``store.desk_store``). The engine
never puts SQL parameters into its errors (``hide_parameters``): a failing statement must not
carry a name or an ID number into ``StoreError.detail`` and from there into the log.

Sessions are short-lived and belong to the thread that opened them: never share a Session
between threads; the engine and ``Database`` are thread-safe.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from bts_desk.errors import StoreError

if TYPE_CHECKING:
    from bts_desk.store.crypto import DeskKey

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

# A SQLite file's connections: kept open all day, one per thread that uses the store at the
# same time (the GUI thread's table, the outbox and pull worker, background saves, the status
# report; soak_bench saw five at once at most); more at once are opened and closed again as
# overflow.
POOL_KEPT, POOL_OVERFLOW = 6, 8


class Database:
    """Engine + session factory. Thread-safe; create one per process and pass it down."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # The key of the audit hash chain (``store.audit``), set by ``open_desk_store``; every
        # session carries it in ``session.info`` so audit rows written in a caller's
        # transaction are keyed too.
        self.audit_key: bytes | None = None

    def open_kept_connections(self) -> None:
        """Open the pool's kept connections now (the worker thread that opens the store): a
        desk that runs all day holds the same descriptors from its start to its end, and the
        first query or save does not pay for a connection."""
        pool = self.engine.pool
        if not isinstance(pool, QueuePool):
            return
        held = []
        try:
            for _ in range(pool.size() - pool.checkedout()):
                held.append(self.engine.raw_connection())
        except SQLAlchemyError as exc:
            raise StoreError("无法打开本地数据库", f"cannot open {self.url}: {exc}") from exc
        finally:
            for connection in held:
                connection.close()  # back into the pool, still open

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success, rolled back on any error (one unit of work)."""
        session = self._sessions()
        session.info["audit_key"] = self.audit_key
        try:
            yield session
            session.commit()
        except SQLAlchemyError as exc:
            session.rollback()
            raise StoreError("本地数据库操作失败", f"database error on {self.url}: {exc}") from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def checkpoint(self) -> None:
        """Copy the WAL into the database and truncate it to zero bytes (SQLite only). Best
        effort: a reader still holding old pages makes it partial; the next one finishes."""
        if not self.is_sqlite:
            return
        try:
            with self.engine.connect() as conn:
                busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
        except SQLAlchemyError as exc:
            log.warning("WAL checkpoint failed: %s", exc)
            return
        if busy is not None and busy[0]:
            log.info("WAL checkpoint partial (a reader is active)")

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Deleted content is overwritten: acknowledged biometric payloads leave no residue.
    cursor.execute("PRAGMA secure_delete=ON")
    # Sorts and temporary indexes stay in memory: a temp file would hold rows in the clear.
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _safety_back_on(dbapi_connection: Any, _record: Any) -> None:
    """Every connection returns to the pool with secure_delete on and full durability,
    whatever happened while it was out: ``store.enrollments`` turns secure_delete off for one
    statement (a cryptographic erase), and a failure in between must not leave a pooled
    connection that frees pages unwiped; ``sync.pull`` commits a first bulk load with WAL's
    NORMAL synchronous, which no enrollment may inherit."""
    if dbapi_connection is None:  # invalidated: it will not be used again
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA secure_delete=ON")
        if not dbapi_connection.in_transaction:  # (SQLite refuses it inside one)
            cursor.execute("PRAGMA synchronous=FULL")
    finally:
        cursor.close()


def sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL (None for other databases and in-memory ones)."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        return Path(url.removeprefix("sqlite:///"))
    return None


def create_db_engine(url: str, key: DeskKey | None = None) -> Engine:
    """The engine for ``url``; with ``key`` a SQLite file is encrypted with SQLCipher."""
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    if key is not None and path is not None:
        # sqlite+pysqlcipher: the dialect sends PRAGMA key before anything else on each new
        # connection. QueuePool (the pysqlite default for files) instead of the dialect's
        # SingletonThreadPool: sessions move between pool threads.
        cipher_url = make_url(url).set(
            drivername="sqlite+pysqlcipher", password=key.sqlcipher_key()
        )
        engine = create_engine(
            cipher_url,
            poolclass=QueuePool,
            pool_size=POOL_KEPT,
            max_overflow=POOL_OVERFLOW,
            hide_parameters=True,
        )
    elif path is not None:
        engine = create_engine(
            url, pool_size=POOL_KEPT, max_overflow=POOL_OVERFLOW, hide_parameters=True
        )
    else:
        engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "checkin", _safety_back_on)
    return engine


def open_database(url: str, *, key: DeskKey | None = None, migrate: bool = True) -> Database:
    """Open (and by default migrate) the store at ``url``. Raises StoreError."""
    try:
        engine = create_db_engine(url, key)
        if migrate:
            upgrade(engine)
    except SQLAlchemyError as exc:
        raise StoreError("无法打开本地数据库", f"cannot open database {url}: {exc}") from exc
    return Database(engine)


def current_revision(engine: Engine) -> str:
    if not inspect(engine).has_table("alembic_version"):
        return ""
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar() or "")


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (no-op when it is already there)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
    log.info("database %s at revision %s", engine.url.render_as_string(), current_revision(engine))
