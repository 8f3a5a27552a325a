"""Demo only: a tool bar button that pulls the virtual officer card out and puts it back.

In the demo there is no card to pull: 演示：拔出卡 / 演示：插入卡 calls the virtual card's
``remove()`` / ``insert()`` (``bts_desk.drivers.piv_card``; both return at once, the card's own
thread does the socket work), so pcscd, the monitor and the lock see a real removal. The tool
bar stays enabled while the window is locked. GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QToolBar

from bts_desk.ui.session_lock import KEEP_ENABLED
from bts_desk.ui.tasks import gui_poster


class RemovableCard(Protocol):
    """What the control needs of a virtual card (``VirtualPivCard`` has it). ``on_change`` is
    called (any thread) with the new inserted state whenever the card goes in or out."""

    on_change: Callable[[bool], None] | None

    @property
    def inserted(self) -> bool: ...

    def insert(self) -> None: ...

    def remove(self) -> None: ...


class CardDemoControl(QObject):
    """The toggle action; ``install`` puts it on its own tool bar of ``window``."""

    def __init__(self, card: RemovableCard, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.card = card
        self.action = QAction(self)
        self.action.setObjectName("cardDemoAction")
        self.action.triggered.connect(self.toggle)
        card.on_change = gui_poster().wrap(lambda _inserted: self._update())
        self._update()

    @classmethod
    def install(cls, window: QMainWindow, card: RemovableCard) -> CardDemoControl:
        control = cls(card, window)
        toolbar = QToolBar(control.tr("Demo"), window)
        toolbar.setObjectName("cardDemoToolBar")
        toolbar.setProperty(KEEP_ENABLED, True)
        toolbar.addAction(control.action)
        window.addToolBar(toolbar)
        return control

    def toggle(self) -> None:
        if self.card.inserted:
            self.card.remove()
        else:
            self.card.insert()
        self._update()

    def _update(self) -> None:
        if self.card.inserted:
            self.action.setText(self.tr("Demo: remove card"))
            self.action.setToolTip(self.tr("Pull the virtual officer card out of the reader"))
        else:
            self.action.setText(self.tr("Demo: insert card"))
            self.action.setToolTip(self.tr("Put the virtual officer card back into the reader"))
