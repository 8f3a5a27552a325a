"""详情: a read-only dialog with every field of one 边民备案记录 (grey fields, manual 2.2).

Shows a ``domain.Borderer`` (ID number already masked by the store) and, when the newest
补录 of the record on this desk recorded biometrics as impossible to capture, those entries
(未采集原因: 无法采集：右手食指（手指缺失）…). GUI thread; it does no database work itself:
the query page hands it the record it already holds and the entries it loaded off the GUI
thread.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from bts_desk.domain import BioException, Borderer
from bts_desk.ui.borderer_model import cell_text
from bts_desk.ui.exception_dialog import exception_text
from bts_desk.ui.fields import FieldKind, set_field_kind
from bts_desk.ui.labels import FIELD_CAPTIONS, field_caption

# Every field of the record, in the manual's column order, then the two filter-only fields.
FIELDS: tuple[str, ...] = tuple(FIELD_CAPTIONS)


class DetailsDialog(QDialog):
    """Modal, read-only. ``field(key)`` returns the line edit of a field (tests, tour)."""

    def __init__(
        self,
        borderer: Borderer,
        parent: QWidget | None = None,
        exceptions: Sequence[BioException] = (),
    ) -> None:
        super().__init__(parent)
        self.setObjectName("detailsDialog")
        self.setWindowTitle(self.tr("Borderer details"))
        self.borderer = borderer
        self._fields: dict[str, QLineEdit] = {}
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(8)
        row, col = 0, 0
        for key in FIELDS:
            wide = key == "address"  # long addresses get a whole row
            if wide and col:
                row, col = row + 1, 0
            caption = QLabel(field_caption(key), self)
            caption.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            edit = QLineEdit(cell_text(borderer, key), self)
            edit.setObjectName(f"detail_{key}")
            edit.setReadOnly(True)
            edit.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            edit.setCursorPosition(0)
            set_field_kind(edit, FieldKind.READONLY)
            caption.setBuddy(edit)
            grid.addWidget(caption, row, col * 2)
            grid.addWidget(edit, row, col * 2 + 1, 1, 3 if wide else 1)
            self._fields[key] = edit
            row, col = (row + 1, 0) if wide or col else (row, 1)
        self.exceptions = tuple(exceptions)
        if self.exceptions:  # a whole row, like the address
            row = row + 1 if col else row
            caption = QLabel(self.tr("Not captured"), self)
            caption.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            edit = QLineEdit("；".join(exception_text(x) for x in self.exceptions), self)
            edit.setObjectName("detail_exceptions")
            edit.setReadOnly(True)
            edit.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            edit.setCursorPosition(0)
            set_field_kind(edit, FieldKind.READONLY)
            caption.setBuddy(edit)
            grid.addWidget(caption, row, 0)
            grid.addWidget(edit, row, 1, 1, 3)
            self._fields["exceptions"] = edit
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText(self.tr("Close"))
        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addWidget(buttons)
        self.resize(760, self.sizeHint().height())

    def field(self, key: str) -> QLineEdit:
        return self._fields[key]
