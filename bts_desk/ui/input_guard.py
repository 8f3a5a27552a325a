"""While the session is locked, no input reaches anything but the lock pages.

A cover painted over a window stops nothing by itself: keys go to the focus widget behind it
(Space and Enter press buttons, Tab walks into fields), ``QTest``-style clicks and shortcuts
address widgets directly, and a dialog opened after the lock has no cover at all. So
``InputGuard`` is an application-wide event filter, installed while locked:

- keyboard, mouse, wheel, touch, tablet, drag-and-drop, context-menu, input-method and shortcut
  events addressed to anything outside a lock page (or a tool bar marked
  ``keepEnabledWhenLocked``, such as the demo card control) are swallowed;
- Tab inside a lock page cycles among that page's own controls instead of leaving it;
- focus that lands outside a lock page is sent back to the PIN field of the page covering
  that window;
- a dialog shown while locked is handed to ``on_dialog_shown`` (the lock covers it).

Nothing is disabled or hidden, so removing the filter restores every window exactly as it was
(``remember_focus``/``restore_focus`` put the focus back where each window had it). GUI thread
only.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeyEvent
from PySide6.QtWidgets import QApplication, QDialog, QWidget

KEEP_ENABLED = "keepEnabledWhenLocked"  # QToolBar property: stays usable while locked

_E = QEvent.Type
BLOCKED_EVENTS = frozenset(
    {
        _E.KeyPress,
        _E.KeyRelease,
        _E.ShortcutOverride,
        _E.Shortcut,
        _E.InputMethod,
        _E.MouseButtonPress,
        _E.MouseButtonRelease,
        _E.MouseButtonDblClick,
        _E.MouseMove,
        _E.Wheel,
        _E.ContextMenu,
        _E.TouchBegin,
        _E.TouchUpdate,
        _E.TouchEnd,
        _E.TabletPress,
        _E.TabletRelease,
        _E.TabletMove,
        _E.DragEnter,
        _E.DragMove,
        _E.Drop,
        _E.NonClientAreaMouseButtonPress,
        _E.NonClientAreaMouseButtonDblClick,
    }
)


_INSTALLED: weakref.WeakSet[InputGuard] = weakref.WeakSet()


def installed_guards() -> list[InputGuard]:
    """The guards installed on the application now (the test suite's clean-up between
    tests asks, since the application outlives each test's windows). GUI thread."""
    return list(_INSTALLED)


class InputGuard(QObject):
    """The application-wide filter (see the module docstring).

    ``is_lock_page(widget)`` tells whether a widget is one of the lock's pages;
    ``pin_field_for(window)`` returns the PIN field to focus for a top-level window (the main
    lock page's for None or a window without a cover)."""

    def __init__(
        self,
        is_lock_page: Callable[[QWidget], bool],
        pin_field_for: Callable[[QWidget | None], QWidget],
        on_dialog_shown: Callable[[QDialog], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._is_lock_page = is_lock_page
        self._pin_field_for = pin_field_for
        self._on_dialog_shown = on_dialog_shown
        self._installed = False
        self._focus: dict[QWidget, QWidget] = {}
        self._refocus_pending = False

    @property
    def active(self) -> bool:
        return self._installed

    def install(self) -> None:
        if self._installed:
            return
        app = QApplication.instance()
        if app is None:
            return
        self._remember_focus()
        popup = QApplication.activePopupWidget()
        while popup is not None:  # an open menu or combo list would keep taking keys
            popup.close()
            next_popup = QApplication.activePopupWidget()
            popup = None if next_popup is popup else next_popup
        app.installEventFilter(self)
        self._installed = True
        _INSTALLED.add(self)

    def remove(self) -> None:
        if not self._installed:
            return
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self._installed = False
        _INSTALLED.discard(self)
        self._restore_focus()

    def focus_pin_field(self) -> None:
        """Put the focus in the PIN field of the active window's lock page (else the main one)."""
        if not self._installed:
            return
        window = QApplication.activeModalWidget() or QApplication.activeWindow()
        field = self._pin_field_for(window)
        if field.isVisible():
            field.setFocus(Qt.FocusReason.OtherFocusReason)

    # --- focus memory ----------------------------------------------------------------------

    def _remember_focus(self) -> None:
        self._focus = {}
        for window in QApplication.topLevelWidgets():
            focus = window.focusWidget()
            if focus is not None and not self._inside_allowed(focus):
                self._focus[window] = focus

    def _restore_focus(self) -> None:
        for window, widget in list(self._focus.items()):
            try:
                if window.isVisible() and widget.isVisible():
                    widget.setFocus(Qt.FocusReason.OtherFocusReason)
            except RuntimeError:  # deleted while locked
                continue
        self._focus = {}

    # --- the filter ---------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == _E.Show and isinstance(watched, QDialog) and watched.isWindow():
            if not self._is_lock_page(watched):
                QTimer.singleShot(0, lambda d=watched: self._dialog_shown(d))
            return False
        if kind == _E.FocusIn and isinstance(watched, QWidget):
            if not self._inside_allowed(watched) and not self._refocus_pending:
                # At once, not later: a click gives focus before any filter sees the press.
                self._refocus_pending = True
                field = self._pin_field_for(watched.window())
                if field.isVisible():
                    field.setFocus(Qt.FocusReason.OtherFocusReason)
                self._refocus_pending = False
            return False
        if kind not in BLOCKED_EVENTS:
            return False
        if not self._inside_allowed(watched):
            return True
        if kind == _E.KeyPress and isinstance(event, QKeyEvent):
            return self._cycle_tab(watched, event)
        return False

    def _dialog_shown(self, dialog: QDialog) -> None:
        try:
            visible = dialog.isVisible()
        except RuntimeError:  # closed and deleted at once
            return
        if self._installed and visible:
            self._on_dialog_shown(dialog)

    def _inside_allowed(self, obj: QObject) -> bool:
        if isinstance(obj, QAction):
            return any(self._inside_allowed(w) for w in obj.associatedObjects())
        widget: QObject | None = obj
        while widget is not None:
            if isinstance(widget, QWidget) and (
                self._is_lock_page(widget) or bool(widget.property(KEEP_ENABLED))
            ):
                return True
            widget = widget.parent()
        return False

    def _cycle_tab(self, watched: QObject, event: QKeyEvent) -> bool:
        """Tab / Shift+Tab move among the lock page's own controls, never out of it."""
        if event.key() not in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
            return False
        page = _lock_page_of(watched, self._is_lock_page)
        if page is None:
            return False
        chain = [
            w
            for w in page.findChildren(QWidget)
            if w.isVisible() and w.isEnabled() and w.focusPolicy() & Qt.FocusPolicy.TabFocus
        ]
        if not chain:
            return True
        current = QApplication.focusWidget()
        index = chain.index(current) if current in chain else -1
        back = event.key() == Qt.Key.Key_Backtab or bool(
            event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        )
        chain[(index + (-1 if back else 1)) % len(chain)].setFocus(Qt.FocusReason.TabFocusReason)
        return True


def _lock_page_of(obj: QObject, is_lock_page: Callable[[QWidget], bool]) -> QWidget | None:
    node: QObject | None = obj
    while node is not None:
        if isinstance(node, QWidget) and is_lock_page(node):
            return node
        node = node.parent()
    return None
