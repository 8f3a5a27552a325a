"""操作日志: the desk's append-only audit log — who, when, which record, what.

Filters: date range (起始日期/结束日期), 操作 type and an officer number; newest first, a page
of rows at a time (上一页/下一页). Reads through ``bts_desk.store.audit.query_audit`` on the
thread pool. Read-only by design: the log cannot be edited. GUI thread.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QCoreApplication, QDate, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from bts_desk.errors import DeskError
from bts_desk.store.audit import AuditAction, AuditEntry, query_audit
from bts_desk.store.db import Database
from bts_desk.ui.labels import QT_TRANSLATE_NOOP, all_label, field_caption
from bts_desk.ui.main_window import MainWindow
from bts_desk.ui.message_bar import MessageBar
from bts_desk.ui.tasks import run_in_background

PAGE_ROWS = 200
TITLE = QT_TRANSLATE_NOOP("AuditPage", "Operation log")  # 操作日志


PAGE_KEY = "audit"


def register(window: MainWindow, db: Database) -> str:
    """Add 综合查询 › 操作日志 to the main window's menu; returns the page key."""
    return window.add_page(
        QCoreApplication.translate("QueryPage", "Comprehensive query"),
        page_title(),
        lambda: AuditPage(db),
        key=PAGE_KEY,
    )


def page_title() -> str:
    """The tab and menu title (translated), for ``MainWindow.add_page``."""
    return QCoreApplication.translate("AuditPage", TITLE)


ACTION_LABELS = {
    AuditAction.VIEW_DETAIL: QT_TRANSLATE_NOOP("AuditPage", "Viewed details"),
    AuditAction.ENROLL: QT_TRANSLATE_NOOP("AuditPage", "Biometric enrollment"),
    AuditAction.UPLOAD_REFUSED: QT_TRANSLATE_NOOP("AuditPage", "Upload refused"),
    AuditAction.UPLOAD_RETRY: QT_TRANSLATE_NOOP("AuditPage", "Upload retried"),
    AuditAction.UPLOAD_ACKNOWLEDGED: QT_TRANSLATE_NOOP("AuditPage", "Upload acknowledged"),
    AuditAction.LOGIN: QT_TRANSLATE_NOOP("AuditPage", "Logged in"),
    AuditAction.LOGOUT: QT_TRANSLATE_NOOP("AuditPage", "Logged out"),
    AuditAction.WRONG_PIN: QT_TRANSLATE_NOOP("AuditPage", "Wrong PIN"),
    AuditAction.CARD_BLOCKED: QT_TRANSLATE_NOOP("AuditPage", "Card blocked"),
    AuditAction.LOCK: QT_TRANSLATE_NOOP("AuditPage", "Locked"),
    AuditAction.UNLOCK: QT_TRANSLATE_NOOP("AuditPage", "Unlocked"),
    AuditAction.SEARCH: QT_TRANSLATE_NOOP("AuditPage", "Search"),
    AuditAction.PULL: QT_TRANSLATE_NOOP("AuditPage", "Records pulled"),
    AuditAction.DISTRICTS: QT_TRANSLATE_NOOP("AuditPage", "Districts changed"),
    AuditAction.VERIFY_PASS: QT_TRANSLATE_NOOP("AuditPage", "Verification passed"),
    AuditAction.VERIFY_FAIL: QT_TRANSLATE_NOOP("AuditPage", "Verification failed"),
    AuditAction.VERIFY_REFUSED: QT_TRANSLATE_NOOP("AuditPage", "Verification not possible"),
}


class AuditPage(QWidget):
    """The 操作日志 tab."""

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self._offset = 0
        self.entries: list[AuditEntry] = []
        today = QDate.currentDate()
        self.date_from = QDateEdit(today.addDays(-30), self)
        self.date_to = QDateEdit(today, self)
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        self.action = QComboBox(self)
        self.action.addItem(all_label(), "")
        for code, source in ACTION_LABELS.items():
            self.action.addItem(self.tr(source), str(code))
        self.officer = QLineEdit(self)
        self.officer.setPlaceholderText(self.tr("Officer no."))
        self.officer.setClearButtonEnabled(True)
        self.officer.returnPressed.connect(self.search)
        self.search_button = QPushButton(self.tr("Search"), self)
        self.search_button.setObjectName("primaryButton")
        self.search_button.setDefault(True)
        self.search_button.clicked.connect(self.search)
        self.prev_button = QPushButton(self.tr("Previous page"), self)
        self.prev_button.clicked.connect(lambda: self._load(max(0, self._offset - PAGE_ROWS)))
        self.next_button = QPushButton(self.tr("Next page"), self)
        self.next_button.clicked.connect(lambda: self._load(self._offset + PAGE_ROWS))
        self.summary = QLabel(self)
        self.summary.setObjectName("totalLabel")
        self.table = self._build_table()
        self.message = MessageBar(self)
        form = QHBoxLayout()
        for text, widget in (
            (self.tr("From"), self.date_from),
            (self.tr("To"), self.date_to),
            (self.tr("Action"), self.action),
        ):
            form.addWidget(QLabel(text, self))
            form.addWidget(widget)
        form.addWidget(self.officer)
        form.addWidget(self.search_button)
        form.addStretch(1)
        pager = QHBoxLayout()
        pager.addWidget(self.summary, 1)
        pager.addWidget(self.prev_button)
        pager.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.table, 1)
        layout.addLayout(pager)
        layout.addWidget(self.message)
        self.search()

    def _build_table(self) -> QTableWidget:
        table = QTableWidget(0, 6, self)
        table.setHorizontalHeaderLabels(
            [
                self.tr("Time"),
                self.tr("Officer"),
                self.tr("Action"),
                self.tr("Record no."),
                field_caption("name"),
                self.tr("Details"),
            ]
        )
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setAlternatingRowColors(True)
        table.verticalHeader().hide()
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        return table

    def search(self) -> None:
        """查询 from the first page with the current filters."""
        if self.date_from.date() > self.date_to.date():
            self.message.show_error(self.tr("The start date is after the end date."))
            return
        self.message.clear()
        self._load(0)

    def _load(self, offset: int) -> None:
        db = self._db
        since = _start_of(self.date_from.date())
        until = _start_of(self.date_to.date().addDays(1))
        action = str(self.action.currentData() or "")
        officer = self.officer.text().strip()
        self.search_button.setEnabled(False)

        def task() -> list[AuditEntry]:
            return query_audit(
                db,
                since=since,
                until=until,
                action=action or None,
                officer_id=officer or None,
                limit=PAGE_ROWS + 1,  # one more tells whether there is a next page
                offset=offset,
            )

        run_in_background(task, lambda rows: self._show(offset, rows), self._failed)

    def _show(self, offset: int, rows: list[AuditEntry]) -> None:
        self.search_button.setEnabled(True)
        self._offset = offset
        self.entries = rows[:PAGE_ROWS]
        self.table.setRowCount(len(self.entries))
        for row, entry in enumerate(self.entries):
            cells = [
                entry.at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                f"{entry.officer_name}（{entry.officer_id}）",
                self.action_text(entry.action),
                "" if entry.borderer_id is None else str(entry.borderer_id),
                entry.borderer_name,
                entry.detail,
            ]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 5:
                    item.setToolTip(text)
                if column == 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(row, column, item)
        first = offset + 1 if self.entries else 0
        last = offset + len(self.entries)
        text = self.tr("Entries %1–%2").replace("%1", str(first)).replace("%2", str(last))
        self.summary.setText(text)
        self.prev_button.setEnabled(offset > 0)
        self.next_button.setEnabled(len(rows) > PAGE_ROWS)

    def action_text(self, code: str) -> str:
        source = ACTION_LABELS.get(AuditAction(code)) if code in set(AuditAction) else None
        return self.tr(source) if source else code

    def _failed(self, exc: BaseException) -> None:
        self.search_button.setEnabled(True)
        text = exc.user_message if isinstance(exc, DeskError) else self.tr("Operation failed")
        self.message.show_error(text)


def _start_of(day: QDate) -> dt.datetime:
    """Local midnight of ``day`` as an aware UTC time (the log stores UTC)."""
    local = dt.datetime(day.year(), day.month(), day.day()).astimezone()
    return local.astimezone(dt.UTC)
