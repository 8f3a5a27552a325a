"""The officer login dialog: insert the card (卡介质), type its PIN (卡密码), 登录.

Reader and card state update live from the presence monitor; the PIN field is masked and takes
6–8 digits only; Enter submits; the card is read on a worker thread and errors appear in Chinese
in a red line (the PIN field is cleared after a wrong PIN: it is never retried by itself).
GUI thread.

At start-up the dialog is shown before the card stack exists (``bridge=None``): the officer
can type the PIN at once; ``attach`` connects the card session once the shell has built it,
and 登录 waits for it. So this module imports no card code (cryptography, PC/SC) at load.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QRegularExpression
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from bts_desk.card.pin import PIN_MAX_LENGTH, PIN_MIN_LENGTH
from bts_desk.errors import DeskError

if TYPE_CHECKING:
    from bts_desk.card.monitor import PresenceSnapshot
    from bts_desk.domain import Officer
    from bts_desk.ui.card_session import CardSessionBridge

log = logging.getLogger(__name__)

ERROR_STYLE = "color: #d9363e; font-weight: bold;"
OK_STYLE = "color: #1a7f37;"
WARN_STYLE = "color: #b35900;"


def pin_field(parent: QWidget, *, input_hints: bool = True) -> QLineEdit:
    """A masked PIN entry that accepts 6–8 digits only (shared with the lock screen).

    ``input_hints=False``: the login screen, shown before anything else, leaves the digit
    keypad hint to ``set_pin_hints`` once the main window is up (the first use of PySide's
    ``Qt`` namespace builds all its enums, ~75 ms; the password mode already keeps input
    methods off the field and the validator takes only digits)."""
    field = QLineEdit(parent)
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setMaxLength(PIN_MAX_LENGTH)
    field.setValidator(
        QRegularExpressionValidator(QRegularExpression(f"[0-9]{{0,{PIN_MAX_LENGTH}}}"), field)
    )
    if input_hints:
        set_pin_hints(field)
    field.setProperty("field", "required")
    return field


def set_pin_hints(field: QLineEdit) -> None:
    """Digits only and sensitive, for on-screen keyboards and input methods."""
    from PySide6.QtCore import Qt

    field.setInputMethodHints(
        Qt.InputMethodHint.ImhDigitsOnly | Qt.InputMethodHint.ImhSensitiveData
    )


def pin_complete(text: str) -> bool:
    return text.isdigit() and PIN_MIN_LENGTH <= len(text) <= PIN_MAX_LENGTH


def error_text(exc: BaseException) -> str:
    """What to show for a failed card operation (DeskError: its Chinese user message)."""
    if isinstance(exc, DeskError):
        return exc.user_message
    log.error("card operation failed unexpectedly: %r", exc)
    return QCoreApplication.translate(
        "CardPresence", "The card could not be read. Please try again."
    )


class LoginDialog(QDialog):
    """Modal login. ``exec()`` returns Accepted once an officer is logged in (``officer``)."""

    def __init__(self, bridge: CardSessionBridge | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge: CardSessionBridge | None = None
        self.officer: Officer | None = None
        self._busy = False
        self._card_in = False
        self._card_events: tuple[int, ...] = ()
        self.setWindowTitle(self.tr("Border Trade Service - officer login"))
        self.setMinimumWidth(420)
        self._build()
        self.pin_edit.setFocus()  # typing can start before the card stack is there
        if bridge is not None:
            self.attach(bridge)
        self._update_button()

    def attach(self, bridge: CardSessionBridge) -> None:
        """The card session is ready (start-up): follow its presence; a PIN already typed
        with a card in can now be submitted."""
        self.bridge = bridge
        bridge.presence_changed.connect(self._show_presence)
        if bridge.presence is not None:
            self._show_presence(bridge.presence)
        self._update_button()

    def _build(self) -> None:
        title = QLabel(self.tr("Border Trade Service"), self)
        title.setObjectName("loginTitle")
        title.setStyleSheet("font-size: 20px; font-weight: bold; color: #1f5fa8;")
        hint = QLabel(self.tr("Insert the officer card and enter the card PIN."), self)
        self.reader_label = QLabel(self.tr("Looking for card readers..."), self)
        self.card_label = QLabel(self)
        self.pin_edit = pin_field(self, input_hints=False)  # app.run_gui sets them
        self.pin_edit.setPlaceholderText(self.tr("6-8 digits"))
        self.pin_edit.textChanged.connect(self._update_button)
        self.pin_edit.returnPressed.connect(self.submit)
        self.login_button = QPushButton(self.tr("Log in"), self)
        self.login_button.setObjectName("primaryButton")
        self.login_button.setDefault(True)
        self.login_button.clicked.connect(self.submit)
        self.message_label = QLabel(self)
        self.message_label.setObjectName("loginMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet(ERROR_STYLE)
        form = QFormLayout()
        form.addRow(self.tr("Card reader:"), self.reader_label)
        form.addRow(self.tr("Card:"), self.card_label)
        form.addRow(self.tr("Card PIN:"), self.pin_edit)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addLayout(form)
        layout.addWidget(self.message_label)
        buttons = QHBoxLayout()  # the button at the right (no Qt.AlignmentFlag: see pin_field)
        buttons.addStretch(1)
        buttons.addWidget(self.login_button)
        layout.addLayout(buttons)

    # --- presence ----------------------------------------------------------------------------

    def _show_presence(self, snapshot: PresenceSnapshot) -> None:
        reader_text, card_text, style, card_in = presence_texts(snapshot)
        self.reader_label.setText(reader_text)
        self.card_label.setText(card_text)
        self.card_label.setStyleSheet(style)
        events = tuple(r.card_events for r in snapshot.readers)
        if events != self._card_events and not self._busy:
            self.pin_edit.setEnabled(True)  # another card: a blocked one no longer matters
            self._card_events = events
        if card_in and not self._card_in:
            self.pin_edit.setFocus()
        self._card_in = card_in
        self._update_button()

    def _update_button(self) -> None:
        ready = pin_complete(self.pin_edit.text()) and self._card_in and not self._busy
        self.login_button.setEnabled(ready)

    # --- login -------------------------------------------------------------------------------

    def submit(self) -> None:
        """登录 / Enter: one login attempt on a worker thread (never repeated by itself)."""
        pin = self.pin_edit.text()
        if self._busy:
            return
        if not pin_complete(pin):
            self.message_label.setText(self.tr("The PIN has 6 to 8 digits."))
            return
        if not self._card_in or self.bridge is None:
            self.message_label.setText(self.tr("Please insert the officer card."))
            return
        self._set_busy(True)
        self.message_label.setStyleSheet(OK_STYLE)
        self.message_label.setText(self.tr("Reading the card..."))
        self.bridge.login(pin, self._logged_in, self._failed)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.pin_edit.setEnabled(not busy)
        self._update_button()

    def _logged_in(self, officer: Officer) -> None:
        self._set_busy(False)
        self.officer = officer
        self.pin_edit.clear()
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self._set_busy(False)
        self.pin_edit.clear()
        self.message_label.setStyleSheet(ERROR_STYLE)
        self.message_label.setText(error_text(exc))
        from bts_desk.card.profile import PinBlockedError  # the card stack is loaded by now

        if isinstance(exc, PinBlockedError):
            self.pin_edit.setEnabled(False)  # no point typing: only 发卡单位 can unblock it
        self.pin_edit.setFocus()


def presence_texts(snapshot: PresenceSnapshot) -> tuple[str, str, str, bool]:
    """(reader text, card text, card style, card present) for the login and lock screens."""
    if snapshot.error:
        return snapshot.error, "", ERROR_STYLE, False
    if not snapshot.readers:
        return (
            QCoreApplication.translate("CardPresence", "No card reader found"),
            "",
            ERROR_STYLE,
            False,
        )
    reader = snapshot.card_reader
    if reader is not None:
        return (
            reader.name,
            QCoreApplication.translate("CardPresence", "Card inserted"),
            OK_STYLE,
            True,
        )
    if any(r.card_present and r.mute for r in snapshot.readers):
        text = QCoreApplication.translate(
            "CardPresence", "The card does not respond: insert it the right way round"
        )
        return snapshot.readers[0].name, text, ERROR_STYLE, False
    return (
        snapshot.readers[0].name,
        QCoreApplication.translate("CardPresence", "Please insert the officer card"),
        WARN_STYLE,
        False,
    )


def run_login(bridge: CardSessionBridge, parent: QWidget | None = None) -> Officer | None:
    """Show the login dialog modally; the officer, or None if it was closed. GUI thread."""
    dialog = LoginDialog(bridge, parent)
    try:
        return dialog.officer if dialog.exec() == QDialog.DialogCode.Accepted else None
    finally:
        dialog.deleteLater()
