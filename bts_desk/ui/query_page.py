"""边民备案查询: the filter form, the lazy table, 详情 and 补录 (manual 3.2).

Keyboard as the manual insists (2.3): Enter moves to the next input (and confirms the
highlighted choice of an open drop-down: the drop-down's own list handles that key), Enter in
the last filter runs the query, Tab moves on, Backspace in a drop-down opens its list. Invalid
input shows the red message bar and the query does not run.

GUI thread only; every store call runs on a worker (the model's pool, ``run_in_background``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from bts_desk.domain import (
    BioException,
    BioFlag,
    Borderer,
    BordererFilter,
    EnableState,
    Gender,
    LabelledEnum,
    RecordState,
    SyncState,
)
from bts_desk.errors import DeskError
from bts_desk.store import borderers, enrollments, sync_state
from bts_desk.store.db import Database
from bts_desk.ui.borderer_model import COLUMNS, BordererTableModel
from bts_desk.ui.date_field import DateField
from bts_desk.ui.details_dialog import DetailsDialog
from bts_desk.ui.fields import FieldKind, set_field_kind
from bts_desk.ui.labels import all_label, field_caption, label
from bts_desk.ui.main_window import MainWindow
from bts_desk.ui.message_bar import MessageBar
from bts_desk.ui.tasks import run_in_background

log = logging.getLogger(__name__)

E = TypeVar("E", bound=LabelledEnum)
PAGE_KEY = "borderer_query"
HIDDEN_COLUMNS_KEY = "borderer_query/hidden_columns"
_ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


class FormKeyboard(QObject):
    """Enter/Backspace rules of the manual for an ordered list of inputs (event filter)."""

    submitted = Signal()

    def __init__(self, inputs: list[QWidget], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._inputs = inputs
        for widget in inputs:
            widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or watched not in self._inputs:
            return False
        assert isinstance(event, QKeyEvent)
        key, mods = event.key(), event.modifiers()
        if key in _ENTER_KEYS and mods in (
            Qt.KeyboardModifier.NoModifier,
            Qt.KeyboardModifier.KeypadModifier,
        ):
            self._advance(self._inputs.index(watched))
            return True
        # A drop-down holds no typed text (unless editable): Backspace opens its list.
        is_combo = isinstance(watched, QComboBox)
        if key == Qt.Key.Key_Backspace and is_combo and _empty_or_fixed(watched):
            watched.showPopup()  # type: ignore[attr-defined]
            return True
        return False

    def _advance(self, position: int) -> None:
        for widget in self._inputs[position + 1 :]:
            if widget.isEnabled() and widget.isVisible():
                widget.setFocus(Qt.FocusReason.TabFocusReason)
                if isinstance(widget, QLineEdit):
                    widget.selectAll()
                return
        self.submitted.emit()


def _empty_or_fixed(combo: QObject) -> bool:
    assert isinstance(combo, QComboBox)
    return not combo.isEditable() or not combo.currentText()


def _choices(combo: QComboBox, members: list[LabelledEnum], default: str | None = None) -> None:
    """全部 (no condition) plus one item per member; item data is the member's code (Qt turns
    a str-based enum into a plain str anyway), decoded again by ``_chosen``."""
    combo.addItem(all_label(), None)
    for member in members:
        combo.addItem(label(member), member.value)
    combo.setProperty("default_data", default)
    combo.setCurrentIndex(max(0, combo.findData(default)))


def _chosen(combo: QComboBox, kind: type[E]) -> E | None:
    code = combo.currentData()
    return None if code is None else borderers.decode(kind, str(code))


class QueryPage(QWidget):
    """The 边民备案查询 tab. Signals carry record ids for the lead's wiring (audit, 补录)."""

    # Record ids are the sync service's 64-bit ids: Signal(int) would be a 32-bit C++ int.
    enroll_requested = Signal("qint64")  # type: ignore[arg-type]  # 补录 on an enrollable record
    details_viewed = Signal("qint64")  # type: ignore[arg-type]  # 详情 shown (for the audit log)
    searched = Signal(object)  # the BordererFilter of each 查询 run (for the audit log)
    verify_requested = Signal("qint64")  # type: ignore[arg-type]  # 核验 of a record with fingers

    def __init__(self, db: Database, ui_state: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("queryPage")
        self._db = db
        self._ui_state = ui_state
        self.model = BordererTableModel(db, self)
        self.message_bar = MessageBar(self)
        self._build_form()
        self._build_table()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 0)
        layout.addWidget(self.form_box)
        layout.addLayout(self._build_actions())
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message_bar)
        self.keyboard = FormKeyboard(self.inputs, self)
        self.keyboard.submitted.connect(self.run_query)
        self.model.count_changed.connect(self._show_total)
        self.model.page_loaded.connect(lambda _row: self._update_buttons())
        self.model.failed.connect(self.message_bar.show_error)
        self.model.modelReset.connect(self._update_buttons)
        self._restore_columns()
        self._load_customs_codes()
        self._update_buttons()
        QTimer.singleShot(0, self, self.run_query)  # cancelled if the tab is closed first

    # --- building ------------------------------------------------------------------------

    def _build_form(self) -> None:
        self.form_box = QGroupBox(self.tr("Query conditions"), self)
        self.sync_combo = QComboBox(self.form_box)
        _choices(self.sync_combo, list(SyncState), SyncState.SYNCED.value)
        self.customs_combo = QComboBox(self.form_box)
        _choices(self.customs_combo, [])
        self.name_edit = QLineEdit(self.form_box)
        self.name_edit.setPlaceholderText(self.tr("Name, or the full ID number"))
        self.name_edit.setMaxLength(64)
        self.gender_combo = QComboBox(self.form_box)
        _choices(self.gender_combo, list(Gender))
        self.bio_combo = QComboBox(self.form_box)
        _choices(self.bio_combo, list(BioFlag))
        self.enable_combo = QComboBox(self.form_box)
        _choices(self.enable_combo, list(EnableState))
        self.date_from = DateField(self.form_box)
        self.date_to = DateField(self.form_box)
        self.query_button = QPushButton(self.tr("Query"), self.form_box)
        self.query_button.setObjectName("primaryButton")
        self.query_button.clicked.connect(self.run_query)
        self.reset_button = QPushButton(self.tr("Reset"), self.form_box)
        self.reset_button.clicked.connect(self.reset)
        for button in (self.query_button, self.reset_button):
            button.setAutoDefault(True)  # Enter on a focused button presses it (manual 2.3)
        self.inputs: list[QWidget] = [
            self.sync_combo, self.customs_combo, self.name_edit, self.gender_combo,
            self.bio_combo, self.enable_combo, self.date_from, self.date_to,
        ]  # fmt: skip
        for widget in self.inputs:
            set_field_kind(widget, FieldKind.OPTIONAL)
            widget.setMinimumWidth(150)
        for first, second in zip(self.inputs, [*self.inputs[1:], self.query_button], strict=True):
            QWidget.setTabOrder(first, second)
        QWidget.setTabOrder(self.query_button, self.reset_button)
        grid = QGridLayout(self.form_box)
        grid.setHorizontalSpacing(10)
        captions = [
            field_caption(key)
            for key in (
                "sync_state", "customs_code", "name", "gender", "bio_flag", "enable_state",
                "last_op_date",
            )
        ]  # fmt: skip
        for i, widget in enumerate(self.inputs[:6]):
            self._add_field(grid, i // 4, (i % 4) * 2, captions[i], widget)
        dates = QHBoxLayout()
        dates.addWidget(self.date_from)
        dates.addWidget(QLabel(self.tr("to"), self.form_box))
        dates.addWidget(self.date_to)
        self._add_field(grid, 1, 4, captions[6], None)
        grid.addLayout(dates, 1, 5, 1, 3)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.query_button)
        buttons.addWidget(self.reset_button)
        buttons.addStretch(1)
        grid.addLayout(buttons, 2, 0, 1, 8)

    def _add_field(
        self, grid: QGridLayout, row: int, col: int, caption: str, widget: QWidget | None
    ) -> None:
        text = QLabel(caption, self.form_box)
        text.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        grid.addWidget(text, row, col)
        if widget is not None:
            text.setBuddy(widget)
            grid.addWidget(widget, row, col + 1)

    def _build_actions(self) -> QHBoxLayout:
        self.details_button = QPushButton(self.tr("Details"), self)
        self.details_button.clicked.connect(self.show_details)
        self.enroll_button = QPushButton(self.tr("Enroll biometrics"), self)
        self.enroll_button.setObjectName("primaryButton")
        self.enroll_button.clicked.connect(self._enroll)
        self.verify_button = QPushButton(self.tr("Verify"), self)
        self.verify_button.setObjectName("verifyButton")
        self.verify_button.clicked.connect(self._verify)
        self.details_button.setAutoDefault(True)
        self.enroll_button.setAutoDefault(True)
        self.verify_button.setAutoDefault(True)
        self.total_label = QLabel(self)
        self.total_label.setObjectName("totalLabel")
        self.districts_label = QLabel(self)  # the districts the sync service grants this desk
        self.districts_label.setObjectName("districtsLabel")
        self.columns_button = QToolButton(self)
        self.columns_button.setText(self.tr("Choose columns"))
        self.columns_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.columns_menu = QMenu(self.columns_button)
        self.column_actions: list[QAction] = []
        for i, column in enumerate(COLUMNS):
            action = QAction(column.title, self.columns_menu)
            action.setCheckable(True)
            action.setChecked(True)
            action.toggled.connect(lambda on, i=i: self._set_column_visible(i, on))
            self.columns_menu.addAction(action)
            self.column_actions.append(action)
        self.columns_button.setMenu(self.columns_menu)
        row = QHBoxLayout()
        row.addWidget(self.details_button)
        row.addWidget(self.enroll_button)
        row.addWidget(self.verify_button)
        row.addStretch(1)
        row.addWidget(self.districts_label)
        row.addWidget(self.total_label)
        row.addWidget(self.columns_button)
        return row

    def _build_table(self) -> None:
        self.table = QTableView(self)
        self.table.setObjectName("bordererTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setSortingEnabled(True)
        self.table.verticalHeader().setDefaultSectionSize(28)
        widths = (80, 90, 50, 120, 300, 115, 115, 60, 110, 95, 130, 80)
        for i, width in enumerate(widths):
            self.table.setColumnWidth(i, width)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.table.activated.connect(lambda _index: self.show_details())

    # --- the form --------------------------------------------------------------------------

    def current_filter(self) -> BordererFilter:
        """The form as a filter; raises ValueError with the English text of a bad date."""
        try:
            start, end = self.date_from.value(), self.date_to.value()
        except ValueError:
            raise ValueError("Dates must be written as yyyy-MM-dd.") from None
        return BordererFilter(
            sync_state=_chosen(self.sync_combo, SyncState),
            customs_code=self.customs_combo.currentData(),
            name=self.name_edit.text().strip() or None,
            gender=_chosen(self.gender_combo, Gender),
            bio_flag=_chosen(self.bio_combo, BioFlag),
            enable_state=_chosen(self.enable_combo, EnableState),
            last_op_from=start,
            last_op_to=end,
        )

    @Slot()
    def run_query(self) -> None:
        """查询: validate the form; on a problem show the red bar and do not query."""
        try:
            flt = self.current_filter()
        except ValueError:
            self.message_bar.show_error(self.tr("Dates must be written as yyyy-MM-dd."))
            return
        if flt.validation_error():
            self.message_bar.show_error(self.tr("The start date is after the end date."))
            return
        self.message_bar.clear()
        self.total_label.setText(self.tr("Searching…"))
        self.model.query(flt)
        self.searched.emit(flt)

    @Slot()
    def reset(self) -> None:
        """重置: every filter back to its default (同步状态 已同步海关, others 全部); query."""
        for combo in (self.sync_combo, self.customs_combo, self.gender_combo):
            combo.setCurrentIndex(max(0, combo.findData(combo.property("default_data"))))
        for combo in (self.bio_combo, self.enable_combo):
            combo.setCurrentIndex(0)
        for edit in (self.name_edit, self.date_from, self.date_to):
            edit.clear()
        self.sync_combo.setFocus()
        self.run_query()

    @Slot()
    def refresh(self) -> None:
        """Run the current query again (after a 补录 or a sync pull)."""
        self.model.refresh()
        self._load_districts()

    def _load_districts(self) -> None:
        run_in_background(
            lambda: sync_state.granted_districts(self._db),
            self._show_districts,
            lambda exc: log.warning("cannot read the granted districts: %s", exc),
        )

    def _show_districts(self, districts: tuple[str, ...]) -> None:
        if not isValid(self):
            return
        self.districts_label.setVisible(bool(districts))
        text = self.tr("Districts held: %1").replace("%1", "、".join(districts))
        self.districts_label.setText(text)

    def _load_customs_codes(self) -> None:
        self._load_districts()
        run_in_background(
            lambda: borderers.customs_codes(self._db),
            self._set_customs_codes,
            lambda exc: log.warning("cannot list customs codes: %s", exc),
        )

    def _set_customs_codes(self, codes: list[str]) -> None:
        if not isValid(self):  # the tab was closed while the codes were being read
            return
        current = self.customs_combo.currentData()
        while self.customs_combo.count() > 1:
            self.customs_combo.removeItem(1)
        for code in codes:
            self.customs_combo.addItem(code, code)
        self.customs_combo.setCurrentIndex(max(0, self.customs_combo.findData(current)))

    def _show_total(self, total: int) -> None:
        self.total_label.setText(self.tr("%1 records").replace("%1", f"{total:,}"))

    # --- selection, 详情, 补录 -----------------------------------------------------------

    def selected_borderer(self) -> Borderer | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.borderer(rows[0].row()) if rows else None

    def _update_buttons(self) -> None:
        borderer = self.selected_borderer()
        self.details_button.setEnabled(borderer is not None)
        reason = self._enroll_refusal(borderer)
        self.enroll_button.setEnabled(reason is None)
        self.enroll_button.setToolTip(reason or self.tr("Enroll fingerprints and face"))
        fingers = borderer is not None and borderer.bio_flag.has_finger
        self.verify_button.setEnabled(fingers)
        self.verify_button.setToolTip(
            self.tr("Check the borderer's finger against the enrolled one")
            if fingers
            else self.tr("Only records with fingerprints can be verified.")
        )

    def _enroll_refusal(self, borderer: Borderer | None) -> str | None:
        if borderer is None:
            return self.tr("Select a record first.")
        if borderer.state is not RecordState.NORMAL:
            return self.tr("Only records whose state is Normal can be enrolled.")
        if borderer.sync_state is not SyncState.SYNCED:
            return self.tr("Only records synced with customs can be enrolled.")
        return None

    @Slot()
    def show_details(self) -> None:
        borderer = self.selected_borderer()
        if borderer is None:
            return
        self.details_viewed.emit(borderer.id)
        db = self._db
        run_in_background(
            lambda: enrollments.exceptions_of(db, borderer.id),
            lambda found: self._open_details(borderer, found),
            self._details_failed,
        )

    def _open_details(self, borderer: Borderer, exceptions: tuple[BioException, ...]) -> None:
        """详情 with the 无法采集 / 无法拍照 entries of the record's newest 补录 here."""
        if not isValid(self):  # the tab was closed meanwhile
            return
        dialog = DetailsDialog(borderer, self, exceptions)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def _details_failed(self, exc: BaseException) -> None:
        if isinstance(exc, DeskError):
            self.message_bar.show_error(exc.user_message)
        else:
            log.error("details could not be loaded", exc_info=exc)

    def _enroll(self) -> None:
        borderer = self.selected_borderer()
        if borderer is not None and borderer.can_enroll:
            self.enroll_requested.emit(borderer.id)

    def _verify(self) -> None:
        borderer = self.selected_borderer()
        if borderer is not None and borderer.bio_flag.has_finger:
            self.verify_requested.emit(borderer.id)

    # --- 选择显示列 ---------------------------------------------------------------------

    def _set_column_visible(self, column: int, visible: bool) -> None:
        shown = [not self.table.isColumnHidden(i) for i in range(len(COLUMNS))]
        if not visible and sum(shown) <= 1 and shown[column]:
            self.column_actions[column].setChecked(True)  # keep at least one column
            return
        self.table.setColumnHidden(column, not visible)
        hidden = [c.key for i, c in enumerate(COLUMNS) if self.table.isColumnHidden(i)]
        self._ui_state.setValue(HIDDEN_COLUMNS_KEY, hidden)
        self._ui_state.sync()

    def _restore_columns(self) -> None:
        stored: Any = self._ui_state.value(HIDDEN_COLUMNS_KEY, [])
        hidden = {stored} if isinstance(stored, str) else set(stored or [])
        for i, column in enumerate(COLUMNS):
            if column.key in hidden:
                self.column_actions[i].setChecked(False)

    def hidden_columns(self) -> list[str]:
        return [c.key for i, c in enumerate(COLUMNS) if self.table.isColumnHidden(i)]

    def show_error(self, error: DeskError) -> None:
        """Show a core error in the red bar (for code that calls the store on this page)."""
        self.message_bar.show_error(error.user_message)


def menu_group() -> str:
    """综合查询: the menu group of the query screens (操作日志 and others may join it)."""
    return QCoreApplication.translate("QueryPage", "Comprehensive query")


def register(
    window: MainWindow,
    db: Database,
    ui_state: QSettings,
    on_created: Callable[[QueryPage], None] | None = None,
) -> str:
    """Add 综合查询 › 边民备案查询 to the main window's menu; returns the page key.

    ``on_created(page)`` runs each time the tab is built (it is rebuilt after being closed):
    the place to connect ``enroll_requested``, ``details_viewed`` and ``refresh``."""

    def build() -> QueryPage:
        page = QueryPage(db, ui_state)
        if on_created is not None:
            on_created(page)
        return page

    return window.add_page(
        menu_group(),
        QCoreApplication.translate("QueryPage", "Borderer record query"),
        build,
        key=PAGE_KEY,
    )
