"""The lock screen: the window's content disappears the moment the officer card leaves.

``SessionLock.install(window, bridge)`` puts the window's central widget into a stack whose
other page is the lock screen ("卡已拔出，窗口已锁定", the officer, a PIN field and 解锁). When the
session locks, the stack flips to the lock page, the menu bar and tool bars are disabled (except
tool bars marked ``keepEnabledWhenLocked``, such as the demo card control), and every open
dialog is covered by a lock page of its own (a modal dialog would block the window's PIN field;
covering it instead of closing it keeps an enrollment in progress intact for the same officer).
The covers are only what the officer sees: ``InputGuard`` (``ui.input_guard``), an
application-wide event filter, is what keeps every key, click and shortcut from reaching any
window behind them, covers dialogs opened after the lock too and keeps the focus in a PIN field.

Unlocking needs the same card and its PIN. Another officer's card ends the session: open
dialogs are closed without saving (unsaved work is discarded, and the page says so), the
content stays hidden, and 重新登录 emits ``relogin_requested`` for the app to show the login
dialog. 退出 (``bridge.logout()``) shows the same ended page. GUI thread only.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenuBar,
    QPushButton,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from bts_desk.card.monitor import PresenceSnapshot
from bts_desk.card.session import OtherOfficerCardError, Reason, SessionEvent, SessionState
from bts_desk.domain import Officer
from bts_desk.ui.card_session import CardSessionBridge
from bts_desk.ui.input_guard import KEEP_ENABLED, InputGuard
from bts_desk.ui.login_dialog import ERROR_STYLE, OK_STYLE, error_text, pin_complete, pin_field

log = logging.getLogger(__name__)

__all__ = ["KEEP_ENABLED", "LockPage", "SessionLock", "attach_session"]


def lock_title(reason: Reason) -> str:
    if reason is Reason.READER_GONE:
        return QCoreApplication.translate(
            "SessionLock", "Card reader disconnected: the window is locked"
        )
    if reason is Reason.REVOKED:
        return QCoreApplication.translate(
            "SessionLock", "The card's certificate has been revoked: the window is locked"
        )
    if reason is Reason.CARD_RESET:
        return QCoreApplication.translate(
            "SessionLock", "The card was reset by another program: the window is locked"
        )
    return QCoreApplication.translate("SessionLock", "Card removed: the window is locked")


def officer_line(officer: Officer | None) -> str:
    if officer is None:
        return ""
    return (
        QCoreApplication.translate("SessionLock", "Officer: %1, customs district %2")
        .replace("%1", officer.display)
        .replace("%2", officer.customs_code)
    )


class LockPage(QWidget):
    """What a locked window (or a covered dialog) shows. Two modes: locked (PIN + 解锁) and
    ended (message + 重新登录)."""

    unlock_requested = Signal(str)
    logout_requested = Signal()
    relogin_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lockPage")
        self.setAutoFillBackground(True)
        self.title = QLabel(self)
        self.title.setObjectName("lockTitle")
        self.title.setStyleSheet("font-size: 22px; font-weight: bold; color: #1f5fa8;")
        self.title.setWordWrap(True)
        self.officer_label = QLabel(self)
        self.hint = QLabel(self)
        self.hint.setWordWrap(True)
        self.pin_edit = pin_field(self)
        self.pin_edit.setPlaceholderText(self.tr("Card PIN (6-8 digits)"))
        self.pin_edit.returnPressed.connect(self._submit)
        self.pin_edit.textChanged.connect(self._update_button)
        self.unlock_button = QPushButton(self.tr("Unlock"), self)
        self.unlock_button.setObjectName("primaryButton")
        self.unlock_button.clicked.connect(self._submit)
        self.logout_button = QPushButton(self.tr("Log out"), self)
        self.logout_button.clicked.connect(self.logout_requested)
        self.relogin_button = QPushButton(self.tr("Log in again"), self)
        self.relogin_button.setObjectName("primaryButton")
        self.relogin_button.clicked.connect(self.relogin_requested)
        self.message_label = QLabel(self)
        self.message_label.setObjectName("lockMessage")
        self.message_label.setWordWrap(True)
        self._busy = False
        self._build_layout()

    def _build_layout(self) -> None:
        row = QHBoxLayout()
        row.addWidget(self.pin_edit, 1)
        row.addWidget(self.unlock_button)
        row.addWidget(self.logout_button)
        box = QVBoxLayout()
        for widget in (self.title, self.officer_label, self.hint):
            box.addWidget(widget)
        box.addLayout(row)
        box.addWidget(self.relogin_button, 0, Qt.AlignmentFlag.AlignLeft)
        box.addWidget(self.message_label)
        panel = QWidget(self)
        panel.setMaximumWidth(560)
        panel.setLayout(box)
        middle = QHBoxLayout()  # no alignment flags: they would drop the labels' height-for-width
        middle.addStretch(1)
        middle.addWidget(panel, 10)
        middle.addStretch(1)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addLayout(middle)
        outer.addStretch(2)

    def show_locked(self, reason: Reason, officer: Officer | None) -> None:
        self.title.setText(lock_title(reason))
        self.officer_label.setText(officer_line(officer))
        self.officer_label.setVisible(officer is not None)
        self.hint.setText(self.tr("Insert the same officer card and enter its PIN to unlock."))
        self.pin_edit.clear()
        for widget in (self.pin_edit, self.unlock_button, self.logout_button):
            widget.setVisible(True)
        self.relogin_button.setVisible(False)
        self.show_message("")
        self.set_busy(False)

    def show_ended(self, title: str, text: str, button: str = "") -> None:
        """No session: ``title``, ``text`` and the (re)login button labelled ``button``."""
        self.relogin_button.setText(button or self.tr("Log in again"))
        self.title.setText(title)
        self.officer_label.setVisible(False)
        self.hint.setText(text)
        self.pin_edit.clear()
        for widget in (self.pin_edit, self.unlock_button, self.logout_button):
            widget.setVisible(False)
        self.relogin_button.setVisible(True)
        self.show_message("")

    def show_message(self, text: str, *, error: bool = True) -> None:
        self.message_label.setStyleSheet(ERROR_STYLE if error else OK_STYLE)
        self.message_label.setText(text)

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.pin_edit.setEnabled(not busy)
        self._update_button()

    def _update_button(self) -> None:
        self.unlock_button.setEnabled(pin_complete(self.pin_edit.text()) and not self._busy)

    def _submit(self) -> None:
        pin = self.pin_edit.text()
        if self._busy or not pin_complete(pin):
            return
        self.pin_edit.clear()
        self.unlock_requested.emit(pin)


def _is_lock_page(widget: QWidget) -> bool:
    return isinstance(widget, LockPage)


class _DialogCover(QObject):
    """A LockPage laid over a dialog's whole area, following its size."""

    def __init__(self, dialog: QDialog, page: LockPage) -> None:
        super().__init__(dialog)
        self.dialog = dialog
        self.page = page
        page.setGeometry(dialog.rect())
        page.raise_()
        page.show()
        dialog.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.dialog and event.type() == QEvent.Type.Resize:
            self.page.setGeometry(self.dialog.rect())
        return False

    def remove(self) -> None:
        self.dialog.removeEventFilter(self)
        self.page.hide()
        self.page.deleteLater()
        self.deleteLater()


class SessionLock(QObject):
    """Locks ``window`` with the officer session (see the module docstring).

    Signals: ``relogin_requested`` (重新登录 after the session ended), ``lock_changed(bool)``
    (content hidden or shown). ``unsaved_work_note`` overrides the sentence telling the officer
    what happened to unsaved work when the session ends."""

    relogin_requested = Signal()
    lock_changed = Signal(bool)

    def __init__(
        self,
        window: QMainWindow,
        bridge: CardSessionBridge,
        *,
        unsaved_work_note: str | None = None,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.bridge = bridge
        self.unsaved_work_note = unsaved_work_note or self.tr(
            "Saved enrollments stay on this desk and are uploaded as usual; an enrollment that "
            "was not saved has been discarded and must be captured again."
        )
        self.locked_at: float | None = None  # time.monotonic() when the content was hidden
        self._covers: list[_DialogCover] = []
        self._card_seen = False
        self._last_lock: SessionEvent | None = None
        self.guard = InputGuard(_is_lock_page, self._pin_field_for, self._late_dialog, self)
        content = window.takeCentralWidget()
        self.stack = QStackedWidget(window)
        self.content = content if content is not None else QWidget(window)
        self.stack.addWidget(self.content)
        self.page = self._new_page(self.stack)
        self.stack.addWidget(self.page)
        window.setCentralWidget(self.stack)
        bridge.session_changed.connect(self._on_session)
        bridge.presence_changed.connect(self._on_presence)
        if bridge.state is not SessionState.LOGGED_IN:
            self._hide_content()
            self.page.show_ended(
                self.tr("Not logged in"),
                self.tr("Insert the officer card and log in."),
                self.tr("Log in"),
            )

    @classmethod
    def install(cls, window: QMainWindow, bridge: CardSessionBridge) -> SessionLock:
        return cls(window, bridge)

    @property
    def covered(self) -> bool:
        return self.stack.currentWidget() is self.page

    def _new_page(self, parent: QWidget) -> LockPage:
        page = LockPage(parent)
        page.unlock_requested.connect(self._unlock)
        page.logout_requested.connect(self.bridge.logout)
        page.relogin_requested.connect(self.relogin_requested)
        return page

    def _pages(self) -> list[LockPage]:
        return [self.page] + [cover.page for cover in self._covers]

    # --- session events ----------------------------------------------------------------------

    def _on_session(self, event: SessionEvent) -> None:
        if event.state is SessionState.LOCKED:
            self._last_lock = event
            self.guard.install()  # first: it remembers where each window had the focus
            self._hide_content()
            self._cover_dialogs()
            for page in self._pages():
                page.show_locked(event.reason, event.officer)
            self._card_seen = False
            self.guard.focus_pin_field()
        elif event.state is SessionState.LOGGED_IN:
            self._show_content()
            self.guard.remove()  # last: it puts the focus back where it was
        else:
            self._end(event)

    def _pin_field_for(self, window: QWidget | None) -> QWidget:
        for cover in self._covers:
            if cover.dialog is window:
                return cover.page.pin_edit
        return self.page.pin_edit

    def _late_dialog(self, dialog: QDialog) -> None:
        """A dialog shown while locked (the guard saw it): cover it like the others."""
        event = self._last_lock
        if event is None or self.bridge.state is not SessionState.LOCKED:
            return
        if any(cover.dialog is dialog for cover in self._covers):
            return
        page = self._new_page(dialog)
        self._covers.append(_DialogCover(dialog, page))
        page.show_locked(event.reason, event.officer)
        self.guard.focus_pin_field()

    def _end(self, event: SessionEvent) -> None:
        self.guard.remove()
        self._hide_content()
        self._uncover_dialogs()
        for dialog in self._open_dialogs():
            log.info("session ended: closing %s without saving", type(dialog).__name__)
            dialog.reject()
        if event.reason is Reason.OTHER_CARD:
            title = self.tr("Session ended")
            other = event.other_officer.display if event.other_officer else ""
            who = event.officer.display if event.officer else ""
            text = (
                self.tr("The card of another officer (%1) was inserted: the session of %2 ended.")
                .replace("%1", other)
                .replace("%2", who)
            )
        else:
            title = self.tr("Logged out")
            text = self.tr("The officer session has ended.")
        self.page.show_ended(title, f"{text}\n{self.unsaved_work_note}")

    def _hide_content(self) -> None:
        if not self.covered:
            self.stack.setCurrentWidget(self.page)
            self.locked_at = time.monotonic()
            log.info("window content hidden (session not open)")
        self._set_chrome_enabled(False)
        self.lock_changed.emit(True)

    def _show_content(self) -> None:
        self._uncover_dialogs()
        self.stack.setCurrentWidget(self.content)
        self.locked_at = None
        self._set_chrome_enabled(True)
        self.lock_changed.emit(False)

    def _set_chrome_enabled(self, enabled: bool) -> None:
        for bar in self.window.findChildren(QMenuBar):
            bar.setEnabled(enabled)
        for toolbar in self.window.findChildren(QToolBar):
            if not toolbar.property(KEEP_ENABLED):
                toolbar.setEnabled(enabled)

    def _open_dialogs(self) -> list[QDialog]:
        return [
            widget
            for widget in QApplication.topLevelWidgets()
            if isinstance(widget, QDialog) and widget.isVisible()
        ]

    def _cover_dialogs(self) -> None:
        covered = {cover.dialog for cover in self._covers}
        for dialog in self._open_dialogs():
            if dialog not in covered:
                self._covers.append(_DialogCover(dialog, self._new_page(dialog)))

    def _uncover_dialogs(self) -> None:
        for cover in self._covers:
            cover.remove()
        self._covers = []

    # --- unlock ------------------------------------------------------------------------------

    def _on_presence(self, snapshot: PresenceSnapshot) -> None:
        """While locked, a card coming in is read at once: another officer's card ends the
        session without anyone typing a PIN into it."""
        card_in = snapshot.card_reader is not None
        if self.bridge.state is SessionState.LOCKED and card_in and not self._card_seen:
            self.bridge.examine_card(self._card_examined, self._card_failed)
        self._card_seen = card_in

    def _card_examined(self, officer: Officer) -> None:
        text = self.tr("Card of %1 inserted: enter the PIN to unlock.").replace(
            "%1", officer.display
        )
        for page in self._pages():
            page.show_message(text, error=False)

    def _card_failed(self, exc: BaseException) -> None:
        if isinstance(exc, OtherOfficerCardError):
            return  # the session event that follows shows the ended page
        if self.bridge.state is SessionState.LOCKED:
            for page in self._pages():
                page.show_message(error_text(exc))

    def _unlock(self, pin: str) -> None:
        for page in self._pages():
            page.set_busy(True)
            page.show_message(self.tr("Reading the card..."), error=False)
        self.bridge.unlock(pin, self._unlocked, self._unlock_failed)

    def _unlocked(self, _officer: Officer) -> None:
        for page in self._pages():
            page.set_busy(False)

    def _unlock_failed(self, exc: BaseException) -> None:
        for page in self._pages():
            page.set_busy(False)
            if self.bridge.state is SessionState.LOCKED:
                page.show_message(error_text(exc))


def attach_session(window: QMainWindow, bridge: CardSessionBridge) -> SessionLock:
    """Wire a main window to the officer session in one call (GUI thread):

    - the lock screen (``SessionLock``) over the window's content;
    - the window's ``logout_requested`` signal (退出), if it has one, ends the session;
    - the window's ``set_officer(officer | None)``, if it has one, follows the session (the
      header shows who is logged in);
    - 重新登录 on the ended page opens the login dialog over the window; a successful login
      shows the content again (for the new officer)."""
    from bts_desk.ui.login_dialog import run_login

    lock = SessionLock(window, bridge)
    logout_signal = getattr(window, "logout_requested", None)
    if logout_signal is not None:
        logout_signal.connect(bridge.logout)
    set_officer = getattr(window, "set_officer", None)
    if callable(set_officer):

        def follow(event: SessionEvent) -> None:
            set_officer(event.officer if event.state is not SessionState.LOGGED_OUT else None)

        bridge.session_changed.connect(follow)
    lock.relogin_requested.connect(lambda: run_login(bridge, window))
    return lock
