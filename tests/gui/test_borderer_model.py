"""The lazy table model: Qt's model tester, paging, the page cache, stale results."""

from __future__ import annotations

from desk_support import store
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from bts_desk.domain import BordererFilter, SyncState
from bts_desk.store import borderers
from bts_desk.store.db import Database
from bts_desk.ui.borderer_model import COLUMNS, MAX_PAGES, PAGE_SIZE, BordererTableModel

__all__ = ["store"]


def wait_ready(qtbot: QtBot, model: BordererTableModel) -> None:
    qtbot.waitUntil(lambda: model.ready and not model.busy, timeout=10_000)


def test_qt_model_tester(qtbot: QtBot, qtmodeltester: ModelTester, store: Database) -> None:
    model = BordererTableModel(store)
    model.query(BordererFilter(sync_state=None))
    wait_ready(qtbot, model)
    qtmodeltester.check(model)
    # The tester stays attached: later resets, sorts and page arrivals are checked too.
    model.sort(1, Qt.SortOrder.DescendingOrder)
    wait_ready(qtbot, model)
    model.query(BordererFilter(name="王"))
    wait_ready(qtbot, model)
    for row in range(0, model.rowCount(), 37):
        model.data(model.index(row, 0))
    qtbot.waitUntil(lambda: not model.busy, timeout=10_000)


def test_rows_arrive_page_by_page_and_the_cache_stays_small(qtbot: QtBot, store: Database) -> None:
    model = BordererTableModel(store)
    model.query(BordererFilter(sync_state=None))
    wait_ready(qtbot, model)
    assert model.rowCount() == 2005 and model.columnCount() == len(COLUMNS) == 12
    assert model.cached_pages() == 1
    last = model.index(model.rowCount() - 1, 1)
    assert model.data(last) is None  # not fetched yet: asks for the page
    with qtbot.waitSignal(model.dataChanged, timeout=10_000):
        pass
    expected = borderers.fetch_page(
        store, BordererFilter(sync_state=None), offset=model.rowCount() - 1, limit=1
    )[0]
    assert model.data(last) == expected.name
    for page in range(model.rowCount() // PAGE_SIZE + 1):
        model.data(model.index(page * PAGE_SIZE, 0))
        qtbot.waitUntil(lambda: not model.busy, timeout=10_000)
    assert model.cached_pages() <= MAX_PAGES


def test_sorting_queries_the_store(qtbot: QtBot, store: Database) -> None:
    model = BordererTableModel(store)
    model.query(BordererFilter())
    wait_ready(qtbot, model)
    model.sort(9, Qt.SortOrder.AscendingOrder)
    wait_ready(qtbot, model)
    assert model.sort_key == "valid_to"
    values = [model.data(model.index(r, 9)) for r in range(50)]
    assert values == sorted(values)
    model.sort(9, Qt.SortOrder.DescendingOrder)
    wait_ready(qtbot, model)
    values = [model.data(model.index(r, 9)) for r in range(50)]
    assert values == sorted(values, reverse=True)
    model.sort(-1)  # no sort indicator: registration order
    wait_ready(qtbot, model)
    assert model.sort_key == "id" and model.borderer(0).id == 1  # type: ignore[union-attr]


def test_results_of_an_older_query_are_dropped(qtbot: QtBot, store: Database) -> None:
    model = BordererTableModel(store)
    model.query(BordererFilter(sync_state=None))
    model.query(BordererFilter(sync_state=SyncState.UNSYNCED))
    wait_ready(qtbot, model)
    qtbot.wait(200)
    assert model.total == borderers.count(store, BordererFilter(sync_state=SyncState.UNSYNCED))
    assert all(
        model.borderer(r).sync_state is SyncState.UNSYNCED  # type: ignore[union-attr]
        for r in range(min(PAGE_SIZE, model.total))
    )
