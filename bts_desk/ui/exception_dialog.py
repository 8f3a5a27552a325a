"""无法采集 / 无法拍照: the officer records why a finger or the face cannot be captured.

A small window-modal dialog over the 补录 dialog: the biometric it is about (右手食指, 人脸),
the reasons that fit it as radio buttons (手指缺失 / 手指受损 / 包扎 / 其他 for a finger;
包扎 / 无法配合拍照 / 其他 for the face) and, for 其他, a line of text (required, at most
``domain.MAX_EXCEPTION_NOTE`` characters). 确认 is the officer's confirmation; it stays
disabled until the choice is complete. Keyboard: Alt+1..4 choose a reason, Enter confirms,
Esc cancels. Opened with ``open()`` (no nested event loop); ``chosen(BioException)`` on
确认. GUI thread only; no I/O.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from bts_desk.domain import (
    FACE_EXCEPTION_REASONS,
    FINGER_EXCEPTION_REASONS,
    MAX_EXCEPTION_NOTE,
    BioException,
    ExceptionReason,
    FingerPosition,
)
from bts_desk.ui.labels import label


def exception_text(exception: BioException) -> str:
    """无法采集：右手食指（包扎） / 无法拍照（其他：…）: how the 补录 dialog and 详情 name an
    entry."""
    reason = label(exception.reason)
    if exception.note:
        reason = f"{reason}：{exception.note}"
    if exception.position is None:
        text = QCoreApplication.translate("ExceptionDialog", "No photo possible (%1)")
        return text.replace("%1", reason)
    text = QCoreApplication.translate("ExceptionDialog", "Cannot capture: %1 (%2)")
    return text.replace("%1", label(exception.position)).replace("%2", reason)


class ExceptionDialog(QDialog):
    """Why ``position`` (None: the face) cannot be captured. ``chosen`` carries the entry."""

    chosen = Signal(object)  # BioException

    def __init__(self, position: FingerPosition | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("exceptionDialog")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.position = position
        face = position is None
        self.setWindowTitle(self.tr("Photo not possible") if face else self.tr("Cannot capture"))
        if position is None:
            what = self.tr("The face cannot be photographed. Reason:")
        else:
            what = self.tr("The %1 cannot be captured. Reason:").replace("%1", label(position))
        self.question = QLabel(what, self)
        self.question.setObjectName("exceptionQuestion")
        self.question.setStyleSheet("font-size: 15px; font-weight: bold;")
        self.group = QButtonGroup(self)
        self.reasons: dict[ExceptionReason, QRadioButton] = {}
        layout = QVBoxLayout(self)
        layout.addWidget(self.question)
        reasons = FACE_EXCEPTION_REASONS if face else FINGER_EXCEPTION_REASONS
        for number, reason in enumerate(reasons, 1):
            radio = QRadioButton(f"{label(reason)}(&{number})", self)
            radio.setObjectName(f"reason_{reason.value}")
            self.group.addButton(radio)
            self.reasons[reason] = radio
            layout.addWidget(radio)
            radio.toggled.connect(self._changed)
        self.note = QLineEdit(self)
        self.note.setObjectName("exceptionNote")
        self.note.setMaxLength(MAX_EXCEPTION_NOTE)
        self.note.setPlaceholderText(self.tr("Describe the reason (required for Other)"))
        self.note.textChanged.connect(self._changed)
        note_row = QHBoxLayout()
        note_row.addSpacing(24)
        note_row.addWidget(self.note, 1)
        layout.addLayout(note_row)
        self.hint = QLabel(self.tr("The officer confirms: recorded and kept in the audit log."))
        self.hint.setStyleSheet("color: #606266;")
        layout.addWidget(self.hint)
        self.confirm_button = QPushButton(self.tr("C&onfirm"), self)
        self.confirm_button.setObjectName("primaryButton")
        self.cancel_button = QPushButton(self.tr("&Cancel"), self)
        self.confirm_button.clicked.connect(self.confirm)
        self.cancel_button.clicked.connect(self.reject)
        for button in (self.confirm_button, self.cancel_button):
            button.setAutoDefault(False)  # Enter is keyPressEvent's: confirm when complete
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.confirm_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        self.setMinimumWidth(360)  # the text of 其他 and its placeholder in full
        self._changed()

    def exception(self) -> BioException | None:
        """The entry as chosen so far, or None while it is incomplete or invalid."""
        reason = next((r for r, b in self.reasons.items() if b.isChecked()), None)
        if reason is None:
            return None
        note = self.note.text().strip() if reason is ExceptionReason.OTHER else ""
        entry = BioException(self.position, reason, note)
        return entry if entry.problem() is None else None

    def choose(self, reason: ExceptionReason, note: str = "") -> None:
        """Pick a reason (and its text), as the officer's clicks would (tests, tour)."""
        self.reasons[reason].setChecked(True)
        if note:
            self.note.setText(note)

    def confirm(self) -> None:
        entry = self.exception()
        if entry is None:
            return
        self.chosen.emit(entry)
        self.accept()

    def _changed(self) -> None:
        other = self.reasons.get(ExceptionReason.OTHER)
        self.note.setEnabled(other is not None and other.isChecked())
        if self.note.isEnabled() and not self.note.hasFocus() and self.isVisible():
            self.note.setFocus()
        self.confirm_button.setEnabled(self.exception() is not None)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter confirms a complete choice (never a half one); Esc cancels."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()
            self.confirm()
            return
        super().keyPressEvent(event)
