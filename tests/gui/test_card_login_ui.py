"""Login dialog, lock screen and demo card control on the real PC/SC stack (pytest-qt).

The widgets drive the real session: pyscard → pcscd → vpcd → the virtual PIV card.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pcsc_stack import CardFactory
from pkcs11_stack import OPENSC_MODULE
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QMainWindow, QToolBar
from pytestqt.qtbot import QtBot

from bts_desk.card.monitor import PresenceMonitor
from bts_desk.card.piv import PivProfile
from bts_desk.card.pkcs11 import Pkcs11TokenSource
from bts_desk.card.session import OfficerSession, SessionState
from bts_desk.drivers.piv_card import pki
from bts_desk.drivers.piv_card.pki import OfficerCredentials
from bts_desk.ui.card_demo_control import CardDemoControl
from bts_desk.ui.card_session import CardSessionBridge
from bts_desk.ui.login_dialog import LoginDialog
from bts_desk.ui.session_lock import SessionLock

pytestmark = pytest.mark.pcscd

PIN = "123456"
LOCK_WAIT_MS = 3000  # functional bound on a loaded CI machine; the target (1 s) is benchmarked
SHOTS = Path("/tmp")


@pytest.fixture(params=["piv", "pkcs11"])
def bridge(
    request: pytest.FixtureRequest, qtbot: QtBot, pcscd: list[str], test_ca: pki.TestCa
) -> Iterator[CardSessionBridge]:
    """The desk's card bridge over the PIV profile, and over OpenSC's PKCS#11 module reaching
    the same virtual card (issue 17: the same screens either way)."""
    source = Pkcs11TokenSource(OPENSC_MODULE) if request.param == "pkcs11" else None
    session = OfficerSession(source or PivProfile(), [test_ca.certificate])
    b = CardSessionBridge(session, PresenceMonitor(interval_s=0.25))
    yield b
    b.close()
    if source is not None:
        source.close()


@pytest.fixture
def window(qtbot: QtBot) -> QMainWindow:
    w = QMainWindow()
    w.setCentralWidget(QLabel("记录：边民 张三 440*****012"))
    w.resize(800, 500)
    qtbot.addWidget(w)
    return w


def _login(qtbot: QtBot, bridge: CardSessionBridge, pin: str = PIN) -> None:
    results: list[object] = []
    bridge.login(pin, results.append, results.append)
    qtbot.waitUntil(lambda: bool(results), timeout=5000)
    assert bridge.state is SessionState.LOGGED_IN, results


def test_login_dialog_shows_card_state_live_and_logs_in(
    qtbot: QtBot,
    bridge: CardSessionBridge,
    virtual_cards: CardFactory,
    officer_credentials: Callable[..., OfficerCredentials],
) -> None:
    dialog = LoginDialog(bridge)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.card_label.text() == "Please insert the officer card")
    assert dialog.reader_label.text().startswith("Virtual PCD")
    card = virtual_cards(officer_credentials())
    qtbot.waitUntil(lambda: dialog.card_label.text() == "Card inserted", timeout=3000)

    assert dialog.pin_edit.echoMode() == dialog.pin_edit.EchoMode.Password
    qtbot.keyClicks(dialog.pin_edit, "12ab34")  # letters are refused by the validator
    assert dialog.pin_edit.text() == "1234"
    assert not dialog.login_button.isEnabled()  # 6-8 digits
    qtbot.keyClicks(dialog.pin_edit, "999999")
    assert dialog.pin_edit.text() == "12349999"  # at most 8

    qtbot.keyClick(dialog.pin_edit, Qt.Key.Key_Return)  # Enter submits
    qtbot.waitUntil(lambda: "PIN 错误" in dialog.message_label.text(), timeout=5000)
    if bridge.session.source.name == "piv":
        assert dialog.message_label.text() == "PIN 错误，还可尝试 2 次"
    else:  # OpenSC flags only the final try and blocked (no CKF_USER_PIN_COUNT_LOW for PIV)
        assert dialog.message_label.text() == "PIN 错误，请重新输入（连续错误会锁卡）"
    assert "d9363e" in dialog.message_label.styleSheet()  # red
    assert dialog.pin_edit.text() == ""  # never resent by itself
    dialog.grab().save(str(SHOTS / "bts-login-wrong-pin.png"))

    with qtbot.waitSignal(dialog.accepted, timeout=5000):
        qtbot.keyClicks(dialog.pin_edit, PIN)
        qtbot.keyClick(dialog.pin_edit, Qt.Key.Key_Enter)
    assert dialog.officer is not None and dialog.officer.name == "李海关"
    assert card.inserted


def test_login_dialog_says_when_the_card_is_blocked(
    qtbot: QtBot,
    bridge: CardSessionBridge,
    virtual_cards: CardFactory,
    officer_credentials: Callable[..., OfficerCredentials],
) -> None:
    blocked = virtual_cards(officer_credentials(), tries=0)
    dialog = LoginDialog(bridge)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.card_label.text() == "Card inserted", timeout=3000)
    qtbot.keyClicks(dialog.pin_edit, PIN)
    dialog.login_button.click()
    qtbot.waitUntil(lambda: "发卡单位" in dialog.message_label.text(), timeout=5000)
    assert not dialog.pin_edit.isEnabled()
    blocked.remove()  # the officer takes the blocked card out and puts in a good one
    virtual_cards(officer_credentials("王关员", "GY860977", "8609"), slot=1)
    qtbot.waitUntil(dialog.pin_edit.isEnabled, timeout=3000)


def test_card_removal_hides_the_window_and_same_card_unlocks(
    qtbot: QtBot,
    *,
    record_property: Callable[[str, object], None],
    bridge: CardSessionBridge,
    window: QMainWindow,
    virtual_cards: CardFactory,
    officer_credentials: Callable[..., OfficerCredentials],
) -> None:
    card = virtual_cards(officer_credentials())
    lock = SessionLock.install(window, bridge)
    window.show()
    assert lock.covered  # nobody logged in yet
    _login(qtbot, bridge)
    qtbot.waitUntil(lambda: not lock.covered)
    assert lock.content.isVisible()

    pulled = time.monotonic()
    card.remove()
    qtbot.waitUntil(lambda: lock.covered, timeout=LOCK_WAIT_MS)
    latency = time.monotonic() - pulled
    # The 1 s target is held by benchmarks/card_lock_bench.py (no timed assertions in tests);
    # the measured value goes to the test report.
    record_property("window_lock_ms", round(latency * 1000))
    print(f"window locked {latency * 1000:.0f} ms after the card was pulled")
    assert not lock.content.isVisible()
    assert lock.page.title.text() == "Card removed: the window is locked"
    assert "李海关" in lock.page.officer_label.text()
    assert "8609" in lock.page.officer_label.text()
    window.grab().save(str(SHOTS / "bts-lock.png"))

    card.insert()
    qtbot.waitUntil(lambda: "enter the PIN" in lock.page.message_label.text(), timeout=5000)
    qtbot.keyClicks(lock.page.pin_edit, "000000")
    qtbot.keyClick(lock.page.pin_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "PIN 错误" in lock.page.message_label.text(), timeout=5000)
    assert lock.covered
    qtbot.keyClicks(lock.page.pin_edit, PIN)
    qtbot.keyClick(lock.page.pin_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not lock.covered, timeout=5000)
    assert lock.content.isVisible()


def test_open_dialog_is_covered_while_locked_and_kept_for_the_same_officer(
    qtbot: QtBot,
    bridge: CardSessionBridge,
    window: QMainWindow,
    virtual_cards: CardFactory,
    officer_credentials: Callable[..., OfficerCredentials],
) -> None:
    card = virtual_cards(officer_credentials())
    lock = SessionLock.install(window, bridge)
    window.show()
    _login(qtbot, bridge)
    dialog = QDialog(window)
    dialog.setWindowTitle("补录")
    QLabel("指纹采集中", dialog)
    dialog.resize(400, 300)
    dialog.show()
    card.remove()
    qtbot.waitUntil(lambda: lock.covered, timeout=LOCK_WAIT_MS)
    covers = dialog.findChildren(type(lock.page))
    assert len(covers) == 1 and covers[0].isVisible()
    assert covers[0].geometry() == dialog.rect()
    dialog.grab().save(str(SHOTS / "bts-lock-dialog.png"))
    card.insert()
    qtbot.waitUntil(lambda: "enter the PIN" in covers[0].message_label.text(), timeout=5000)
    qtbot.keyClicks(covers[0].pin_edit, PIN)  # unlock from the dialog's own cover
    qtbot.keyClick(covers[0].pin_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not lock.covered, timeout=5000)
    assert dialog.isVisible()  # the enrollment in progress is still there
    qtbot.waitUntil(lambda: not dialog.findChildren(type(lock.page)))


def test_another_officers_card_ends_the_session_and_says_what_happens_to_unsaved_work(
    qtbot: QtBot,
    bridge: CardSessionBridge,
    window: QMainWindow,
    virtual_cards: CardFactory,
    officer_credentials: Callable[..., OfficerCredentials],
) -> None:
    first = virtual_cards(officer_credentials())
    lock = SessionLock.install(window, bridge)
    window.show()
    _login(qtbot, bridge)
    dialog = QDialog(window)
    dialog.show()
    first.remove()
    qtbot.waitUntil(lambda: lock.covered, timeout=LOCK_WAIT_MS)
    virtual_cards(officer_credentials("王关员", "GY860977", "8609"), "87654321")
    qtbot.waitUntil(lambda: bridge.state is SessionState.LOGGED_OUT, timeout=5000)
    qtbot.waitUntil(lock.page.relogin_button.isVisible, timeout=2000)
    assert lock.covered  # nothing of the first officer's work shows
    assert not dialog.isVisible()  # closed without saving…
    text = lock.page.hint.text()
    assert "王关员" in text and "李海关" in text
    assert "not saved has been discarded" in text  # …and the officer is told so
    window.grab().save(str(SHOTS / "bts-session-ended.png"))
    with qtbot.waitSignal(lock.relogin_requested):
        lock.page.relogin_button.click()


def test_logout_hides_the_content(
    qtbot: QtBot,
    bridge: CardSessionBridge,
    window: QMainWindow,
    virtual_cards: CardFactory,
    officer_credentials: Callable[..., OfficerCredentials],
) -> None:
    virtual_cards(officer_credentials())
    lock = SessionLock.install(window, bridge)
    _login(qtbot, bridge)
    qtbot.waitUntil(lambda: not lock.covered)
    bridge.logout()
    qtbot.waitUntil(lambda: lock.covered, timeout=LOCK_WAIT_MS)
    assert lock.page.title.text() == "Logged out"


def test_demo_control_pulls_and_reinserts_the_virtual_card(
    qtbot: QtBot,
    bridge: CardSessionBridge,
    window: QMainWindow,
    virtual_cards: CardFactory,
    officer_credentials: Callable[..., OfficerCredentials],
) -> None:
    card = virtual_cards(officer_credentials())
    lock = SessionLock.install(window, bridge)
    control = CardDemoControl.install(window, card)
    _login(qtbot, bridge)
    assert control.action.text() == "Demo: remove card"
    control.action.trigger()
    qtbot.waitUntil(lambda: lock.covered, timeout=LOCK_WAIT_MS)
    toolbar = window.findChild(QToolBar, "cardDemoToolBar")
    assert toolbar is not None and toolbar.isEnabled()  # usable while locked
    assert control.action.text() == "Demo: insert card"
    control.action.trigger()
    qtbot.waitUntil(
        lambda: bridge.presence is not None and bridge.presence.card_reader is not None,
        timeout=3000,
    )
    assert card.inserted


def test_attach_session_to_the_main_window_logout_and_log_in_again(
    qtbot: QtBot,
    bridge: CardSessionBridge,
    virtual_cards: CardFactory,
    officer_credentials: Callable[..., OfficerCredentials],
) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from bts_desk.ui.main_window import MainWindow
    from bts_desk.ui.session_lock import attach_session

    virtual_cards(officer_credentials())
    window = MainWindow()
    qtbot.addWidget(window)
    lock = attach_session(window, bridge)
    window.show()
    _login(qtbot, bridge)
    qtbot.waitUntil(lambda: "李海关" in window.officer_label.text())
    assert not lock.covered

    window.logout_button.click()  # 退出
    qtbot.waitUntil(lambda: lock.covered, timeout=LOCK_WAIT_MS)
    assert bridge.state is SessionState.LOGGED_OUT
    assert "李海关" not in window.officer_label.text()

    def type_pin() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, LoginDialog)
        qtbot.waitUntil(lambda: dialog.card_label.text() == "Card inserted", timeout=3000)
        qtbot.keyClicks(dialog.pin_edit, PIN)
        qtbot.keyClick(dialog.pin_edit, Qt.Key.Key_Return)

    QTimer.singleShot(100, type_pin)
    lock.page.relogin_button.click()  # 重新登录: the modal login dialog runs until accepted
    assert bridge.state is SessionState.LOGGED_IN
    qtbot.waitUntil(lambda: not lock.covered, timeout=2000)
    assert "李海关" in window.officer_label.text()
