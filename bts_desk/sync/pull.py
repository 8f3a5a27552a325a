"""Incremental pull of borderer records from the sync service into the desk store.

The service numbers every change (``revision``); the desk keeps the highest revision it has
(the cursor, in ``sync_state``) and asks for what changed since, a page at a time. Each page is
upserted in bulk together with the new cursor in ONE transaction, so a crash between pages
loses nothing and repeats nothing (the next pull starts after the last committed page).

A record the desk has enrolled but not yet uploaded keeps its local 生物标识 until the
service's copy catches up (otherwise a pull between saving and uploading would flip it back).

The page also brings the finger templates of its enrolled records (边民核验 offline); they
are sealed with the desk key and stored in the page's transaction (``store.templates``).
Without a key (a tool that only pulls records) they are left out. The exception entries of
the page's records (无法采集 / 无法拍照 in their latest enrollment) replace those pulled
before, in the same transaction, for 详情 (``store.enrollments.exceptions_of``).

Blocking (HTTP + SQL): the sync worker's thread, or a CLI. Qt-free.
"""

from __future__ import annotations

import logging
import operator
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy import Table, delete, insert, inspect, select, update
from sqlalchemy.orm import Session

from bts_desk.domain import Gender, OutboxState, RecordState
from bts_desk.store import sync_state, templates
from bts_desk.store.borderers import BordererRecord, upsert
from bts_desk.store.crypto import DeskKey
from bts_desk.store.db import Database
from bts_desk.store.models import (
    Base,
    BordererRow,
    EnrollmentRow,
    OutboxRow,
    PulledExceptionRow,
    utcnow,
)
from bts_desk.sync import wire
from bts_desk.sync.client import SyncClient

log = logging.getLogger(__name__)

PullProgress = Callable[[int], None]  # records pulled so far in this run

_GENDERS = {g.value: g for g in Gender}
_STATES = {s.value: s for s in RecordState}
BORDERER: Table = Base.metadata.tables[BordererRow.__tablename__]
_UNSENT = (OutboxState.PENDING.value, OutboxState.SENDING.value)


class Puller:
    """Pulls pages into ``db`` until the service has nothing newer.

    The next page is fetched (HTTP + JSON decoding) on a helper thread while the current one
    is written, so network and database work overlap. Into an empty store (a desk's first
    start, up to millions of records) the borderer indexes are dropped for the load and built
    once at the end, which is several times faster than maintaining them row by row; a pull
    that is interrupted meanwhile rebuilds them when it next starts."""

    def __init__(
        self,
        db: Database,
        client: SyncClient,
        page_size: int = wire.MAX_PULL_LIMIT,
        *,
        key: DeskKey | None = None,
    ):
        self._db = db
        self._client = client
        self._key = key
        self.page_size = min(page_size, wire.MAX_PULL_LIMIT)

    def cursor(self) -> int:
        text = sync_state.get_value(self._db, sync_state.PULL_CURSOR, "0")
        return int(text) if text.isdigit() else 0

    def pull(
        self,
        token: str,
        progress: PullProgress | None = None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> int:
        """Pull everything newer than the stored cursor; returns how many records came.
        Raises SyncError (network, refusal, malformed page) or StoreError."""
        cursor = self.cursor()
        bulk = cursor == 0 and self._store_is_empty()
        self._set_indexes(present=True)  # after an interrupted bulk load
        try:
            total = self._pages(token, cursor, bulk, progress, should_stop)
        finally:
            if bulk:  # never leave the query page without its indexes
                self._set_indexes(present=True)
        log.info("pulled %d records, cursor now %d", total, self.cursor())
        return total

    def _pages(
        self,
        token: str,
        cursor: int,
        bulk: bool,
        progress: PullProgress | None,
        should_stop: Callable[[], bool],
    ) -> int:
        total = 0
        with ThreadPoolExecutor(1, thread_name_prefix="bts-pull-fetch") as fetcher:
            ahead: Future[wire.PullPage] = fetcher.submit(self._fetch, token, cursor)
            while True:
                page = ahead.result()
                # Ask for the next page before storing this one (overlap).
                following = page.next_cursor if page.has_more and page.items else None
                if following is not None and not should_stop():
                    ahead = fetcher.submit(self._fetch, token, following)
                if bulk and following is not None and total == 0:
                    self._set_indexes(present=False)
                self._store_page(page, bulk=bulk)
                total += len(page.items)
                if progress is not None:
                    progress(total)
                if following is None or should_stop():
                    return total

    def _fetch(self, token: str, cursor: int) -> wire.PullPage:
        """HTTP and decoding of one page (on the helper thread)."""
        return self._client.pull_page(token, cursor, self.page_size)

    def _store_is_empty(self) -> bool:
        with self._db.session() as session:
            return session.execute(select(BordererRow.id).limit(1)).first() is None

    def _set_indexes(self, *, present: bool) -> None:
        with self._db.engine.begin() as conn:
            have = {ix["name"] for ix in inspect(conn).get_indexes(BORDERER.name)}
            missing = [i for i in BORDERER.indexes if present != (i.name in have)]
            if not missing:
                return
            sqlite = self._db.engine.dialect.name == "sqlite"
            if sqlite and present:  # for this build only (see _BUILD_PRAGMAS)
                for pragma in _BUILD_PRAGMAS:
                    conn.exec_driver_sql(pragma)
            try:
                for index in missing:
                    if present:
                        index.create(conn)
                    else:
                        index.drop(conn)
            finally:
                if sqlite and present:
                    conn.exec_driver_sql("PRAGMA cache_size=-2000")  # SQLite's default
                    conn.exec_driver_sql("PRAGMA threads=0")
                    conn.exec_driver_sql("PRAGMA shrink_memory")

    def _store_page(self, page: wire.PullPage, *, bulk: bool) -> None:
        with self._db.session() as session:
            if page.items and bulk and self._db.engine.dialect.name == "sqlite":
                # Before the transaction starts (SQLite refuses it inside); the pool sets it
                # back to FULL when the connection returns (store.db). See _BULK_SYNCHRONOUS.
                session.connection().exec_driver_sql(_BULK_SYNCHRONOUS)
                _insert_sqlite(session, page.items)  # empty store
            elif page.items and bulk:
                session.execute(insert(BORDERER), page.items)
            elif page.items:
                upsert(session, (_record(item) for item in page.items))
                keep_unsent_flags(session)
            if page.templates and self._key is not None:
                templates.put_pulled(session, page.templates, self._key)
            if page.items:
                put_pulled_exceptions(session, page, replace=not bulk)
            sync_state.set_value(session, sync_state.PULL_CURSOR, str(page.next_cursor))
            sync_state.set_time(session, sync_state.LAST_PULL_AT, utcnow())


# The first pull into an empty store commits a page at a time with WAL's NORMAL durability
# instead of the store's FULL: no fsync per page, a thousand of them for a million records
# (0.1-0.8 ms each on the test machine's virtual disk, measured; several ms on a desk's
# disk). The store stays consistent whatever happens (WAL), and a page lost to a power cut is
# lost with the cursor stored in the same transaction: the next pull fetches it again.
_BULK_SYNCHRONOUS = "PRAGMA synchronous=NORMAL"

# Building the query page's indexes after a bulk load (SQLite): each CREATE INDEX scans the
# whole table; with SQLite's default 2 MB page cache every scan reads (and under SQLCipher
# decrypts and authenticates) every page again, 15 times. A cache that holds the table of a
# million records (191 MB) makes that one read: 33 s for the 15 indexes against 37.8 s with
# the default cache (measured on SQLCipher; 1 GB gives no more). ``threads`` allows the sorter
# helper threads, though CPU time equalled wall time in those runs: the scans and B-tree
# writes are serial. Both are set back (and the cache freed) when the build ends.
_BUILD_PRAGMAS = (f"PRAGMA threads={min(4, os.cpu_count() or 1)}", "PRAGMA cache_size=-262144")


_DATES = frozenset({"id_valid_from", "id_valid_to", "valid_to", "last_op_date"})
_DATE_AT = [i for i, name in enumerate(wire.BORDERER_FIELDS) if name in _DATES]
_FIELDS_OF = operator.itemgetter(*wire.BORDERER_FIELDS)
_INSERT_SQLITE = "INSERT INTO borderer ({}) VALUES ({})".format(
    ", ".join(wire.BORDERER_FIELDS), ", ".join("?" * len(wire.BORDERER_FIELDS))
)


def _insert_sqlite(session: Session, items: list[wire.BordererItem]) -> None:
    """A decoded page into an empty SQLite store with one ``executemany`` of plain tuples.

    SQLAlchemy's per-value bind processing (a Python call per date and boolean) was a third of
    the desk's pull time; the values are already checked by the wire model, and SQLite keeps
    dates as the same ISO text and booleans as the same 0/1 that SQLAlchemy writes."""
    rows = []
    for item in items:
        row: list[Any] = list(_FIELDS_OF(item))
        for i in _DATE_AT:
            if row[i] is not None:
                row[i] = row[i].isoformat()
        rows.append(tuple(row))
    session.connection().exec_driver_sql(_INSERT_SQLITE, rows)


def _record(item: wire.BordererItem) -> BordererRecord:
    fields: dict[str, Any] = {**item}
    fields.update(gender=_GENDERS[item["gender"]], state=_STATES[item["state"]])
    return BordererRecord(**fields)


def put_pulled_exceptions(session: Session, page: wire.PullPage, *, replace: bool) -> None:
    """The page's records' exception entries replace those pulled before (a record enrolled
    again without exceptions keeps none); ``replace=False`` into an empty store."""
    if replace:
        ids = [item["id"] for item in page.items]
        session.execute(delete(PulledExceptionRow).where(PulledExceptionRow.borderer_id.in_(ids)))
    if page.exceptions:
        session.execute(
            insert(PulledExceptionRow),
            [
                {
                    "borderer_id": x.borderer_id,
                    "position": x.position,
                    "reason": x.reason,
                    "note": x.note,
                    "enrollment_uuid": x.enrollment_uuid,
                    "captured_at": x.captured_at,
                }
                for x in page.exceptions
            ],
        )


def keep_unsent_flags(session: Session) -> None:
    """Re-apply the 生物标识 of enrollments still waiting for upload (see module doc)."""
    for flag in ("has_face", "has_finger"):
        unsent = (
            select(EnrollmentRow.borderer_id)
            .join(OutboxRow, OutboxRow.enrollment_uuid == EnrollmentRow.uuid)
            .where(getattr(EnrollmentRow, flag).is_(True), OutboxRow.state.in_(_UNSENT))
        )
        session.execute(
            update(BordererRow)
            .where(BordererRow.id.in_(unsent), getattr(BordererRow, flag).is_(False))
            .values({flag: True})
        )
