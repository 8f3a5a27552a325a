"""The service's connection pool on PostgreSQL: a pooled connection the server closed while it
sat idle is replaced before use (the ping of ``database._ping_when_idle``), and ``lookup()``
reads outside any transaction (autocommit: no BEGIN / ROLLBACK round trips)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from bts_desk.service import database
from bts_desk.service.database import ServiceDatabase

pytestmark = pytest.mark.postgres


def _kill_other_backends(url: str) -> int:
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).all()
            )
    finally:
        admin.dispose()


def test_an_idle_connection_closed_by_the_server_is_replaced(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = ServiceDatabase(pg_url)
    try:
        with db.read() as conn:
            first = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert _kill_other_backends(pg_url) == 1  # the pooled connection, now dead
        monkeypatch.setattr(database, "IDLE_PING_S", 0.0)  # it has been idle "long enough"
        with db.read() as conn:
            again = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert again != first
    finally:
        db.dispose()


def test_a_busy_connection_is_not_pinged_and_lookup_runs_outside_a_transaction(
    pg_url: str,
) -> None:
    db = ServiceDatabase(pg_url)
    try:
        with db.read() as conn:
            conn.execute(text("SELECT 1"))
        with db.lookup() as conn:
            # autocommit: the statement ran in no transaction block of the connection
            assert conn.connection.driver_connection.info.transaction_status == 0
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
            assert conn.connection.driver_connection.info.transaction_status == 0
        # the connection went back in non-autocommit mode: read() opens a transaction
        with db.read() as conn:
            conn.execute(text("SELECT 1"))
            assert conn.connection.driver_connection.info.transaction_status != 0
        # just returned to the pool, so not pinged: killing it makes the next use fail
        # (and the pool is then invalidated: the statement after it gets a new connection)
        _kill_other_backends(pg_url)
        with pytest.raises(OperationalError), db.read() as conn:
            conn.execute(text("SELECT 1"))
        with db.read() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        db.dispose()
