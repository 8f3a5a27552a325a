"""A lock that locks (issue 11, finding 2), tried as an attacker would.

The real stack throughout: the officer card through pcscd + vpcd, the real 补录 dialog with
two fingers captured from the R30x emulator on a pty, the camera stand-in. While the window is
locked, keys (Space, Enter, Tab, Esc), typing and clicks are sent straight at the covered
dialog's buttons, at the window's content and at a dialog opened after the lock: nothing may
change. After the unlock the 补录 dialog is exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from pcsc_stack import CardFactory
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog, QLineEdit, QMainWindow, QPushButton
from pytestqt.qtbot import QtBot

from bts_desk.card.monitor import PresenceMonitor
from bts_desk.card.piv import PivProfile
from bts_desk.card.session import OfficerSession, SessionState
from bts_desk.config import CameraSettings, ScannerSettings
from bts_desk.devices.camera import CameraMonitor
from bts_desk.devices.fingerprint import ScannerMonitor
from bts_desk.domain import Borderer, EnrollmentDraft, Officer
from bts_desk.drivers.camera_standin import demo_camera_source
from bts_desk.drivers.piv_card import pki
from bts_desk.drivers.piv_card.pki import OfficerCredentials
from bts_desk.drivers.piv_card.vpcd import VirtualPivCard
from bts_desk.drivers.r30x.emulator import R30xEmulator
from bts_desk.store import borderers
from bts_desk.store.db import Database
from bts_desk.store.demo_data import populate
from bts_desk.ui.card_session import CardSessionBridge
from bts_desk.ui.enroll_dialog import GREEN, EnrollDialog
from bts_desk.ui.session_lock import LockPage, SessionLock

pytestmark = pytest.mark.pcscd

PIN = "123456"
OFFICER = Officer(officer_id="GY860901", name="李海关", customs_code="8609")
LEFT = Qt.MouseButton.LeftButton
LOCK_WAIT_MS = 3000


@pytest.fixture
def bridge(qtbot: QtBot, pcscd: list[str], test_ca: pki.TestCa) -> Iterator[CardSessionBridge]:
    b = CardSessionBridge(
        OfficerSession(PivProfile(), [test_ca.certificate]), PresenceMonitor(interval_s=0.25)
    )
    yield b
    b.close()


@pytest.fixture
def scanner(r30x_emulator: R30xEmulator) -> Iterator[ScannerMonitor]:
    monitor = ScannerMonitor(
        ScannerSettings(driver="r30x", port=str(r30x_emulator.path)), check_interval=0.2
    )
    monitor.start()
    yield monitor
    monitor.stop()


@pytest.fixture
def camera(tmp_path_factory: pytest.TempPathFactory) -> CameraMonitor:
    source = demo_camera_source(tmp_path_factory.mktemp("camera"))
    return CameraMonitor(CameraSettings(source=source, loop=True))


def _person(db: Database, name: str) -> Borderer:
    populate(db, 0)
    found = borderers.fetch_page(db, borderers.BordererFilter(name=name))
    return next(b for b in found if b.name == name)


def _capture(qtbot: QtBot, dialog: EnrollDialog, emulator: R30xEmulator, n: int) -> None:
    emulator.place(finger=n, presses=3)
    qtbot.mouseClick(dialog.first_button if n == 1 else dialog.second_button, LEFT)
    qtbot.waitUntil(lambda: n in dialog.fingers, timeout=30000)
    assert dialog.slots[n].colour == GREEN


def _cover(widget: QDialog) -> LockPage:
    pages = widget.findChildren(LockPage)
    assert len(pages) == 1 and pages[0].isVisible()
    return pages[0]


def _attack(qtbot: QtBot, dialog: EnrollDialog, content: QLineEdit) -> None:
    """Everything an officer's neighbour could try at a locked desk."""
    for button in (dialog.save_button, dialog.cancel_button, dialog.first_button):
        qtbot.keyClick(button, Qt.Key.Key_Space)
        qtbot.keyClick(button, Qt.Key.Key_Return)
        qtbot.mouseClick(button, LEFT)
        qtbot.mouseDClick(button, LEFT)
    qtbot.keyClick(dialog, Qt.Key.Key_Return)  # the default button
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # 取消 (asks to discard)
    qtbot.keyClick(dialog, Qt.Key.Key_S, Qt.KeyboardModifier.AltModifier)
    for _ in range(6):  # Tab from the PIN field must never leave the lock page
        focus = QApplication.focusWidget()
        qtbot.keyClick(focus if focus is not None else dialog, Qt.Key.Key_Tab)
        focus = QApplication.focusWidget()
        assert focus is None or isinstance(focus, LockPage) or _inside_lock_page(focus)
    qtbot.keyClicks(content, "abc")
    qtbot.mouseClick(content, LEFT)
    qtbot.wait(300)  # a save would start on a worker: give it time to show


def _inside_lock_page(widget: object) -> bool:
    node = widget
    while node is not None:
        if isinstance(node, LockPage):
            return True
        node = node.parent()  # type: ignore[attr-defined]
    return False


@dataclass
class Desk:
    """A logged-in window with the 补录 dialog open over it, two fingers captured."""

    window: QMainWindow
    content: QLineEdit
    lock: SessionLock
    dialog: EnrollDialog
    card: VirtualPivCard
    saved: list[EnrollmentDraft] = field(default_factory=list)
    asked: list[bool] = field(default_factory=list)


@pytest.fixture
def devices(
    scanner: ScannerMonitor, camera: CameraMonitor, r30x_emulator: R30xEmulator
) -> tuple[ScannerMonitor, CameraMonitor, R30xEmulator]:
    return scanner, camera, r30x_emulator


@pytest.fixture
def card(
    virtual_cards: CardFactory, officer_credentials: Callable[..., OfficerCredentials]
) -> VirtualPivCard:
    return virtual_cards(officer_credentials())


@pytest.fixture
def desk(
    qtbot: QtBot,
    bridge: CardSessionBridge,
    card: VirtualPivCard,
    db: Database,
    devices: tuple[ScannerMonitor, CameraMonitor, R30xEmulator],
) -> Iterator[Desk]:
    scanner, camera, r30x_emulator = devices
    window = QMainWindow()
    content = QLineEdit()
    window.setCentralWidget(content)
    window.resize(1000, 700)
    qtbot.addWidget(window)
    lock = SessionLock.install(window, bridge)
    window.show()
    bridge.login(PIN, lambda _: None, lambda _: None)
    qtbot.waitUntil(lambda: bridge.state is SessionState.LOGGED_IN, timeout=5000)
    saved: list[EnrollmentDraft] = []
    dialog = EnrollDialog(
        _person(db, "吴奕"),
        officer=OFFICER,
        desk_id="desk-test",
        scanner=scanner,
        camera=camera,
        save=saved.append,
        parent=window,
        finger_timeout=20.0,
    )
    built = Desk(window, content, lock, dialog, card, saved)
    dialog.confirm_discard = lambda: built.asked.append(True) or True  # type: ignore[method-assign]
    dialog.show()
    try:
        _capture(qtbot, dialog, r30x_emulator, 1)
        _capture(qtbot, dialog, r30x_emulator, 2)
        dialog.save_button.setFocus()
        yield built
    finally:
        dialog.reject()
        dialog.deleteLater()


def _late_dialog(qtbot: QtBot, desk: Desk) -> tuple[QDialog, QLineEdit, list[bool]]:
    """A dialog opened after the lock (e.g. a notice popping up): covered, deaf too."""
    late = QDialog(desk.window)
    late_edit = QLineEdit(late)
    late_button = QPushButton("OK", late)
    late_button.move(0, 40)
    pressed: list[bool] = []
    late_button.clicked.connect(lambda: pressed.append(True))
    late.resize(400, 300)
    late.show()
    qtbot.waitUntil(lambda: bool(late.findChildren(LockPage)), timeout=2000)
    _cover(late)
    qtbot.keyClicks(late_edit, "abc")
    qtbot.keyClick(late_button, Qt.Key.Key_Space)
    qtbot.mouseClick(late_button, LEFT)
    return late, late_edit, pressed


def test_keys_and_clicks_at_a_covered_enroll_dialog_and_a_later_dialog_change_nothing(
    qtbot: QtBot, desk: Desk, bridge: CardSessionBridge
) -> None:
    dialog, lock = desk.dialog, desk.lock
    fingers = dict(dialog.fingers)
    desk.card.remove()
    qtbot.waitUntil(lambda: lock.covered, timeout=LOCK_WAIT_MS)
    cover = _cover(dialog)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is cover.pin_edit, timeout=2000)
    _attack(qtbot, dialog, desk.content)
    late, late_edit, pressed = _late_dialog(qtbot, desk)
    dialog.grab().save("/tmp/bts-lock-enroll-attacked.png")

    assert not desk.saved and not desk.asked and not pressed
    assert late_edit.text() == "" and desk.content.text() == ""
    assert dialog.isVisible() and dialog.fingers == fingers
    assert lock.covered and bridge.state is SessionState.LOCKED
    late.reject()

    desk.card.insert()  # the same officer comes back: the PIN field of the cover still works
    qtbot.waitUntil(lambda: "enter the PIN" in cover.message_label.text(), timeout=5000)
    qtbot.keyClicks(cover.pin_edit, PIN)
    qtbot.keyClick(cover.pin_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not lock.covered, timeout=5000)
    qtbot.waitUntil(lambda: not dialog.findChildren(LockPage), timeout=2000)
    assert dialog.isVisible() and dialog.fingers == fingers
    assert dialog.save_button.isEnabled() and dialog.slots[2].colour == GREEN
    assert dialog.focusWidget() is dialog.save_button  # focus back where it was
    assert not desk.saved and not desk.asked
    qtbot.keyClick(dialog.save_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: bool(desk.saved), timeout=5000)  # and 保存 works after the unlock
