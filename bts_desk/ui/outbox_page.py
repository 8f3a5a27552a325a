"""上传队列: the enrollments waiting for upload and the ones the service refused, with reasons.

Each row: 状态, 姓名, record id, 采集时间, 关员, 尝试次数, 原因 (the service's Chinese reason, a
network problem and when the next attempt is, or "等待关员 X 登录后上传"). 重试 sends a refused
(or postponed) enrollment again at once. Refused rows are red and listed first.

Reads and writes go through ``bts_desk.store.enrollments`` on the thread pool
(``run_in_background``); the page reloads itself when the worker's queue counts change.
GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QBrush, QColor, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from bts_desk.domain import Officer, OutboxState
from bts_desk.errors import DeskError
from bts_desk.store.db import Database
from bts_desk.store.enrollments import OutboxEntry, list_outbox, retry_refused
from bts_desk.sync.outbox import SyncStatus, SyncWorker
from bts_desk.ui.labels import QT_TRANSLATE_NOOP, field_caption, label
from bts_desk.ui.main_window import MainWindow
from bts_desk.ui.message_bar import MessageBar
from bts_desk.ui.tasks import gui_poster, run_in_background

REFUSED_BRUSH = QBrush(QColor("#d9363e"))
TITLE = QT_TRANSLATE_NOOP("OutboxPage", "Upload queue")  # 上传队列


PAGE_KEY = "outbox"


def register(
    window: MainWindow,
    db: Database,
    worker: SyncWorker | None,
    officer: Callable[[], Officer | None],
    desk_id: str,
) -> str:
    """Add 综合查询 › 上传队列 to the main window's menu; returns the page key."""
    return window.add_page(
        QCoreApplication.translate("QueryPage", "Comprehensive query"),
        page_title(),
        lambda: OutboxPage(db, worker, officer, desk_id),
        key=PAGE_KEY,
    )


def page_title() -> str:
    """The tab and menu title (translated), for ``MainWindow.add_page``."""
    return QCoreApplication.translate("OutboxPage", TITLE)


class OutboxPage(QWidget):
    """The 上传队列 tab. ``officer()`` names who presses 重试 (for the audit log)."""

    COLUMNS = 7

    def __init__(
        self,
        db: Database,
        worker: SyncWorker | None,
        officer: Callable[[], Officer | None],
        desk_id: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._db = db
        self._worker = worker
        self._officer = officer
        self._desk_id = desk_id
        self.entries: list[OutboxEntry] = []
        self._counts: tuple[int, int] | None = None
        self.summary = QLabel(self)
        self.summary.setObjectName("totalLabel")
        self.retry_button = QPushButton(self.tr("Retry"), self)
        self.retry_button.setObjectName("primaryButton")
        self.retry_button.setToolTip(self.tr("Send the selected upload again now"))
        self.retry_button.clicked.connect(self.retry_selected)
        self.refresh_button = QPushButton(self.tr("Refresh"), self)
        self.refresh_button.clicked.connect(self.reload)
        self.table = QTableWidget(0, self.COLUMNS, self)
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("State"),
                field_caption("name"),
                self.tr("Record no."),
                self.tr("Captured at"),
                self.tr("Officer"),
                self.tr("Attempts"),
                self.tr("Reason"),
            ]
        )
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(lambda *_: self.retry_selected())
        self.message = MessageBar(self)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.refresh_button)
        top.addWidget(self.retry_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        self._listener = gui_poster().wrap(self._on_status)
        if worker is not None:
            worker.add_listener(self._listener)
            self.destroyed.connect(lambda *_: worker.remove_listener(self._listener))
        self._update_buttons()
        self.reload()

    # --- data -----------------------------------------------------------------------------

    def reload(self) -> None:
        db = self._db
        run_in_background(lambda: list_outbox(db), self._show, self._failed)

    def _on_status(self, status: SyncStatus) -> None:
        counts = (status.pending, status.refused)
        if counts != self._counts and not status.busy:
            self._counts = counts
            self.reload()

    def _show(self, entries: list[OutboxEntry]) -> None:
        selected = self.selected()
        self.entries = entries
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            for column, text in enumerate(self._cells(entry)):
                item = QTableWidgetItem(text)
                if entry.state is OutboxState.REFUSED:
                    item.setForeground(REFUSED_BRUSH)
                if column == 6:
                    item.setToolTip(text)
                self.table.setItem(row, column, item)
            if selected is not None and entry.uuid == selected.uuid:
                self.table.selectRow(row)
        refused = sum(e.state is OutboxState.REFUSED for e in entries)
        self.summary.setText(
            self.tr("%n upload(s) waiting", "", len(entries) - refused)
            + "　"
            + self.tr("%n refused", "", refused)
        )
        self._update_buttons()

    def _cells(self, entry: OutboxEntry) -> list[str]:
        reason = entry.last_error
        if entry.state is OutboxState.PENDING and entry.next_attempt_at is not None:
            when = entry.next_attempt_at.astimezone().strftime("%H:%M:%S")
            reason = (
                self.tr("%1 (next attempt at %2)").replace("%2", when).replace("%1", reason or "—")
            )
        return [
            label(entry.state),
            entry.borderer_name,
            str(entry.borderer_id),
            entry.captured_at.astimezone().strftime("%Y-%m-%d %H:%M"),
            f"{entry.officer_name}（{entry.officer_id}）",
            str(entry.attempts),
            reason,
        ]

    def _failed(self, exc: BaseException) -> None:
        text = exc.user_message if isinstance(exc, DeskError) else self.tr("Operation failed")
        self.message.show_error(text)

    # --- 重试 -------------------------------------------------------------------------------

    def selected(self) -> OutboxEntry | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.entries):
            return None
        return self.entries[rows[0].row()]

    def _update_buttons(self) -> None:
        entry = self.selected()
        officer = self._officer()
        can = (
            entry is not None
            and officer is not None
            and (entry.state is OutboxState.REFUSED or entry.next_attempt_at is not None)
        )
        self.retry_button.setEnabled(can)
        if officer is None:
            self.retry_button.setToolTip(self.tr("Log in to retry uploads"))
        else:
            self.retry_button.setToolTip(self.tr("Send the selected upload again now"))

    def retry_selected(self) -> None:
        entry, officer = self.selected(), self._officer()
        if entry is None or officer is None or not self.retry_button.isEnabled():
            return
        db, desk_id, uuid = self._db, self._desk_id, entry.uuid
        self.retry_button.setEnabled(False)

        def done(_: None) -> None:
            self.message.show_info(self.tr("The upload is queued again."))
            if self._worker is not None:
                self._worker.sync_now()
            self.reload()

        run_in_background(lambda: retry_refused(db, uuid, officer, desk_id), done, self._failed)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter on a selected row = 重试 (the manual's keyboard habit: Enter acts)."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.selected() is not None:
            self.retry_selected()
            return
        super().keyPressEvent(event)
