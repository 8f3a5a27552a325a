"""Incremental pull over real HTTP: pages, cursor, bulk load into an empty store, a pull cut
off in the middle, and the local flags of enrollments not yet uploaded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, inspect, select
from sync_support import OFFICER_A, Desk, Pki, faulty_proxy, make_desk, start_service

from bts_desk.domain import RecordState
from bts_desk.errors import SyncError
from bts_desk.service.borderers import update_record
from bts_desk.service.local import LocalService
from bts_desk.store import sync_state
from bts_desk.store.enrollments import save_enrollment
from bts_desk.store.models import BordererRow
from bts_desk.sync.pull import Puller
from bts_desk.sync.samples import sample_draft


@pytest.fixture
def service(tmp_path: Path, pki: Pki) -> Iterator[LocalService]:
    with start_service(tmp_path, pki, records=1234) as running:
        yield running


def _desk(tmp_path: Path, url: str, pki: Pki) -> Desk:
    desk = make_desk(tmp_path / "desk", url)
    desk.tokens.set_signer(pki.signer(OFFICER_A))
    return desk


def _count(desk: Desk) -> int:
    with desk.db.session() as s:
        return int(s.execute(select(func.count()).select_from(BordererRow)).scalar_one())


def _indexes(desk: Desk) -> set[str]:
    return {i["name"] or "" for i in inspect(desk.db.engine).get_indexes("borderer")}


def _durability_statements(desk: Desk) -> list[str]:
    """The ``PRAGMA synchronous=…`` statements the desk's store executes from now on."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("PRAGMA synchronous="):
            seen.append(statement)

    event.listen(desk.db.engine, "before_cursor_execute", note)
    return seen


def _every_pooled_connection(desk: Desk) -> list[Any]:
    """The DB-API connections the pool holds now, checked out together (all of them)."""
    held = [desk.db.engine.raw_connection() for _ in range(desk.db.engine.pool.checkedin())]
    try:
        assert held, "no pooled connection to look at"
        return [c.dbapi_connection for c in held]
    finally:
        for c in held:
            c.close()


def test_pages_cursor_progress_and_increments(
    tmp_path: Path, service: LocalService, pki: Pki
) -> None:
    desk = _desk(tmp_path, service.url, pki)
    try:
        token = desk.tokens.any_auth().token()  # type: ignore[union-attr]
        expected_indexes = _indexes(desk)
        puller = Puller(desk.db, desk.client, page_size=100)
        seen: list[int] = []
        durability = _durability_statements(desk)
        assert puller.pull(token, seen.append) == 1234  # empty store: the bulk path
        assert seen == [*range(100, 1234, 100), 1234]
        assert _count(desk) == 1234
        assert _indexes(desk) == expected_indexes  # dropped for the load, built again
        # the bulk load committed each page with NORMAL durability, and every connection
        # went back to the pool with FULL again (nothing else inherits it)
        assert durability.count("PRAGMA synchronous=NORMAL") == len(seen)
        for conn in _every_pooled_connection(desk):
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
        durability.clear()
        cursor = puller.cursor()
        assert cursor > 0
        assert puller.pull(token) == 0  # nothing new
        update_record(service.app.state.db, 7, state=str(RecordState.SUSPENDED), name="改名")
        assert puller.pull(token) == 1
        assert durability == []  # not an empty store: the store's own durability
        with desk.db.session() as s:
            row = s.get(BordererRow, 7)
            assert row is not None and (row.state, row.name) == ("suspended", "改名")
        assert puller.cursor() > cursor
        assert sync_state.get_time(desk.db, sync_state.LAST_PULL_AT) is not None
    finally:
        desk.close()


def test_cut_off_pull_resumes_from_the_last_stored_page(
    tmp_path: Path, service: LocalService, pki: Pki
) -> None:
    with faulty_proxy(service.url) as proxy:
        desk = _desk(tmp_path, proxy.url, pki)
        try:
            token = desk.tokens.any_auth().token()  # type: ignore[union-attr]
            expected_indexes = _indexes(desk)
            puller = Puller(desk.db, desk.client, page_size=500)
            proxy.inject("500", "cursor=500", times=10)  # the second page fails
            with pytest.raises(SyncError):
                puller.pull(token)
            assert _count(desk) == 500 and puller.cursor() == 500  # the first page stayed
            assert _indexes(desk) == expected_indexes  # not left without its indexes
            proxy.clear()
            assert puller.pull(token) == 734  # the rest, no repeats
            assert _count(desk) == 1234
            assert _indexes(desk) == expected_indexes  # rebuilt after the cut-off bulk load
        finally:
            desk.close()


def test_unsent_enrollment_keeps_its_flags_through_a_pull(
    tmp_path: Path, service: LocalService, pki: Pki
) -> None:
    desk = _desk(tmp_path, service.url, pki)
    try:
        token = desk.tokens.any_auth().token()  # type: ignore[union-attr]
        puller = Puller(desk.db, desk.client)
        puller.pull(token)
        save_enrollment(desk.db, sample_draft(9, OFFICER_A), desk.key)
        update_record(service.app.state.db, 9, name="新名字")  # the service's copy changes
        assert puller.pull(token) == 1
        with desk.db.session() as s:
            row = s.get(BordererRow, 9)
            assert row is not None and row.name == "新名字"
            assert (row.has_face, row.has_finger) == (True, True)  # still ours until uploaded
    finally:
        desk.close()
