"""Main window: header, officer, 退出, menu fold, tabs and their close menu, status bar."""

from __future__ import annotations

from pathlib import Path

from desk_support import zh
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtWidgets import QLabel, QTabBar, QToolButton, QWidget
from pytestqt.qtbot import QtBot

from bts_desk.domain import Officer
from bts_desk.store.db import Database
from bts_desk.ui import query_page
from bts_desk.ui.main_window import MainWindow
from bts_desk.ui.query_page import QueryPage

__all__ = ["zh"]

OFFICER = Officer(officer_id="GY860901", name="李海关", customs_code="8609")


def make_window(qtbot: QtBot) -> MainWindow:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def label_page(text: str) -> QWidget:
    widget = QLabel(text)
    widget.setObjectName(text)
    return widget


def test_header_officer_and_logout(qtbot: QtBot, zh: None) -> None:
    window = make_window(qtbot)
    assert window.system_label.text() == "边民互市贸易服务"
    assert window.officer_label.text() == "未登录"
    assert not window.logout_button.isEnabled()
    window.set_officer(OFFICER)
    assert window.officer_label.text() == "李海关（GY860901）"
    assert window.logout_button.text() == "退出" and window.logout_button.isEnabled()
    with qtbot.waitSignal(window.logout_requested):
        qtbot.mouseClick(window.logout_button, Qt.MouseButton.LeftButton)
    window.set_officer(None)
    assert window.officer_label.text() == "未登录"


def test_menu_entries_open_or_focus_their_tab(qtbot: QtBot, zh: None) -> None:
    window = make_window(qtbot)
    built: list[str] = []

    def factory(name: str) -> QWidget:
        built.append(name)
        return label_page(name)

    window.add_page("综合查询", "边民备案查询", lambda: factory("query"), key="query")
    window.add_page("综合查询", "操作日志", lambda: factory("audit"), key="audit")
    window.add_page("上传", "上传队列", lambda: factory("outbox"), key="outbox")
    groups = [window.menu.topLevelItem(i).text(0) for i in range(window.menu.topLevelItemCount())]
    assert groups == ["综合查询", "上传"]
    query_item = window.menu.topLevelItem(0).child(0)
    assert query_item.text(0) == "边民备案查询"
    rect = window.menu.visualItemRect(query_item)
    qtbot.mouseClick(window.menu.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.open_tab_keys() == ["query"]
    window.open_page("audit")
    window.open_page("query")  # already open: focused, not built again
    assert window.open_tab_keys() == ["query", "audit"]
    assert window.tabs.currentWidget() is window.page("query")
    assert built == ["query", "audit"]
    assert window.tabs.tabText(0) == "边民备案查询"


def test_duplicate_keys_are_refused(qtbot: QtBot) -> None:
    window = make_window(qtbot)
    window.add_page("g", "t", lambda: label_page("a"), key="k")
    try:
        window.add_page("g", "t2", lambda: label_page("b"), key="k")
    except ValueError:
        pass
    else:
        raise AssertionError("a second page with the same key was accepted")


def test_close_menu(qtbot: QtBot, zh: None) -> None:
    window = make_window(qtbot)
    for key in ("a", "b", "c", "d"):
        window.add_page("综合查询", key, lambda key=key: label_page(key), key=key)
        window.open_page(key)
    assert window.close_menu_button.menu() is not None
    texts = [a.text() for a in window.close_menu_button.menu().actions()]
    assert texts == ["关闭全部选项卡", "关闭其他选项卡"]
    assert window.tabs.cornerWidget(Qt.Corner.TopRightCorner) is window.close_menu_button
    window.open_page("b")
    window.close_others_action.trigger()
    assert window.open_tab_keys() == ["b"]
    window.open_page("c")
    window.close_all_action.trigger()
    assert window.open_tab_keys() == []
    assert window.page("c") is None
    window.open_page("c")  # a closed page opens again, freshly built
    assert window.open_tab_keys() == ["c"]
    window.tabs.tabCloseRequested.emit(0)  # the tab's own × button
    assert window.open_tab_keys() == []


def test_scroll_arrows_when_tabs_overflow(qtbot: QtBot, zh: None) -> None:
    window = make_window(qtbot)
    window.resize(700, 500)
    for i in range(14):
        key = f"边民备案查询 {i}"
        window.add_page("综合查询", key, lambda key=key: label_page(key), key=key)
        window.open_page(key)
    bar = window.tabs.findChild(QTabBar)
    assert bar is not None and window.tabs.usesScrollButtons()
    arrows = [b for b in bar.findChildren(QToolButton) if b.isVisible()]
    assert len(arrows) == 2  # ◀ ▶


def test_menu_folds_and_unfolds(qtbot: QtBot, zh: None) -> None:
    window = make_window(qtbot)
    assert window.tabs.cornerWidget(Qt.Corner.TopLeftCorner) is window.fold_button
    assert window.fold_button.toolTip() == "折叠/展开菜单"
    width = window.tabs.width()
    window.fold_button.click()
    assert window.menu_folded and not window.menu.isVisible()
    qtbot.waitUntil(lambda: window.tabs.width() > width)
    window.fold_button.click()
    assert not window.menu_folded and window.menu.isVisible()
    qtbot.waitUntil(lambda: window.tabs.width() == width)


def test_status_bar_takes_permanent_widgets(qtbot: QtBot) -> None:
    window = make_window(qtbot)
    light = QLabel("指纹仪 ●")
    window.add_status_widget(light)
    assert light.parent() is window.statusBar() and light.isVisible()
    window.show_status("正在打开本地数据库…")
    assert window.statusBar().currentMessage() == "正在打开本地数据库…"
    assert (
        window.statusBar().mapToGlobal(QPoint(0, 0)).y() > window.tabs.mapToGlobal(QPoint(0, 0)).y()
    )


def test_the_query_page_registers_under_its_menu_group(
    qtbot: QtBot, zh: None, tmp_path: Path, db: Database
) -> None:
    window = make_window(qtbot)
    built: list[QueryPage] = []
    ui_state = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    key = query_page.register(window, db, ui_state, on_created=built.append)
    assert key == query_page.PAGE_KEY and query_page.menu_group() == "综合查询"
    group = window.menu.topLevelItem(0)
    assert (group.text(0), group.child(0).text(0)) == ("综合查询", "边民备案查询")
    page = window.open_page(key)
    assert built == [page] and window.tabs.tabText(0) == "边民备案查询"
    window.close_all_tabs()
    assert window.open_page(key) is not page and len(built) == 2  # rebuilt, hook runs again
