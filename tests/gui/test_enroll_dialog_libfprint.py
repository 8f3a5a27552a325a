"""The 补录 dialog with a USB reader through libfprint: the real libfprint stack with its
virtual image device at the far end (``FP_VIRTUAL_IMAGE``), a person pressing the emulator's
synthetic fingers whenever the dialog asks for a press, and the encrypted store."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from bts_desk.config import CameraSettings, ScannerSettings
from bts_desk.devices.camera import CameraMonitor
from bts_desk.devices.fingerprint import ScannerMonitor
from bts_desk.domain import Borderer, EnrollmentDraft, Officer
from bts_desk.drivers.libfprint.driver import TEMPLATE_FORMAT
from bts_desk.drivers.libfprint.virtual_image import VirtualImagePerson
from bts_desk.store import borderers
from bts_desk.store.crypto import DeskKey
from bts_desk.store.db import Database
from bts_desk.store.demo_data import populate
from bts_desk.store.enrollments import save_enrollment
from bts_desk.ui.enroll_dialog import GREEN, EnrollDialog

OFFICER = Officer(officer_id="GY860901", name="李海关", customs_code="8609")
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def scanner(fprint_virtual_image: VirtualImagePerson) -> Iterator[ScannerMonitor]:
    monitor = ScannerMonitor(
        ScannerSettings(driver="libfprint", port="virtual_image"), check_interval=0.2
    )
    monitor.start()
    deadline = time.monotonic() + 20.0
    while not monitor.status().ok and time.monotonic() < deadline:
        time.sleep(0.05)
    if not monitor.status().ok:  # say why, rather than let the dialog wait for presses
        monitor.stop()
        status = monitor.status()
        pytest.fail(f"libfprint scanner not ready: {status.summary_zh} ({status.detail})")
    yield monitor
    monitor.stop()


@pytest.fixture
def dialog(
    qtbot: QtBot, db: Database, scanner: ScannerMonitor, tmp_path: Path
) -> Iterator[tuple[EnrollDialog, list[EnrollmentDraft]]]:
    key = DeskKey.generate()
    saved: list[EnrollmentDraft] = []

    def save(draft: EnrollmentDraft) -> None:
        save_enrollment(db, draft, key)
        saved.append(draft)

    populate(db, 0)
    person: Borderer = next(iter(borderers.fetch_page(db, borderers.BordererFilter())))
    widget = EnrollDialog(
        person,
        officer=OFFICER,
        desk_id="desk-test",
        scanner=scanner,
        camera=CameraMonitor(CameraSettings(source=str(tmp_path / "no-camera.avi"))),
        save=save,
        finger_timeout=20.0,
    )
    widget.show()
    yield widget, saved
    widget.reject()
    widget.deleteLater()


def press_when_asked(
    qtbot: QtBot, dialog: EnrollDialog, person: VirtualImagePerson, fingers: list[int]
) -> None:
    """The person reads the prompt: at "… (press n of N)" they press the next finger."""
    suffix = dialog.tr("%1 (press %2 of %3)").split("%1", 1)[1]
    total = len(fingers)
    for press, finger in enumerate(fingers, start=1):
        wanted = suffix.replace("%2", str(press)).replace("%3", str(total))
        qtbot.waitUntil(lambda w=wanted: dialog.prompt.text().endswith(w), timeout=20000)
        person.press(finger)


def test_a_usb_reader_enrolls_two_fingers_through_the_dialog(
    qtbot: QtBot,
    dialog: tuple[EnrollDialog, list[EnrollmentDraft]],
    fprint_virtual_image: VirtualImagePerson,
    tmp_path: Path,
) -> None:
    widget, _ = dialog
    qtbot.mouseClick(widget.first_button, LEFT)
    press_when_asked(qtbot, widget, fprint_virtual_image, [7] * 5)  # libfprint's 5 stages
    qtbot.waitUntil(lambda: 1 in widget.fingers, timeout=20000)
    assert widget.slots[1].colour == GREEN
    assert widget.prompt.text() == widget.tr("Fingerprint captured successfully")

    qtbot.mouseClick(widget.second_button, LEFT)
    # the check press (another finger, verified against finger 1), then the stages
    press_when_asked(qtbot, widget, fprint_virtual_image, [8] * 6)
    qtbot.waitUntil(lambda: 2 in widget.fingers, timeout=20000)
    assert widget.slots[2].colour == GREEN
    widget.grab().save(str(tmp_path / "enroll_libfprint.png"))
    for capture in widget.fingers.values():
        assert capture.template_format == TEMPLATE_FORMAT
        assert (capture.width, capture.height) == (256, 288) and capture.image_png
    assert widget.save_button.isEnabled()
