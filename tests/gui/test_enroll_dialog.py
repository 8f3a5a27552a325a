"""The 补录 dialog through the real stack: the R30x driver on a pty with the emulator at its far
end, OpenCV on the demo camera stand-in video, and the encrypted store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from desk_support import zh
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QPushButton, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from bts_desk.config import CameraSettings, ScannerSettings
from bts_desk.devices.camera import CameraMonitor
from bts_desk.devices.fingerprint import ScannerMonitor
from bts_desk.domain import (
    FACE_EXCEPTION_REASONS,
    FINGER_EXCEPTION_REASONS,
    MAX_EXCEPTION_NOTE,
    BioException,
    BioFlag,
    Borderer,
    EnrollmentDraft,
    ExceptionReason,
    FingerPosition,
    Officer,
)
from bts_desk.drivers.camera_standin import demo_camera_source
from bts_desk.drivers.r30x.emulator import R30xEmulator
from bts_desk.store import borderers
from bts_desk.store.crypto import DeskKey
from bts_desk.store.db import Database
from bts_desk.store.demo_data import populate
from bts_desk.store.enrollments import exceptions_of, save_enrollment
from bts_desk.store.models import AuditRow, EnrollmentRow, OutboxRow
from bts_desk.ui.enroll_dialog import GREEN, GREY, RED, EnrollDialog
from bts_desk.ui.exception_dialog import ExceptionDialog
from bts_desk.ui.labels import label

__all__ = ["zh"]  # a fixture

OFFICER = Officer(officer_id="GY860901", name="李海关", customs_code="8609")
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture(scope="module")
def camera_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    return demo_camera_source(tmp_path_factory.mktemp("camera"))


@pytest.fixture
def scanner(r30x_emulator: R30xEmulator) -> Iterator[ScannerMonitor]:
    monitor = ScannerMonitor(
        ScannerSettings(driver="r30x", port=str(r30x_emulator.path)), check_interval=0.2
    )
    monitor.start()
    yield monitor
    monitor.stop()


@pytest.fixture
def camera(camera_source: str) -> CameraMonitor:
    return CameraMonitor(CameraSettings(source=camera_source, loop=True))


def person(db: Database, name: str) -> Borderer:
    populate(db, 0)
    rows = [
        b for b in borderers.fetch_page(db, borderers.BordererFilter(name=name)) if b.name == name
    ]
    assert rows, name
    return rows[0]


REMEMBERED: list[tuple[FingerPosition, FingerPosition]] = []


@pytest.fixture
def dialog(
    qtbot: QtBot, db: Database, scanner: ScannerMonitor, camera: CameraMonitor
) -> Iterator[EnrollDialog]:
    key = DeskKey.generate()
    REMEMBERED.clear()

    def save(draft: EnrollmentDraft) -> None:
        save_enrollment(db, draft, key)

    widget = EnrollDialog(
        person(db, "吴奕"),
        officer=OFFICER,
        desk_id="desk-test",
        scanner=scanner,
        camera=camera,
        save=save,
        finger_timeout=20.0,
        remember_fingers=lambda a, b: REMEMBERED.append((a, b)),
    )
    widget.show()  # not qtbot.addWidget: its close() would ask the (absent) officer to confirm
    yield widget
    widget.reject()  # the program closing it: discards without asking
    widget.deleteLater()


def capture_finger(qtbot: QtBot, dialog: EnrollDialog, emulator: R30xEmulator, n: int) -> None:
    emulator.place(finger=n, presses=3)
    button = dialog.first_button if n == 1 else dialog.second_button
    qtbot.mouseClick(button, LEFT)
    qtbot.waitUntil(lambda: n in dialog.fingers, timeout=30000)
    assert dialog.slots[n].colour == GREEN
    assert dialog.prompt.text() == dialog.tr("Fingerprint captured successfully")


def test_two_fingers_face_and_save(
    qtbot: QtBot, dialog: EnrollDialog, r30x_emulator: R30xEmulator, db: Database, tmp_path: Path
) -> None:
    assert not dialog.second_button.isEnabled() and not dialog.save_button.isEnabled()
    assert dialog.slots[1].colour == RED and dialog.slots[2].colour == RED
    dialog.slots[2].set_position(FingerPosition.LEFT_MIDDLE)  # 指纹2: 左手中指, not the default
    capture_finger(qtbot, dialog, r30x_emulator, 1)
    assert dialog.second_button.isEnabled() and not dialog.save_button.isEnabled()
    capture_finger(qtbot, dialog, r30x_emulator, 2)
    assert dialog.save_button.isEnabled()  # the manual allows saving without a face
    # the emulator is an R503: its 192×192 sensor and longer template came through as such
    assert r30x_emulator.profile.key == "r503"
    for finger in dialog.fingers.values():
        assert (finger.width, finger.height, finger.dpi) == (192, 192, 508)
        assert len(finger.template) == 1536 and finger.template_format == "grow-r50x-char"

    dialog.pages.setCurrentWidget(dialog.face_panel)
    qtbot.mouseClick(dialog.face_panel.start_button, LEFT)
    qtbot.waitUntil(dialog.face_panel.shoot_button.isEnabled, timeout=20000)
    qtbot.mouseClick(dialog.face_panel.shoot_button, LEFT)
    qtbot.waitUntil(lambda: dialog.face is not None, timeout=5000)
    assert not dialog.face_panel.shoot_button.isEnabled()  # 拍照 greys out
    dialog.grab().save(str(tmp_path / "enroll.png"))

    answered = []
    qtbot.waitUntil(lambda: True)
    with qtbot.waitSignal(dialog.saved, timeout=10000) as saved:
        _auto_close_message_boxes(qtbot, answered)
        qtbot.mouseClick(dialog.save_button, LEFT)
    qtbot.waitUntil(lambda: bool(answered), timeout=5000)
    assert answered == [dialog.tr("Saved successfully")]
    assert not dialog.isVisible()  # back to the query tab
    uuid = saved.args[0]
    with db.session() as s:
        enrollment = s.get(EnrollmentRow, uuid)
        assert enrollment is not None and enrollment.payload
        assert enrollment.has_face and enrollment.has_finger
        assert enrollment.scanner_serial == "EMU00001"
        assert "demo" in enrollment.camera_name or enrollment.camera_name
        assert set(json.loads(enrollment.quality_json)["fingers"]) == {"1", "2"}
        assert enrollment.finger_positions == "2,8"  # the slots' fingers: 右手食指, 左手中指
        assert s.scalars(select(OutboxRow).where(OutboxRow.enrollment_uuid == uuid)).one()
        assert s.scalars(select(AuditRow).where(AuditRow.action == "enroll")).all()
    assert borderers.get(db, dialog.borderer.id).bio_flag is BioFlag.BOTH  # type: ignore[union-attr]


def test_retake_drops_the_rejected_photo(qtbot: QtBot, dialog: EnrollDialog) -> None:
    """重拍 means the officer rejected the photo: until a new one is taken there is none to
    save (保存 must not store the rejected one), and the new one replaces it."""
    dialog.pages.setCurrentWidget(dialog.face_panel)
    qtbot.mouseClick(dialog.face_panel.start_button, LEFT)
    qtbot.waitUntil(dialog.face_panel.shoot_button.isEnabled, timeout=20000)
    qtbot.mouseClick(dialog.face_panel.shoot_button, LEFT)
    qtbot.waitUntil(lambda: dialog.face is not None, timeout=5000)
    rejected = dialog.face
    assert not dialog.face_unable_button.isEnabled()

    qtbot.mouseClick(dialog.face_panel.retake_button, LEFT)
    assert dialog.face is None and dialog.draft().face is None
    assert dialog.face_unable_button.isEnabled()  # 无法拍照 is possible again
    qtbot.waitUntil(dialog.face_panel.shoot_button.isEnabled, timeout=20000)
    qtbot.mouseClick(dialog.face_panel.shoot_button, LEFT)
    qtbot.waitUntil(lambda: dialog.face is not None, timeout=5000)
    assert dialog.face is not rejected and dialog.draft().face is dialog.face


def test_same_finger_as_finger_one_is_refused(
    qtbot: QtBot, dialog: EnrollDialog, r30x_emulator: R30xEmulator
) -> None:
    capture_finger(qtbot, dialog, r30x_emulator, 1)
    r30x_emulator.place(finger=1, presses=1)  # the person presses the same finger again
    qtbot.mouseClick(dialog.second_button, LEFT)
    qtbot.waitUntil(lambda: dialog.reason.text() == "请换个手指", timeout=20000)
    assert 2 not in dialog.fingers
    r30x_emulator.place(finger=2, presses=3)  # then another finger
    qtbot.waitUntil(lambda: 2 in dialog.fingers, timeout=30000)
    assert dialog.slots[2].colour == GREEN and not dialog.reason.text()


def test_cancel_asks_before_discarding(
    qtbot: QtBot, dialog: EnrollDialog, r30x_emulator: R30xEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture_finger(qtbot, dialog, r30x_emulator, 1)
    answers = iter([False, True])
    asked: list[bool] = []

    def confirm() -> bool:
        asked.append(True)
        return next(answers)

    monkeypatch.setattr(dialog, "confirm_discard", confirm)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # Esc asks; "no" keeps everything
    assert dialog.isVisible() and 1 in dialog.fingers
    qtbot.mouseClick(dialog.cancel_button, LEFT)  # 取消 asks; "yes" discards
    assert asked == [True, True]
    assert not dialog.isVisible()


def test_capture_can_be_stopped_and_dialog_stays_responsive(
    qtbot: QtBot, dialog: EnrollDialog
) -> None:
    qtbot.mouseClick(dialog.first_button, LEFT)  # nobody presses
    prompt = dialog.tr("Press the %1 three times").replace("%1", label(FingerPosition.RIGHT_INDEX))
    qtbot.waitUntil(lambda: prompt in dialog.prompt.text(), timeout=5000)
    assert dialog.stop_button.isEnabled() and not dialog.save_button.isEnabled()
    qtbot.mouseClick(dialog.stop_button, LEFT)
    qtbot.waitUntil(lambda: not dialog.capturing, timeout=5000)
    assert dialog.slots[1].colour == RED and dialog.first_button.isEnabled()


def _auto_close_message_boxes(qtbot: QtBot, answered: list[str]) -> None:
    """Press OK on the next 保存成功 box, recording its text (the box is modal)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    def close() -> None:
        for widget in QApplication.topLevelWidgets():
            try:
                shown = isinstance(widget, QMessageBox) and widget.isVisible()
            except RuntimeError:  # a widget of an earlier test, already deleted
                continue
            if shown:
                assert isinstance(widget, QMessageBox)
                answered.append(widget.text())
                widget.accept()
                return
        QTimer.singleShot(50, close)

    QTimer.singleShot(50, close)


# --- 补录 by keyboard alone ----------------------------------------------------------------


def focused() -> object:
    from PySide6.QtWidgets import QApplication

    return QApplication.focusWidget()


def press(
    qtbot: QtBot, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
) -> None:
    """A key as the officer types it: to whatever has the focus."""
    from PySide6.QtWidgets import QApplication, QWidget

    target = QApplication.focusWidget() or QApplication.activeWindow()
    assert isinstance(target, QWidget)
    qtbot.keyClick(target, key, modifier)


def answer_next_box(qtbot: QtBot, key: Qt.Key, seen: list[str]) -> None:
    """Type ``key`` into the next message box that opens (it runs its own event loop)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox) and box.isVisible():
            seen.append(box.text())
            qtbot.keyClick(box, key)
            return
        QTimer.singleShot(50, answer)

    QTimer.singleShot(50, answer)


def test_whole_enrollment_by_keyboard_alone(  # noqa: PLR0915 - the manual's steps, in order
    qtbot: QtBot, dialog: EnrollDialog, r30x_emulator: R30xEmulator, db: Database, tmp_path: Path
) -> None:
    from PySide6.QtWidgets import QPushButton

    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=5000)
    dialog.grab().save(str(tmp_path / "kbd-01-open.png"))
    # every button has its own mnemonic
    buttons = dialog.findChildren(QPushButton)
    marks = [b.text().split("&", 1)[1][:1].upper() for b in buttons if "&" in b.text()]
    assert len(marks) == len(buttons) and len(set(marks)) == len(marks), marks
    # Tab walks the work in order: fingers' choices, the two captures, stop, the tabs
    dialog.slots[1].finger.setFocus()
    expected = [dialog.slots[2].finger, dialog.first_button]  # disabled buttons are skipped
    for widget in expected:
        press(qtbot, Qt.Key.Key_Tab)
        assert focused() is widget
    # 指纹2 is another finger: Down in its list chooses 左手中指, remembered for the desk
    press(qtbot, Qt.Key.Key_Backtab)
    assert focused() is dialog.slots[2].finger
    press(qtbot, Qt.Key.Key_Down)
    assert dialog.finger_positions == (FingerPosition.RIGHT_INDEX, FingerPosition.LEFT_MIDDLE)
    assert REMEMBERED[-1] == dialog.finger_positions
    # choosing 指纹1's finger for 指纹2 swaps them: the two never name the same finger
    dialog.slots[1].finger.setFocus()
    for _ in range(3):  # 右手食指 → 中指 → 环指 → 小指 … until the list reaches 左手中指
        press(qtbot, Qt.Key.Key_Down)
    dialog.slots[1].set_position(FingerPosition.RIGHT_INDEX)  # back to the defaults' order
    dialog.slots[1].finger.activated.emit(dialog.slots[1].finger.currentIndex())
    assert dialog.finger_positions[0] != dialog.finger_positions[1]
    dialog.slots[2].set_position(FingerPosition.LEFT_INDEX)
    dialog.slots[2].finger.activated.emit(dialog.slots[2].finger.currentIndex())
    assert dialog.finger_positions == (FingerPosition.RIGHT_INDEX, FingerPosition.LEFT_INDEX)

    # Enter: 第一指纹录入, naming the finger ("请按右手食指三次")
    r30x_emulator.place(finger=1, presses=3)
    press(qtbot, Qt.Key.Key_Return)
    first = dialog.tr("Press the %1 three times").replace("%1", label(FingerPosition.RIGHT_INDEX))
    qtbot.waitUntil(lambda: first in dialog.prompt.text(), timeout=10000)
    qtbot.waitUntil(lambda: 1 in dialog.fingers, timeout=30000)
    assert dialog.slots[1].colour == GREEN
    assert dialog.first_button.text() == dialog.tr("Re-enrol finger &1")  # 重新录入第一指纹
    assert not dialog.slots[1].finger.isEnabled()  # a captured finger keeps its name
    dialog.grab().save(str(tmp_path / "kbd-02-finger-1.png"))

    # Enter: 第二指纹录入; the same finger again is refused with the manual's words
    r30x_emulator.place(finger=1, presses=1)
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "换个手指" in dialog.reason.text(), timeout=20000)
    change = dialog.tr("Change to another finger and press three times")
    assert dialog.prompt.text().startswith(change) and 2 not in dialog.fingers
    dialog.grab().save(str(tmp_path / "kbd-03-same-finger.png"))
    r30x_emulator.place(finger=2, presses=3)
    qtbot.waitUntil(lambda: 2 in dialog.fingers, timeout=30000)
    second = dialog.tr("Change to the %1 and press three times")
    assert label(FingerPosition.LEFT_INDEX) in second.replace(
        "%1", label(FingerPosition.LEFT_INDEX)
    )
    assert dialog.slots[2].colour == GREEN and not dialog.reason.text()
    dialog.grab().save(str(tmp_path / "kbd-04-finger-2.png"))

    # Enter: the 人脸 tab; Enter: 开始拍照; Enter (once the face is in the frame): 拍照
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.pages.currentWidget() is dialog.face_panel
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(dialog.face_panel.shoot_button.isEnabled, timeout=20000)
    dialog.grab().save(str(tmp_path / "kbd-05-face-preview.png"))
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.face is not None, timeout=5000)
    assert not dialog.face_panel.shoot_button.isEnabled()  # 拍照 greys out
    dialog.grab().save(str(tmp_path / "kbd-06-face-taken.png"))

    # Esc asks before discarding; Esc on the question keeps everything
    seen: list[str] = []
    answer_next_box(qtbot, Qt.Key.Key_Escape, seen)
    press(qtbot, Qt.Key.Key_Escape)
    assert seen and dialog.isVisible() and dialog.face is not None and len(dialog.fingers) == 2
    dialog.activateWindow()  # what a window manager does when the question closes
    qtbot.waitUntil(dialog.isActiveWindow, timeout=5000)

    # Enter: 保存 → 保存成功, closed with Enter too
    notices: list[str] = []
    with qtbot.waitSignal(dialog.saved, timeout=10000) as saved:
        press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.saved_notice is not None and dialog.saved_notice.isVisible())
    notice = dialog.saved_notice
    assert notice is not None
    notices.append(notice.text())
    qtbot.keyClick(notice, Qt.Key.Key_Return)
    assert notices == [dialog.tr("Saved successfully")] and not dialog.isVisible()
    uuid = saved.args[0]
    with db.session() as s:
        assert s.get(EnrollmentRow, uuid) is not None
    assert borderers.get(db, dialog.borderer.id).bio_flag is BioFlag.BOTH  # type: ignore[union-attr]


def test_escape_then_yes_discards(
    qtbot: QtBot, dialog: EnrollDialog, r30x_emulator: R30xEmulator
) -> None:
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=5000)
    r30x_emulator.place(finger=1, presses=3)
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: 1 in dialog.fingers, timeout=30000)
    seen: list[str] = []
    answer_next_box(qtbot, Qt.Key.Key_Y, seen)  # 是(&Y)
    press(qtbot, Qt.Key.Key_Escape)
    assert seen and not dialog.isVisible()


# --- 无法采集 / 无法拍照 -------------------------------------------------------------------------


def type_chinese(widget: QWidget, text: str) -> None:
    """Chinese typed at a desk arrives from the input method as a committed string."""
    from PySide6.QtGui import QInputMethodEvent
    from PySide6.QtWidgets import QApplication

    event = QInputMethodEvent("", [])
    event.setCommitString(text)
    QApplication.sendEvent(widget, event)


def record_exception(
    qtbot: QtBot,
    dialog: EnrollDialog,
    button: QPushButton,
    reason: ExceptionReason,
    *,
    note: str = "",
    shot: Path | None = None,
) -> ExceptionDialog:
    """Click a 无法采集 / 无法拍照 button, pick the reason (and text), confirm with the mouse."""
    qtbot.mouseClick(button, LEFT)
    qtbot.waitUntil(lambda: dialog.exception_dialog is not None, timeout=5000)
    asked = dialog.exception_dialog
    assert asked is not None and asked.isVisible()
    assert not asked.confirm_button.isEnabled()  # nothing chosen yet
    qtbot.waitExposed(asked)
    radio = asked.reasons[reason]  # clicked on its round indicator (the row is wider)
    qtbot.mouseClick(radio, LEFT, pos=QPoint(8, radio.height() // 2))
    assert radio.isChecked()
    if reason is ExceptionReason.OTHER:
        assert not asked.confirm_button.isEnabled()  # 其他 needs its text
        type_chinese(asked.note, note)
    assert asked.confirm_button.isEnabled()
    if shot is not None:
        asked.grab().save(str(shot))
    qtbot.mouseClick(asked.confirm_button, LEFT)
    assert not asked.isVisible()
    return asked


def saved_row(qtbot: QtBot, dialog: EnrollDialog, db: Database) -> tuple[str, EnrollmentRow]:
    answered: list[str] = []
    with qtbot.waitSignal(dialog.saved, timeout=10000) as saved:
        _auto_close_message_boxes(qtbot, answered)
        qtbot.mouseClick(dialog.save_button, LEFT)
    qtbot.waitUntil(lambda: dialog.saved_notice is not None and dialog.saved_notice.isVisible())
    assert dialog.saved_notice is not None
    dialog.saved_notice.accept()
    uuid = saved.args[0]
    with db.session() as s:
        row = s.get(EnrollmentRow, uuid)
        assert row is not None
        s.expunge(row)
    return uuid, row


def test_one_finger_plus_an_exception_is_saved(  # noqa: PLR0917 - fixtures
    qtbot: QtBot,
    zh: None,
    dialog: EnrollDialog,
    r30x_emulator: R30xEmulator,
    db: Database,
    tmp_path: Path,
) -> None:
    # 指纹2 (左手食指) cannot be captured: 其他, with the officer's words
    shot = tmp_path / "exception-dialog.png"
    record_exception(
        qtbot, dialog, dialog.slots[2].unable_button, ExceptionReason.OTHER, note="烫伤", shot=shot
    )
    assert dialog.slots[2].colour == GREY and "烫伤" in dialog.slots[2].image.text()
    assert not dialog.save_button.isEnabled()  # 指纹1 is still to do
    assert dialog.second_button.isEnabled() is False  # 指纹1 first
    capture_finger(qtbot, dialog, r30x_emulator, 1)
    assert dialog.save_button.isEnabled()
    assert not dialog.slots[1].unable_button.isEnabled()  # a captured finger keeps its name
    dialog.grab().save(str(tmp_path / "enroll-exception.png"))
    uuid, row = saved_row(qtbot, dialog, db)
    assert row.finger_positions == "2"  # 右手食指 only
    assert exceptions_of(db, dialog.borderer.id) == (
        BioException(FingerPosition.LEFT_INDEX, ExceptionReason.OTHER, "烫伤"),
    )
    assert borderers.get(db, dialog.borderer.id).bio_flag is BioFlag.FINGER_ONLY  # type: ignore[union-attr]
    with db.session() as s:
        audit = s.scalars(select(AuditRow).where(AuditRow.action == "enroll")).all()
        assert any("无法采集" in a.detail and uuid in a.detail for a in audit)


def test_a_slot_takes_another_finger_after_an_exception(
    qtbot: QtBot, dialog: EnrollDialog, r30x_emulator: R30xEmulator, db: Database
) -> None:
    record_exception(qtbot, dialog, dialog.slots[1].unable_button, ExceptionReason.BANDAGED)
    assert dialog.slots[1].colour == GREY and dialog.second_button.isEnabled()
    # the slot takes the right middle finger instead: red again, to be captured
    dialog.slots[1].set_position(FingerPosition.RIGHT_MIDDLE)
    dialog.slots[1].finger.activated.emit(dialog.slots[1].finger.currentIndex())
    assert dialog.slots[1].colour == RED and not dialog.save_button.isEnabled()
    assert "右手食指" in dialog.exceptions_label.text() or "Right index" in (
        dialog.exceptions_label.text()
    )  # the entry for the first finger stays recorded
    capture_finger(qtbot, dialog, r30x_emulator, 1)
    capture_finger(qtbot, dialog, r30x_emulator, 2)  # checked against 指纹1 as always
    _, row = saved_row(qtbot, dialog, db)
    assert row.finger_positions == "3,7"
    assert exceptions_of(db, dialog.borderer.id) == (
        BioException(FingerPosition.RIGHT_INDEX, ExceptionReason.BANDAGED),
    )


def test_an_exception_captured_after_all_is_dropped(
    qtbot: QtBot, dialog: EnrollDialog, r30x_emulator: R30xEmulator
) -> None:
    record_exception(qtbot, dialog, dialog.slots[1].unable_button, ExceptionReason.DAMAGED)
    capture_finger(qtbot, dialog, r30x_emulator, 1)  # 重新录入: the finger could be read
    assert dialog.exceptions == {} and dialog.slots[1].colour == GREEN


def test_nothing_captured_needs_every_exception_and_a_confirmation(  # noqa: PLR0917
    qtbot: QtBot, zh: None, dialog: EnrollDialog, db: Database, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    record_exception(qtbot, dialog, dialog.slots[1].unable_button, ExceptionReason.MISSING)
    record_exception(qtbot, dialog, dialog.slots[2].unable_button, ExceptionReason.MISSING)
    assert not dialog.save_button.isEnabled()  # the face is neither taken nor explained
    dialog.pages.setCurrentWidget(dialog.face_panel)
    shot = tmp_path / "face-exception-dialog.png"
    record_exception(
        qtbot, dialog, dialog.face_unable_button, ExceptionReason.CANNOT_POSE, shot=shot
    )
    assert dialog.face_panel.declined and dialog.save_button.isEnabled()
    dialog.grab().save(str(tmp_path / "enroll-face-exception.png"))
    dialog.pages.setCurrentIndex(0)
    dialog.grab().save(str(tmp_path / "enroll-all-exceptions.png"))
    asked: list[bool] = []
    answers = iter([False, True])

    def confirm() -> bool:
        asked.append(True)
        return next(answers)

    monkeypatch.setattr(dialog, "confirm_nothing_captured", confirm)
    qtbot.mouseClick(dialog.save_button, LEFT)  # "no": nothing saved, all kept
    assert asked == [True] and dialog.isVisible() and len(dialog.exceptions) == 3
    _, row = saved_row(qtbot, dialog, db)
    assert asked == [True, True] and row.finger_positions == "" and not row.has_face
    assert [x.position for x in exceptions_of(db, dialog.borderer.id)] == [
        FingerPosition.RIGHT_INDEX,
        FingerPosition.LEFT_INDEX,
        None,
    ]
    assert borderers.get(db, dialog.borderer.id).bio_flag is BioFlag.NONE  # type: ignore[union-attr]


def test_the_camera_after_no_photo_possible_takes_the_photo(
    qtbot: QtBot, dialog: EnrollDialog, r30x_emulator: R30xEmulator
) -> None:
    capture_finger(qtbot, dialog, r30x_emulator, 1)
    dialog.pages.setCurrentWidget(dialog.face_panel)
    record_exception(qtbot, dialog, dialog.face_unable_button, ExceptionReason.BANDAGED)
    assert dialog.face_panel.declined
    # the officer tries the camera after all: Enter takes the photo, it does not go on to 保存
    qtbot.mouseClick(dialog.face_panel.start_button, LEFT)
    assert not dialog.face_panel.declined and None in dialog.exceptions
    qtbot.waitUntil(dialog.face_panel.shoot_button.isEnabled, timeout=20000)
    dialog.face_panel.setFocus()
    qtbot.keyClick(dialog.face_panel, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dialog.face is not None, timeout=5000)
    assert None not in dialog.exceptions and dialog.isVisible()  # photographed: entry gone
    assert not dialog.face_unable_button.isEnabled()


def test_exception_dialog_reasons_and_text_bounds(qtbot: QtBot, dialog: EnrollDialog) -> None:
    finger = ExceptionDialog(FingerPosition.LEFT_INDEX, dialog)
    face = ExceptionDialog(None, dialog)
    for asked in (finger, face):
        qtbot.addWidget(asked)
    assert list(finger.reasons) == list(FINGER_EXCEPTION_REASONS)
    assert list(face.reasons) == list(FACE_EXCEPTION_REASONS)
    finger.choose(ExceptionReason.OTHER)
    assert finger.note.isEnabled() and finger.exception() is None
    finger.note.setText("长" * 100)  # the field stops at the bound
    assert len(finger.note.text()) == MAX_EXCEPTION_NOTE and finger.exception() is not None
    finger.choose(ExceptionReason.MISSING)  # the text goes with 其他 only
    assert not finger.note.isEnabled()
    assert finger.exception() == BioException(FingerPosition.LEFT_INDEX, ExceptionReason.MISSING)


def test_exceptions_by_keyboard_alone(
    qtbot: QtBot, dialog: EnrollDialog, r30x_emulator: R30xEmulator, db: Database, tmp_path: Path
) -> None:
    """Alt+U: 指纹1无法采集; Alt+3 包扎; Enter confirms. Enter: 第二指纹录入. Enter: the 人脸
    tab; Alt+N: 无法拍照, Alt+3 其他, its text, Enter. Enter: 保存; Enter closes 保存成功."""
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=5000)
    press(qtbot, Qt.Key.Key_U, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: dialog.exception_dialog is not None, timeout=5000)
    asked = dialog.exception_dialog
    assert asked is not None
    qtbot.waitUntil(asked.isActiveWindow, timeout=5000)
    press(qtbot, Qt.Key.Key_Return)  # nothing chosen: Enter does not confirm half a choice
    assert asked.isVisible()
    press(qtbot, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)  # 包扎(&3) (an animated click)
    qtbot.waitUntil(asked.reasons[ExceptionReason.BANDAGED].isChecked, timeout=5000)
    asked.grab().save(str(tmp_path / "kbd-exc-01-reason.png"))
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not asked.isVisible(), timeout=5000)
    assert dialog.slots[1].colour == GREY
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=5000)

    r30x_emulator.place(finger=2, presses=3)
    press(qtbot, Qt.Key.Key_Return)  # 指纹1 is done (recorded): Enter goes on to 指纹2
    qtbot.waitUntil(lambda: 2 in dialog.fingers, timeout=30000)
    press(qtbot, Qt.Key.Key_Return)
    assert dialog.pages.currentWidget() is dialog.face_panel

    press(qtbot, Qt.Key.Key_N, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: dialog.exception_dialog is not None, timeout=5000)
    face = dialog.exception_dialog
    assert face is not None and face.position is None
    qtbot.waitUntil(face.isActiveWindow, timeout=5000)
    press(qtbot, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)  # 其他(&3): the text gets focus
    qtbot.waitUntil(lambda: focused() is face.note, timeout=5000)
    type_chinese(face.note, "婴儿无法配合")
    face.grab().save(str(tmp_path / "kbd-exc-02-face-other.png"))
    press(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not face.isVisible(), timeout=5000)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=5000)
    dialog.grab().save(str(tmp_path / "kbd-exc-03-declined.png"))

    with qtbot.waitSignal(dialog.saved, timeout=10000) as saved:
        press(qtbot, Qt.Key.Key_Return)  # Enter: 保存 (the face is explained)
    qtbot.waitUntil(lambda: dialog.saved_notice is not None and dialog.saved_notice.isVisible())
    assert dialog.saved_notice is not None
    qtbot.keyClick(dialog.saved_notice, Qt.Key.Key_Return)
    assert not dialog.isVisible()
    with db.session() as s:
        row = s.get(EnrollmentRow, saved.args[0])
        assert row is not None and row.finger_positions == "7"
    assert exceptions_of(db, dialog.borderer.id) == (
        BioException(FingerPosition.RIGHT_INDEX, ExceptionReason.BANDAGED),
        BioException(None, ExceptionReason.OTHER, "婴儿无法配合"),
    )
