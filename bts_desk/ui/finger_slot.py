"""指纹1 / 指纹2 of the 补录 dialog: the captured picture, the red/green lamp with its caption,
the finger the slot is for, and its 无法采集 button. GUI thread only; no device I/O (the dialog
drives the capture and tells the slot what to show)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from bts_desk.domain import FingerCapture, FingerPosition
from bts_desk.ui.labels import label

RED, GREEN, AMBER, GREY = "#d9363e", "#2e9e44", "#e6a23c", "#909399"


class FingerSlot(QFrame):
    """指纹1 / 指纹2: the captured image (once there), the red/green lamp under it with the
    caption, and the finger it is for."""

    def __init__(
        self, title: str, position: FingerPosition, unable: str, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.image = QLabel(self)
        self.image.setFixedSize(128, 144)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setStyleSheet("background: #f4f6f8; border: 1px solid #dcdfe6;")
        self.lamp = QLabel(self)
        self.lamp.setFixedSize(16, 16)
        self.caption = QLabel(title, self)
        self.finger = QComboBox(self)
        self.finger.setObjectName("fingerPosition")
        for choice in FingerPosition.choices():
            self.finger.addItem(label(choice), int(choice))
        self.finger.setCurrentIndex(self.finger.findData(int(position)))
        self.unable_button = QPushButton(unable, self)  # 无法采集: records why, for this finger
        self.unable_button.setObjectName("unableButton")
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.lamp)
        row.addWidget(self.caption)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.image, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addLayout(row)
        layout.addWidget(self.finger)
        layout.addWidget(self.unable_button)
        self.set_state(RED)

    @property
    def position(self) -> FingerPosition:
        return FingerPosition.from_code(int(self.finger.currentData()))

    def set_position(self, position: FingerPosition) -> None:
        self.finger.setCurrentIndex(self.finger.findData(int(position)))

    def set_state(self, colour: str) -> None:
        self.lamp.setProperty("colour", colour)
        self.lamp.setStyleSheet(f"background: {colour}; border-radius: 8px;")

    @property
    def colour(self) -> str:
        return str(self.lamp.property("colour"))

    def show_exception(self, text: str) -> None:
        """无法采集 recorded for the slot's finger: grey lamp, the reason in the picture."""
        self.image.clear()
        self.image.setText(text)
        self.image.setWordWrap(True)
        self.set_state(GREY)

    def show_capture(self, capture: FingerCapture | None) -> None:
        if capture is None:
            self.image.clear()
            self.set_state(RED)
            return
        pixmap = QPixmap()
        pixmap.loadFromData(capture.image_png, "PNG")
        self.image.setPixmap(
            pixmap.scaled(
                self.image.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )
        self.set_state(GREEN)
