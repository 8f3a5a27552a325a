"""The message bar at the bottom of a page: red for invalid input or a failure, blue for news.

The manual: "界面底端弹出红色提示，代表您当前录入的数据有误". The bar stays until the officer
closes it or the next action clears it (errors), or for a few seconds (information). GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

INFO_TIMEOUT_MS = 6000


class MessageBar(QFrame):
    """A one-line bar; ``level`` property ``error`` (red) or ``info`` styles it (desk.qss)."""

    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self._text = QLabel(self)
        self._text.setObjectName("messageText")
        self._text.setWordWrap(True)
        self._text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton(self)
        close.setObjectName("messageClose")
        close.setText("×")
        close.setToolTip(self.tr("Close"))
        close.setAutoRaise(True)
        close.clicked.connect(self.clear)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 6, 6)
        layout.addWidget(self._text, 1)
        layout.addWidget(close)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.clear)
        self.hide()

    @property
    def text(self) -> str:
        return self._text.text()

    @property
    def level(self) -> str:
        return str(self.property("level") or "")

    def show_error(self, message: str) -> None:
        """Red bar: the input is wrong or an operation failed. Stays until cleared."""
        self._show(message, "error")

    def show_info(self, message: str) -> None:
        """Neutral bar that hides itself after a few seconds."""
        self._show(message, "info")
        self._timer.start(INFO_TIMEOUT_MS)

    def clear(self) -> None:
        self._timer.stop()
        if self.isVisible():
            self.hide()
            self.closed.emit()
        self._text.clear()

    def _show(self, message: str, level: str) -> None:
        self._timer.stop()
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        self._text.setText(message)
        self.show()
