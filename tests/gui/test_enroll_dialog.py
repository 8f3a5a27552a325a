"""The 补录 dialog through the real stack: the R30x driver on a pty with the emulator at its far
end, OpenCV on the demo camera stand-in video, and the encrypted store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from bts_desk.config import CameraSettings, ScannerSettings
from bts_desk.devices.camera import CameraMonitor
from bts_desk.devices.fingerprint import ScannerMonitor
from bts_desk.domain import BioFlag, Borderer, EnrollmentDraft, Officer
from bts_desk.drivers.camera_standin import demo_camera_source
from bts_desk.drivers.r30x.emulator import R30xEmulator
from bts_desk.store import borderers
from bts_desk.store.crypto import DeskKey
from bts_desk.store.db import Database
from bts_desk.store.demo_data import populate
from bts_desk.store.enrollments import save_enrollment
from bts_desk.store.models import AuditRow, EnrollmentRow, OutboxRow
from bts_desk.ui.enroll_dialog import GREEN, RED, EnrollDialog

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


@pytest.fixture
def dialog(
    qtbot: QtBot, db: Database, scanner: ScannerMonitor, camera: CameraMonitor
) -> Iterator[EnrollDialog]:
    key = DeskKey.generate()

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
        assert s.scalars(select(OutboxRow).where(OutboxRow.enrollment_uuid == uuid)).one()
        assert s.scalars(select(AuditRow).where(AuditRow.action == "enroll")).all()
    assert borderers.get(db, dialog.borderer.id).bio_flag is BioFlag.BOTH  # type: ignore[union-attr]


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
    prompt = dialog.tr("Press the finger three times")
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
