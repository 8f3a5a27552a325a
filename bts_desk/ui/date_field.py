"""A date input for filters: typed as ``yyyy-MM-dd`` or picked from a calendar.

Officers type dates (the manual's keyboard habits), so this is a line edit; the calendar
button at its right end, Alt+Down or F4 opens a calendar popup for those who prefer to pick.
Empty means "no bound". GUI thread.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QAction, QKeyEvent
from PySide6.QtWidgets import QCalendarWidget, QLineEdit, QStyle, QWidget


class DateField(QLineEdit):
    """``value()`` is the typed date or None; raises ValueError for text that is no date."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText("yyyy-MM-dd")
        self.setMaxLength(10)
        self.setClearButtonEnabled(True)
        icon = self.style().standardIcon(QStyle.StandardPixmap.SP_FileDialogDetailedView)
        self.calendar_action = QAction(icon, self.tr("Pick a date"), self)
        self.calendar_action.triggered.connect(self.show_calendar)
        self.addAction(self.calendar_action, QLineEdit.ActionPosition.TrailingPosition)
        self.calendar = QCalendarWidget(self)
        self.calendar.setWindowFlags(Qt.WindowType.Popup)
        self.calendar.setGridVisible(True)
        self.calendar.clicked.connect(self._picked)
        self.calendar.activated.connect(self._picked)

    def value(self) -> dt.date | None:
        text = self.text().strip()
        return dt.date.fromisoformat(text) if text else None

    def show_calendar(self) -> None:
        """Open the calendar below the field, on the typed date (or today)."""
        try:
            current = self.value()
        except ValueError:
            current = None
        day = QDate(current.year, current.month, current.day) if current else QDate.currentDate()
        self.calendar.setSelectedDate(day)
        self.calendar.move(self.mapToGlobal(self.rect().bottomLeft()))
        self.calendar.show()
        self.calendar.setFocus()

    def _picked(self, day: QDate) -> None:
        self.setText(day.toString("yyyy-MM-dd"))
        self.calendar.hide()
        self.setFocus()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        alt_down = (
            event.key() == Qt.Key.Key_Down and event.modifiers() & Qt.KeyboardModifier.AltModifier
        )
        if alt_down or event.key() == Qt.Key.Key_F4:
            self.show_calendar()
            return
        super().keyPressEvent(event)
