"""边民备案查询 page: filters and defaults, masking, columns, keyboard, message bar, 详情, 补录."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from desk_support import missing_glyphs, store, wait_loaded, zh
from PySide6.QtCore import QDate, QPoint, QSettings, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QWidget,
)
from pytestqt.qtbot import QtBot

from bts_desk.domain import BioFlag, BordererFilter, EnableState, Gender, RecordState, SyncState
from bts_desk.store import borderers, sync_state
from bts_desk.store.db import Database
from bts_desk.store.demo_data import MANUAL_ROWS
from bts_desk.ui.details_dialog import DetailsDialog
from bts_desk.ui.fields import FieldKind, field_kind, set_field_kind
from bts_desk.ui.labels import label
from bts_desk.ui.query_page import HIDDEN_COLUMNS_KEY, QueryPage
from bts_desk.ui.style import apply_style

__all__ = ["store", "zh"]

MANUAL_COLUMNS = [
    "关区代码", "姓名", "性别", "身份证号", "户籍地址", "身份证有效期起", "身份证有效期止", "状态",
    "数据来源", "有效期止", "生物标识", "启用状态",
]  # fmt: skip
MASKED = re.compile(r"^\d{3}\*{5}[\dX]{3}$")


@pytest.fixture
def ui_state(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "ui-state.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def page(qtbot: QtBot, zh: None, store: Database, ui_state: QSettings) -> QueryPage:
    qapp = QApplication.instance()
    assert isinstance(qapp, QApplication)
    apply_style(qapp)
    widget = QueryPage(store, ui_state)
    qtbot.addWidget(widget)
    widget.resize(1400, 800)
    widget.show()
    qtbot.waitExposed(widget)
    widget.activateWindow()
    wait_loaded(qtbot, widget)
    return widget


def run(qtbot: QtBot, page: QueryPage) -> None:
    page.run_query()
    wait_loaded(qtbot, page)


def visible_rows(page: QueryPage, n: int = 30) -> list[list[str]]:
    model = page.model
    return [
        [model.data(model.index(r, c)) or "" for c in range(model.columnCount())]
        for r in range(min(n, model.rowCount()))
    ]


def choose(combo: QComboBox, text: str) -> None:
    index = combo.findText(text)
    assert index >= 0, f"{text} not among {[combo.itemText(i) for i in range(combo.count())]}"
    combo.setCurrentIndex(index)


def test_defaults_and_first_query(page: QueryPage, store: Database) -> None:
    assert page.sync_combo.currentText() == "已同步海关"
    for combo in (page.customs_combo, page.gender_combo, page.bio_combo, page.enable_combo):
        assert combo.currentText() == "全部"
    assert page.name_edit.text() == page.date_from.text() == page.date_to.text() == ""
    assert page.current_filter() == BordererFilter()
    assert page.model.total == borderers.count(store, BordererFilter())
    assert page.total_label.text() == f"共 {page.model.total:,} 条"
    assert [page.sync_combo.itemText(i) for i in range(3)] == ["全部", "已同步海关", "未同步海关"]
    assert [page.bio_combo.itemText(i) for i in range(5)] == [
        "全部", "人脸指纹都有", "没有人脸有指纹", "有人脸没有指纹", "都没有",
    ]  # fmt: skip
    assert [page.enable_combo.itemText(i) for i in range(3)] == ["全部", "启用", "停用"]
    assert [page.gender_combo.itemText(i) for i in range(3)] == ["全部", "男", "女"]


def test_the_manual_columns(page: QueryPage) -> None:
    model = page.model
    headers = [model.headerData(i, Qt.Orientation.Horizontal) for i in range(model.columnCount())]
    assert headers == MANUAL_COLUMNS
    first = visible_rows(page, 1)[0]
    assert first == [
        "8609", "潘国生", "男", "440*****012", "广东省深圳市宝安八区新安湖花园新云轩2-702",
        "2019-12-13", "2039-12-13", "正常", "服务应用系统", "2023-04-25", "人脸指纹都有", "启用",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda p: choose(p.sync_combo, "全部"), BordererFilter(sync_state=None)),
        (
            lambda p: choose(p.sync_combo, "未同步海关"),
            BordererFilter(sync_state=SyncState.UNSYNCED),
        ),
        (lambda p: choose(p.customs_combo, "8609"), BordererFilter(customs_code="8609")),
        (lambda p: p.name_edit.setText(" 吴 "), BordererFilter(name="吴")),
        (lambda p: choose(p.gender_combo, "女"), BordererFilter(gender=Gender.FEMALE)),
        (
            lambda p: choose(p.bio_combo, "没有人脸有指纹"),
            BordererFilter(bio_flag=BioFlag.FINGER_ONLY),
        ),
        (
            lambda p: choose(p.enable_combo, "停用"),
            BordererFilter(enable_state=EnableState.DISABLED),
        ),
        (
            lambda p: (p.date_from.setText("2024-01-01"), p.date_to.setText("2024-06-30")),
            BordererFilter(last_op_from=dt.date(2024, 1, 1), last_op_to=dt.date(2024, 6, 30)),
        ),
    ],
    ids=["sync-all", "unsynced", "customs", "name", "gender", "bio", "enable", "dates"],
)
def test_each_filter(
    qtbot: QtBot,
    page: QueryPage,
    store: Database,
    setup: Callable[[QueryPage], object],
    expected: BordererFilter,
) -> None:
    qtbot.waitUntil(lambda: page.customs_combo.count() > 10)
    setup(page)
    assert page.current_filter() == expected
    run(qtbot, page)
    assert page.model.current_filter == expected
    assert page.model.total == borderers.count(store, expected)
    assert 0 < page.model.total != borderers.count(store, BordererFilter())
    page.reset()
    wait_loaded(qtbot, page)
    assert page.current_filter() == BordererFilter()


def test_id_numbers_show_masked_and_a_full_number_finds_its_record(
    qtbot: QtBot, page: QueryPage
) -> None:
    assert all(MASKED.match(row[3]) for row in visible_rows(page))
    full = MANUAL_ROWS[2].id_number
    page.name_edit.setText(full)
    run(qtbot, page)
    assert page.model.total == 1
    (row,) = visible_rows(page)
    assert row[1] == "吴琪琪" and row[3] == "450*****726"
    assert full not in " ".join(row)
    page.table.selectRow(0)
    page.show_details()
    qtbot.waitUntil(lambda: page.findChild(DetailsDialog) is not None)  # loaded off-thread
    dialog = page.findChild(DetailsDialog)
    assert dialog is not None
    texts = [e.text() for e in dialog.findChildren(QLineEdit)]
    assert "450*****726" in texts and full not in " ".join(texts)
    dialog.close()


def test_sorting_by_a_column_header(qtbot: QtBot, page: QueryPage, store: Database) -> None:
    header = page.table.horizontalHeader()
    x = header.sectionViewportPosition(1) + 10
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
    wait_loaded(qtbot, page)
    assert page.model.sort_key == "name"
    expected = [
        b.name for b in borderers.fetch_page(store, BordererFilter(), sort="name", limit=30)
    ]
    assert [row[1] for row in visible_rows(page)] == expected
    assert expected == sorted(expected)


def test_column_chooser_is_remembered(
    qtbot: QtBot, page: QueryPage, store: Database, ui_state: QSettings
) -> None:
    actions = page.column_actions
    assert [a.text() for a in actions] == MANUAL_COLUMNS
    assert page.columns_button.text() == "选择显示列"
    actions[4].setChecked(False)  # 户籍地址
    actions[9].setChecked(False)  # 有效期止
    assert page.table.isColumnHidden(4) and page.table.isColumnHidden(9)
    assert page.hidden_columns() == ["address", "valid_to"]
    again = QueryPage(store, QSettings(ui_state.fileName(), QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    assert again.hidden_columns() == ["address", "valid_to"]
    assert not again.column_actions[4].isChecked()
    actions[4].setChecked(True)
    assert ui_state.value(HIDDEN_COLUMNS_KEY) in ("valid_to", ["valid_to"])
    for action in actions:  # the last visible column cannot be hidden
        action.setChecked(False)
    assert len(page.hidden_columns()) == len(actions) - 1


def test_enter_moves_to_the_next_input_and_runs_the_query_at_the_end(
    qtbot: QtBot, page: QueryPage
) -> None:
    page.sync_combo.setFocus()
    for current, following in zip(page.inputs, page.inputs[1:], strict=False):
        assert current.hasFocus(), current
        qtbot.keyClick(current, Qt.Key.Key_Return)
        assert following.hasFocus()
    page.name_edit.setText("韩")
    with qtbot.waitSignal(page.model.count_changed, timeout=10_000):
        qtbot.keyClick(page.date_to, Qt.Key.Key_Enter, Qt.KeyboardModifier.KeypadModifier)
    assert page.model.current_filter == BordererFilter(name="韩")


def test_enter_on_a_focused_button_presses_it(qtbot: QtBot, page: QueryPage) -> None:
    page.name_edit.setText("戚")
    page.query_button.setFocus()
    with qtbot.waitSignal(page.model.count_changed, timeout=10_000):
        qtbot.keyClick(page.query_button, Qt.Key.Key_Return)
    assert page.model.current_filter == BordererFilter(name="戚")
    page.reset_button.setFocus()
    with qtbot.waitSignal(page.model.count_changed, timeout=10_000):
        qtbot.keyClick(page.reset_button, Qt.Key.Key_Enter, Qt.KeyboardModifier.KeypadModifier)
    assert page.name_edit.text() == "" and page.model.current_filter == BordererFilter()


def test_tab_moves_on(qtbot: QtBot, page: QueryPage) -> None:
    page.sync_combo.setFocus()
    qtbot.keyClick(page.sync_combo, Qt.Key.Key_Tab)
    assert page.customs_combo.hasFocus()
    qtbot.keyClick(page.customs_combo, Qt.Key.Key_Tab)
    assert page.name_edit.hasFocus()


def test_backspace_opens_a_drop_down_and_enter_confirms_the_highlighted_choice(
    qtbot: QtBot, page: QueryPage
) -> None:
    combo = page.gender_combo
    combo.setFocus()
    qtbot.keyClick(combo, Qt.Key.Key_Backspace)
    qtbot.waitUntil(combo.view().isVisible)
    qtbot.keyClick(combo.view(), Qt.Key.Key_Down)
    qtbot.keyClick(combo.view(), Qt.Key.Key_Down)
    qtbot.keyClick(combo.view(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not combo.view().isVisible())
    assert combo.currentText() == "女"
    assert combo.hasFocus()  # the choice is filled in; the next Enter moves on
    qtbot.keyClick(combo, Qt.Key.Key_Return)
    assert page.bio_combo.hasFocus()


def test_invalid_dates_show_the_red_bar_and_do_not_query(qtbot: QtBot, page: QueryPage) -> None:
    before = page.model.current_filter
    page.date_from.setText("2025-05-01")
    page.date_to.setText("2025-04-01")
    qtbot.keyClick(page.date_to, Qt.Key.Key_Return)
    bar = page.message_bar
    assert bar.isVisible() and bar.level == "error"
    assert bar.text == "最近操作日期的开始日期不能晚于结束日期"
    assert page.model.current_filter is before
    image = bar.grab().toImage()
    assert _is_red(image.pixelColor(4, image.height() // 2))
    page.date_to.setText("2025-13-01")
    page.run_query()
    assert bar.text.startswith("日期格式应为")
    assert page.model.current_filter is before
    page.date_to.setText("2025-06-01")
    run(qtbot, page)
    assert not bar.isVisible()
    assert page.model.current_filter == BordererFilter(
        last_op_from=dt.date(2025, 5, 1), last_op_to=dt.date(2025, 6, 1)
    )


def _is_red(color: QColor) -> bool:
    return color.red() > 180 and color.green() < 90 and color.blue() < 90


def test_dates_can_be_picked_from_a_calendar(qtbot: QtBot, page: QueryPage) -> None:
    field = page.date_from
    field.setText("2024-02-27")
    field.setFocus()
    qtbot.keyClick(field, Qt.Key.Key_F4)
    calendar = field.calendar
    qtbot.waitUntil(calendar.isVisible)
    assert calendar.selectedDate() == QDate(2024, 2, 27)
    view = calendar.findChild(QTableView)
    assert view is not None
    qtbot.keyClick(view, Qt.Key.Key_Right)
    qtbot.keyClick(view, Qt.Key.Key_Right)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert not calendar.isVisible()
    assert field.text() == "2024-02-29" and field.value() == dt.date(2024, 2, 29)
    assert field.hasFocus()
    assert field.calendar_action.toolTip() == "选择日期"


def test_field_colours(page: QueryPage) -> None:
    for widget in page.inputs:
        assert field_kind(widget) is FieldKind.OPTIONAL
    image = page.name_edit.grab().toImage()
    assert image.pixelColor(image.width() - 8, image.height() // 2) == QColor("white")


def test_details_dialog_shows_every_field_read_only(qtbot: QtBot, page: QueryPage) -> None:
    assert not page.details_button.isEnabled()
    page.table.selectRow(2)
    assert page.details_button.isEnabled()
    with qtbot.waitSignal(page.details_viewed) as viewed:
        qtbot.mouseClick(page.details_button, Qt.MouseButton.LeftButton)
    assert viewed.args == [3]
    qtbot.waitUntil(lambda: page.findChild(DetailsDialog) is not None)  # loaded off-thread
    dialog = page.findChild(DetailsDialog)
    assert dialog is not None and dialog.isVisible()
    assert dialog.windowTitle() == "边民备案详情"
    values = {key: dialog.field(key).text() for key in (
        "customs_code", "name", "gender", "id_number_masked", "address", "id_valid_from",
        "id_valid_to", "state", "data_source", "valid_to", "bio_flag", "enable_state",
        "sync_state", "last_op_date",
    )}  # fmt: skip
    assert values == {
        "customs_code": "8609", "name": "吴琪琪", "gender": "女",
        "id_number_masked": "450*****726", "address": "广东深圳", "id_valid_from": "2016-01-27",
        "id_valid_to": "2026-01-27", "state": "正常", "data_source": "服务应用系统",
        "valid_to": "2023-05-26", "bio_flag": "人脸指纹都有", "enable_state": "停用",
        "sync_state": "已同步海关", "last_op_date": "2023-05-26",
    }  # fmt: skip
    captions = {label.text() for label in dialog.findChildren(QLabel)}
    assert set(MANUAL_COLUMNS) | {"同步状态", "最近操作日期"} <= captions
    for edit in dialog.findChildren(QLineEdit):
        assert edit.isReadOnly() and field_kind(edit) is FieldKind.READONLY
    image = dialog.field("name").grab().toImage()
    grey = image.pixelColor(image.width() - 6, image.height() // 2)
    assert grey.red() == grey.green() == grey.blue() and 200 < grey.red() < 245
    dialog.close()


def test_enter_on_a_table_row_opens_its_details(qtbot: QtBot, page: QueryPage) -> None:
    page.table.setFocus()
    page.table.selectRow(1)
    with qtbot.waitSignal(page.details_viewed) as viewed:
        qtbot.keyClick(page.table, Qt.Key.Key_Return)
    assert viewed.args == [2]
    qtbot.waitUntil(lambda: page.findChild(DetailsDialog) is not None)  # loaded off-thread
    dialog = page.findChild(DetailsDialog)
    assert dialog is not None and dialog.field("name").text() == "韩立"
    dialog.close()


def test_enroll_button_follows_the_record(qtbot: QtBot, page: QueryPage, store: Database) -> None:
    assert not page.enroll_button.isEnabled()
    assert page.enroll_button.toolTip() == "请先选择一条边民备案数据"
    page.table.selectRow(0)  # 潘国生: 正常, 已同步海关
    assert page.enroll_button.isEnabled() and page.enroll_button.text() == "补录"
    with qtbot.waitSignal(page.enroll_requested) as asked:
        qtbot.mouseClick(page.enroll_button, Qt.MouseButton.LeftButton)
    assert asked.args == [1]
    choose(page.sync_combo, "未同步海关")
    run(qtbot, page)
    page.table.selectRow(0)
    borderer = page.selected_borderer()
    assert borderer is not None and borderer.sync_state is SyncState.UNSYNCED
    assert not page.enroll_button.isEnabled()
    assert page.enroll_button.toolTip() == "同步状态为“已同步海关”的边民才能补录"
    choose(page.sync_combo, "已同步海关")
    run(qtbot, page)
    ids = [b.id for b in borderers.fetch_page(store, BordererFilter(), limit=200)]
    row = next(
        i for i, bid in enumerate(ids)
        if (b := borderers.get(store, bid)) and b.state is not RecordState.NORMAL
    )  # fmt: skip
    page.table.selectRow(row)
    assert not page.enroll_button.isEnabled()
    assert page.enroll_button.toolTip() == "只能对状态为“正常”的边民进行生物特征补录"


def test_signals_carry_64_bit_record_ids(qtbot: QtBot, page: QueryPage) -> None:
    big = 2**40 + 7
    with qtbot.waitSignal(page.enroll_requested) as asked:
        page.enroll_requested.emit(big)
    assert asked.args == [big]


def test_required_fields_are_yellow(qtbot: QtBot, page: QueryPage) -> None:
    edit = QLineEdit(page)
    set_field_kind(edit, FieldKind.REQUIRED)
    edit.show()
    image = edit.grab().toImage()
    yellow = image.pixelColor(image.width() - 6, image.height() // 2)
    assert yellow.red() > 240 and yellow.green() > 230 and yellow.blue() < 200


def test_refresh_reruns_the_query(qtbot: QtBot, page: QueryPage, store: Database) -> None:
    before = page.model.total
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE borderer SET synced = 0 WHERE id = 1")
    with qtbot.waitSignal(page.model.count_changed, timeout=10_000):
        page.refresh()
    assert page.model.total == before - 1
    assert page.model.current_filter == BordererFilter()


def test_a_refresh_keeps_the_rows_until_the_new_ones_are_in(
    qtbot: QtBot, page: QueryPage, store: Database
) -> None:
    """After 保存 the table is asked again; the rows stay on screen meanwhile and the new ones
    come with ONE model reset (each reset repaints the whole table)."""
    qtbot.waitUntil(lambda: page.model.ready and not page.model.busy, timeout=10_000)
    first = page.model.data(page.model.index(0, 1))
    assert first
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE borderer SET synced = 0 WHERE id = 1")
    resets: list[int] = []
    page.model.modelReset.connect(lambda: resets.append(page.model.rowCount()))
    page.refresh()
    assert page.model.data(page.model.index(0, 1)) == first  # still shown while it runs
    qtbot.waitUntil(lambda: page.model.ready and not page.model.busy, timeout=10_000)
    assert resets == [page.model.total]
    assert page.model.data(page.model.index(0, 1))  # the new first page, no fetch needed


def test_a_refresh_that_changes_one_record_repaints_only_its_row(
    qtbot: QtBot, page: QueryPage, store: Database
) -> None:
    """A 补录 changes one record's 生物标识: the same records come back in the same rows, so
    the refresh updates that row (no reset of the whole table) and shows its new value."""
    qtbot.waitUntil(lambda: page.model.ready and not page.model.busy, timeout=10_000)
    model = page.model
    row = 3
    record = model.borderer(row)
    assert record is not None
    flag_column = next(
        i
        for i in range(model.columnCount())
        if model.headerData(i, Qt.Orientation.Horizontal) == "生物标识"
    )
    new_flag = BioFlag.NONE if record.bio_flag is BioFlag.BOTH else BioFlag.BOTH
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE borderer SET has_face = ?, has_finger = ? WHERE id = ?",
            (new_flag is BioFlag.BOTH, new_flag is BioFlag.BOTH, record.id),
        )
    resets: list[int] = []
    changed: list[tuple[int, int]] = []
    model.modelReset.connect(lambda: resets.append(1))
    model.dataChanged.connect(lambda first, last, _roles: changed.append((first.row(), last.row())))
    with qtbot.waitSignal(model.page_loaded, timeout=10_000):
        page.refresh()
    assert resets == []
    assert changed == [(row, row)]
    assert (
        model.data(model.index(row, flag_column))
        == label(new_flag)
        == ("都没有" if new_flag is BioFlag.NONE else "人脸指纹都有")
    )
    again = model.borderer(row)
    assert again is not None and again.id == record.id


def test_store_errors_show_in_the_red_bar(qtbot: QtBot, page: QueryPage, store: Database) -> None:
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE borderer RENAME TO borderer_gone")
    page.run_query()
    qtbot.waitUntil(page.message_bar.isVisible, timeout=10_000)
    assert page.message_bar.level == "error"
    assert page.message_bar.text == "本地数据库操作失败"


def test_screenshot_has_no_missing_glyphs(qtbot: QtBot, page: QueryPage, tmp_path: Path) -> None:
    qtbot.waitUntil(lambda: page.customs_combo.count() > 10)
    shot = page.grab()
    path = tmp_path / "query-page.png"
    assert shot.save(str(path))
    texts: list[tuple[str, QWidget]] = []
    for widget in page.findChildren(QWidget):
        if not widget.isVisible():
            continue
        if isinstance(widget, QLabel | QPushButton):
            texts.append((widget.text(), widget))
        elif isinstance(widget, QComboBox):
            texts += [(widget.itemText(i), widget) for i in range(widget.count())]
        elif isinstance(widget, QLineEdit):
            texts.append((widget.placeholderText() + widget.text(), widget))
    texts.append((page.form_box.title(), page.form_box))
    texts.append((page.columns_button.text(), page.columns_button))
    model = page.model
    for c in range(model.columnCount()):
        texts.append((model.headerData(c, Qt.Orientation.Horizontal), page.table))
    texts += [(" ".join(row), page.table) for row in visible_rows(page, 25)]
    joined = "".join(t for t, _ in texts)
    for word in ("查询条件", "已同步海关", "姓名", "补录", "选择显示列", "潘国生", "440*****012"):
        assert word in joined
    for text, widget in texts:
        assert not missing_glyphs(text, widget.font()), text
    image = QImage(str(path))
    assert image.width() >= 1400 and not image.isNull()
    # A CJK character renders differently from a character the fonts lack (a tofu box).
    font = page.font()
    assert _render("查", font) != _render("\U000f0000", font)
    assert _render("查", font) != _render("询", font)


def _render(text: str, font: QFont) -> bytes:
    image = QImage(40, 40, QImage.Format.Format_Grayscale8)
    image.fill(255)
    painter = QPainter(image)
    painter.setFont(font)
    painter.drawText(4, 30, text)
    painter.end()
    return bytes(image.constBits())


def test_the_districts_the_desk_holds_are_shown(qtbot: QtBot, page: QueryPage) -> None:
    """The sync session's grant (saved by the sync worker after a pull) is shown beside the
    count; before any sync there is nothing to show."""
    assert page.districts_label.isHidden()
    sync_state.set_value(page._db, sync_state.GRANTED_DISTRICTS, "7218,8609")
    page.refresh()
    qtbot.waitUntil(lambda: not page.districts_label.isHidden(), timeout=5000)
    assert page.districts_label.text() == "本机关区：7218、8609"
    qtbot.wait(50)  # let the row lay the longer text out
    page.grab().save(str(Path(page._ui_state.fileName()).with_name("districts.png")))


def test_details_show_the_exceptions_of_the_newest_enrollment(
    qtbot: QtBot, page: QueryPage, store: Database, tmp_path: Path
) -> None:
    """详情 of a record whose 补录 recorded every biometric as impossible (都没有)."""
    import dataclasses

    from bts_desk.domain import BioException, ExceptionReason, FingerPosition, Officer
    from bts_desk.store.crypto import DeskKey
    from bts_desk.store.enrollments import save_enrollment
    from bts_desk.sync.samples import sample_draft

    entries = (
        BioException(FingerPosition.RIGHT_INDEX, ExceptionReason.MISSING),
        BioException(FingerPosition.LEFT_INDEX, ExceptionReason.OTHER, "烫伤结痂"),
        BioException(None, ExceptionReason.CANNOT_POSE),
    )
    officer = Officer("GY860901", "李海关", "8609")
    draft = sample_draft(3, officer, with_face=False, with_fingers=False)
    save_enrollment(store, dataclasses.replace(draft, exceptions=entries), DeskKey.generate())
    page.table.selectRow(2)
    page.show_details()
    qtbot.waitUntil(lambda: page.findChild(DetailsDialog) is not None)
    dialog = page.findChild(DetailsDialog)
    assert dialog is not None and dialog.exceptions == entries
    assert dialog.field("exceptions").text() == (
        "无法采集：右手食指（手指缺失）；无法采集：左手食指（其他：烫伤结痂）；"
        "无法拍照（无法配合拍照）"
    )
    assert "未采集原因" in {label.text() for label in dialog.findChildren(QLabel)}
    assert dialog.field("exceptions").isReadOnly()
    dialog.grab().save(str(tmp_path / "details-exceptions.png"))
    dialog.close()
