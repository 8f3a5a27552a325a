"""Lazy table model of 边民备案查询: a count plus pages fetched on demand, never all matches.

``query(filter)`` counts the matches on a worker thread; the view then asks for the rows it
shows, and each missing page (``PAGE_SIZE`` rows) is fetched on a worker thread and kept in a
small LRU cache (``MAX_PAGES``), so memory stays flat on a million-row store. Results of an
older query (a newer filter or sort was set meanwhile) are dropped by a generation counter.

The model lives on the GUI thread; the store calls run on its own two-thread pool.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from shiboken6 import isValid

from bts_desk.domain import Borderer, BordererFilter, LabelledEnum, SortOrder
from bts_desk.errors import DeskError
from bts_desk.store import borderers
from bts_desk.store.db import Database
from bts_desk.ui.labels import date_text, field_caption, label
from bts_desk.ui.tasks import run_in_background

log = logging.getLogger(__name__)

PAGE_SIZE: Final = 200
MAX_PAGES: Final = 12

AnyIndex = QModelIndex | QPersistentModelIndex
_ROLES: Final = frozenset({Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.UserRole})


@dataclass(frozen=True)
class Column:
    """A table column: the ``domain.Borderer`` field it shows (also its sort key)."""

    key: str

    @property
    def title(self) -> str:
        return field_caption(self.key)


# The manual's 12 columns, in its order (captions: labels.FIELD_CAPTIONS).
COLUMNS: Final[tuple[Column, ...]] = (
    Column("customs_code"),
    Column("name"),
    Column("gender"),
    Column("id_number_masked"),
    Column("address"),
    Column("id_valid_from"),
    Column("id_valid_to"),
    Column("state"),
    Column("data_source"),
    Column("valid_to"),
    Column("bio_flag"),
    Column("enable_state"),
)


def cell_text(borderer: Borderer, key: str) -> str:
    """What a cell shows for one field: enum labels translated, dates ISO."""
    value = getattr(borderer, key)
    if isinstance(value, LabelledEnum):
        return label(value)
    if value is None or isinstance(value, str):
        return value or ""
    return date_text(value)


class BordererTableModel(QAbstractTableModel):
    """Rows of the current query; cells of pages not yet fetched are empty until they arrive.

    Signals (GUI thread): ``count_changed(total)`` after each count, ``page_loaded(first_row)``
    when a page arrives, ``failed(user_message)`` when the store reports an error."""

    count_changed = Signal(int)
    page_loaded = Signal(int)
    failed = Signal(str)

    def __init__(self, db: Database, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._db = db
        # its own two threads: a slow count never holds up the saves and checks elsewhere
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bts-query")
        pool = self._pool  # not self: the lambda outlives the C++ object
        self.destroyed.connect(lambda: pool.shutdown(wait=False, cancel_futures=True))
        self._filter: BordererFilter | None = None
        self._sort_key = "id"
        self._order = SortOrder.ASCENDING
        self._generation = 0
        self._total = 0
        self._counting = False
        self._pages: OrderedDict[int, list[Borderer]] = OrderedDict()
        self._pending: set[int] = set()

    # --- queries ---------------------------------------------------------------------------

    @property
    def current_filter(self) -> BordererFilter | None:
        return self._filter

    @property
    def total(self) -> int:
        return self._total

    @property
    def busy(self) -> bool:
        """True while the count or a page of the current query is still being fetched."""
        return self._counting or bool(self._pending)

    @property
    def ready(self) -> bool:
        """True once the current query's count and first page (if any rows) have arrived."""
        if self._filter is None or self._counting:
            return False
        return self._total == 0 or 0 in self._pages

    @property
    def sort_key(self) -> str:
        return self._sort_key

    def query(self, flt: BordererFilter) -> None:
        """Run ``flt``: clear the rows, count on a worker, prefetch the first page."""
        self._filter = flt
        self._restart()

    def refresh(self) -> None:
        """Run the current query again (after a 补录 or a sync pull changed rows, or a new
        sort). The rows shown stay until the new count and first page are both in. When the
        same records come back in the same places (a 补录 changes one record's 生物标识),
        only the rows that changed are updated and the other cached pages are fetched again
        in place; otherwise one reset shows the new rows. A reset repaints and lays out the
        whole table, ~100 ms of the GUI thread on a desk (soak_bench's stalls after 保存)."""
        if self._filter is None:
            return
        self._generation += 1
        generation, flt = self._generation, self._filter
        sort, order = self._sort_key, self._order
        self._counting = True

        def count_and_first_page() -> tuple[int, list[Borderer]]:  # a pool thread
            total = borderers.count(self._db, flt)
            if not total:
                return 0, []
            rows = borderers.fetch_page(
                self._db, flt, sort=sort, order=order, offset=0, limit=PAGE_SIZE
            )
            return total, rows

        run_in_background(
            count_and_first_page,
            lambda result: self._refreshed(generation, *result),
            lambda exc: self._failed(generation, exc),
            pool=self._pool,
        )

    def _refreshed(self, generation: int, total: int, rows: list[Borderer]) -> None:
        if not self._current(generation):
            return
        self._counting = False
        if self._same_places(total, rows):
            self._update_in_place(rows)
            return
        self.beginResetModel()
        self._total = total
        self._pages.clear()
        self._pending.clear()
        if rows:
            self._pages[0] = rows
        self.endResetModel()
        self.count_changed.emit(total)
        if rows:
            self.page_loaded.emit(0)

    def _same_places(self, total: int, rows: list[Borderer]) -> bool:
        """The refreshed first page holds the records shown before, in the same rows."""
        shown = self._pages.get(0)
        return (
            total == self._total
            and shown is not None
            and [b.id for b in shown] == [b.id for b in rows]
        )

    def _update_in_place(self, rows: list[Borderer]) -> None:
        """New values for the first page, one ``dataChanged`` over the rows that differ; the
        other cached pages keep showing until their fresh copies arrive."""
        changed = [
            i for i, (old, new) in enumerate(zip(self._pages[0], rows, strict=True)) if old != new
        ]
        self._pages[0] = rows
        if changed:
            self.dataChanged.emit(
                self.index(changed[0], 0),
                self.index(changed[-1], len(COLUMNS) - 1),
                [Qt.ItemDataRole.DisplayRole],
            )
        for page in [p for p in self._pages if p != 0]:
            self._request_page(page, again=True)
        self.count_changed.emit(self._total)
        self.page_loaded.emit(0)

    def _restart(self) -> None:
        assert self._filter is not None
        self._generation += 1
        generation, flt = self._generation, self._filter
        self.beginResetModel()
        self._total = 0
        self._pages.clear()
        self._pending.clear()
        self.endResetModel()
        self._counting = True
        run_in_background(
            lambda: borderers.count(self._db, flt),
            lambda total: self._counted(generation, total),
            lambda exc: self._failed(generation, exc),
            pool=self._pool,
        )
        self._request_page(0)

    def _current(self, generation: int) -> bool:
        """A worker's result still matters: same query, and the model was not deleted."""
        return generation == self._generation and isValid(self)

    def _counted(self, generation: int, total: int) -> None:
        if not self._current(generation):
            return
        self._counting = False
        self.beginResetModel()
        self._total = total
        self.endResetModel()
        self.count_changed.emit(total)

    def _failed(self, generation: int, exc: BaseException) -> None:
        if not self._current(generation):
            return
        self._counting = False
        self._pending.clear()
        if isinstance(exc, DeskError):
            log.error("borderer query failed: %s", exc.detail)
            self.failed.emit(exc.user_message)
        else:
            log.error("borderer query failed", exc_info=exc)
            self.failed.emit(QCoreApplication.translate("BordererTableModel", "Query failed."))

    # --- pages -----------------------------------------------------------------------------

    def _request_page(self, page: int, *, again: bool = False) -> None:
        """Fetch ``page`` on the pool; ``again``: also when cached (it shows until replaced)."""
        if self._filter is None or page in self._pending or (page in self._pages and not again):
            return
        self._pending.add(page)
        generation, flt = self._generation, self._filter
        sort, order = self._sort_key, self._order
        run_in_background(
            lambda: borderers.fetch_page(
                self._db, flt, sort=sort, order=order, offset=page * PAGE_SIZE, limit=PAGE_SIZE
            ),
            lambda rows: self._page_arrived(generation, page, rows),
            lambda exc: self._failed(generation, exc),
            pool=self._pool,
        )

    def _page_arrived(self, generation: int, page: int, rows: list[Borderer]) -> None:
        if not self._current(generation):
            return
        self._pending.discard(page)
        self._pages[page] = rows
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        first = page * PAGE_SIZE
        last = min(first + len(rows), self._total) - 1
        if last >= first:
            self.dataChanged.emit(
                self.index(first, 0),
                self.index(last, len(COLUMNS) - 1),
                [Qt.ItemDataRole.DisplayRole],
            )
        self.page_loaded.emit(first)

    def borderer(self, row: int) -> Borderer | None:
        """The record shown in ``row`` if its page is loaded (no fetch is started)."""
        rows = self._pages.get(row // PAGE_SIZE)
        if rows is None:
            return None
        offset = row % PAGE_SIZE
        return rows[offset] if offset < len(rows) else None

    def cached_pages(self) -> int:
        return len(self._pages)

    # --- QAbstractTableModel ------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._total

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # The view asks every cell for a dozen roles at each paint: the others return first.
        if role not in _ROLES or not index.isValid() or not 0 <= index.row() < self._total:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            page = index.row() // PAGE_SIZE
            rows = self._pages.get(page)
            if rows is None:
                self._request_page(page)
                return None
            self._pages.move_to_end(page)
            offset = index.row() % PAGE_SIZE
            if offset >= len(rows):
                return None
            return cell_text(rows[offset], COLUMNS[index.column()].key)
        if role == Qt.ItemDataRole.UserRole:
            return self.borderer(index.row())
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section].title if 0 <= section < len(COLUMNS) else None
        return str(section + 1)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by a column in the store (a new query; the first page comes back sorted)."""
        if not 0 <= column < len(COLUMNS):
            key, new_order = "id", SortOrder.ASCENDING
        else:
            key = COLUMNS[column].key
            descending = order == Qt.SortOrder.DescendingOrder
            new_order = SortOrder.DESCENDING if descending else SortOrder.ASCENDING
        if (key, new_order) == (self._sort_key, self._order):
            return
        self._sort_key, self._order = key, new_order
        self.refresh()
