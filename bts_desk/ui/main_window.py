"""The desk's main window as the manual describes it (通用功能).

Header (system name, the officer, 退出), a left menu (综合查询 › 边民备案查询 …) that folds and
unfolds (折叠/展开菜单, the button at the top left of the display area), a tab area where each
menu entry opens or focuses its tab (scroll arrows when tabs overflow, 关闭全部选项卡 /
关闭其他选项卡 in the close menu at the top right), and a status bar other parts add widgets to.

Other screens register themselves with ``add_page(group, title, factory)``. GUI thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QTabWidget,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from bts_desk.ui.labels import QT_TRANSLATE_NOOP

if TYPE_CHECKING:  # domain is not needed before the first window is shown
    from bts_desk.domain import Officer

log = logging.getLogger(__name__)

PageFactory = Callable[[], QWidget]
OPENING_STORE = QT_TRANSLATE_NOOP("MainWindow", "Opening the database…")
_KEY_ROLE = Qt.ItemDataRole.UserRole


@dataclass
class _Page:
    key: str
    title: str
    factory: PageFactory
    item: QTreeWidgetItem
    widget: QWidget | None = None


class MainWindow(QMainWindow):
    """Shell of the desk. ``logout_requested`` is emitted by 退出 (the card session ends)."""

    logout_requested = Signal()
    page_opened = Signal(str)  # key of a page whose tab was opened or focused

    def __init__(self, officer: Officer | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle(self.tr("Border Trade Service"))
        self._pages: dict[str, _Page] = {}
        self._groups: dict[str, QTreeWidgetItem] = {}
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._build_header())
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        body.addWidget(self._build_menu())
        body.addWidget(self._build_tabs(), 1)
        layout.addLayout(body, 1)
        self.setCentralWidget(central)
        self.statusBar().setObjectName("statusBar")
        self.set_officer(officer)
        self.resize(1360, 820)

    # --- building ------------------------------------------------------------------------

    def _build_header(self) -> QFrame:
        header = QFrame(self)
        header.setObjectName("header")
        self.system_label = QLabel(self.tr("Border Trade Service"), header)
        self.system_label.setObjectName("systemName")
        self.officer_label = QLabel(header)
        self.officer_label.setObjectName("officerLabel")
        self.logout_button = QPushButton(self.tr("Log out"), header)
        self.logout_button.setObjectName("logoutButton")
        self.logout_button.clicked.connect(self.logout_requested)
        row = QHBoxLayout(header)
        row.setContentsMargins(16, 8, 16, 8)
        row.addWidget(self.system_label)
        row.addStretch(1)
        row.addWidget(self.officer_label)
        row.addSpacing(12)
        row.addWidget(self.logout_button)
        return header

    def _build_menu(self) -> QTreeWidget:
        self.menu = QTreeWidget(self)
        self.menu.setObjectName("sideMenu")
        self.menu.setHeaderHidden(True)
        self.menu.setRootIsDecorated(True)
        self.menu.setFixedWidth(200)
        self.menu.itemActivated.connect(self._menu_activated)
        self.menu.itemClicked.connect(self._menu_activated)
        return self.menu

    def _build_tabs(self) -> QTabWidget:
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("pageTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.setUsesScrollButtons(True)
        self.tabs.setElideMode(Qt.TextElideMode.ElideNone)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.fold_button = QToolButton(self.tabs)
        self.fold_button.setObjectName("foldButton")
        self.fold_button.setText("☰")
        self.fold_button.setToolTip(self.tr("Fold or unfold the menu"))
        self.fold_button.clicked.connect(self.toggle_menu)
        self.tabs.setCornerWidget(self.fold_button, Qt.Corner.TopLeftCorner)
        self.close_menu_button = QToolButton(self.tabs)
        self.close_menu_button.setObjectName("closeMenuButton")
        self.close_menu_button.setText(self.tr("Close"))
        self.close_menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        close_menu = QMenu(self.close_menu_button)
        self.close_all_action = QAction(self.tr("Close all tabs"), close_menu)
        self.close_all_action.triggered.connect(self.close_all_tabs)
        self.close_others_action = QAction(self.tr("Close other tabs"), close_menu)
        self.close_others_action.triggered.connect(self.close_other_tabs)
        close_menu.addAction(self.close_all_action)
        close_menu.addAction(self.close_others_action)
        self.close_menu_button.setMenu(close_menu)
        self.tabs.setCornerWidget(self.close_menu_button, Qt.Corner.TopRightCorner)
        return self.tabs

    # --- officer -------------------------------------------------------------------------

    def set_officer(self, officer: Officer | None) -> None:
        """Show who is logged in (None: nobody, e.g. before login or after the card left)."""
        self.officer = officer
        self.officer_label.setText(officer.display if officer else self.tr("Not logged in"))
        self.logout_button.setEnabled(officer is not None)

    # --- pages ---------------------------------------------------------------------------

    def add_page(self, group: str, title: str, factory: PageFactory, key: str | None = None) -> str:
        """Register a menu entry ``group › title`` whose tab ``factory`` builds on first open.

        ``group`` and ``title`` are already translated texts; ``key`` (default: title) names
        the page for ``open_page``. Returns the key."""
        key = key or title
        if key in self._pages:
            raise ValueError(f"page {key!r} is already registered")
        parent = self._groups.get(group)
        if parent is None:
            parent = QTreeWidgetItem(self.menu, [group])
            parent.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self._groups[group] = parent
        item = QTreeWidgetItem(parent, [title])
        item.setData(0, _KEY_ROLE, key)
        parent.setExpanded(True)
        self._pages[key] = _Page(key, title, factory, item)
        return key

    def open_page(self, key: str) -> QWidget:
        """Open the page's tab (building it once) or bring it to the front; returns its widget."""
        page = self._pages[key]
        if page.widget is None or self.tabs.indexOf(page.widget) < 0:
            page.widget = page.factory()
            page.widget.setProperty("page_key", key)
            self.tabs.addTab(page.widget, page.title)
        self.tabs.setCurrentWidget(page.widget)
        self.menu.setCurrentItem(page.item)
        self.page_opened.emit(key)
        return page.widget

    def page(self, key: str) -> QWidget | None:
        """The open tab of a page, or None."""
        widget = self._pages[key].widget
        return widget if widget is not None and self.tabs.indexOf(widget) >= 0 else None

    def page_keys(self) -> list[str]:
        return list(self._pages)

    def open_tab_keys(self) -> list[str]:
        widgets = [self.tabs.widget(i) for i in range(self.tabs.count())]
        return [str(w.property("page_key")) for w in widgets if w is not None]

    def _menu_activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        key = item.data(0, _KEY_ROLE)
        if isinstance(key, str) and key in self._pages:
            self.open_page(key)

    @Slot(int)
    def close_tab(self, index: int) -> None:
        widget = self.tabs.widget(index)
        if widget is None:
            return
        self.tabs.removeTab(index)
        key = widget.property("page_key")
        if isinstance(key, str) and key in self._pages:
            self._pages[key].widget = None
        widget.deleteLater()

    @Slot()
    def close_all_tabs(self) -> None:
        """关闭全部选项卡."""
        while self.tabs.count():
            self.close_tab(self.tabs.count() - 1)

    @Slot()
    def close_other_tabs(self) -> None:
        """关闭其他选项卡: keep only the tab being shown."""
        current = self.tabs.currentWidget()
        for index in reversed(range(self.tabs.count())):
            if self.tabs.widget(index) is not current:
                self.close_tab(index)

    # --- menu folding, status bar -----------------------------------------------------------

    @property
    def menu_folded(self) -> bool:
        return self.menu.isHidden()

    @Slot()
    def toggle_menu(self) -> None:
        """折叠/展开菜单."""
        self.set_menu_folded(not self.menu_folded)

    def set_menu_folded(self, folded: bool) -> None:
        self.menu.setHidden(folded)

    def add_status_widget(self, widget: QWidget, stretch: int = 0) -> None:
        """Add a permanent widget at the right of the status bar (device lights, queue size)."""
        self.statusBar().addPermanentWidget(widget, stretch)

    def show_status(self, message: str, timeout_ms: int = 0) -> None:
        """A transient message in the status bar (pass an already translated text)."""
        self.statusBar().showMessage(message, timeout_ms)
