"""Qt adapter of the officer card session: core callbacks in, Qt signals out, card work off
the GUI thread.

``CardSessionBridge`` owns the ``PresenceMonitor`` and the ``OfficerSession`` for the widgets:
it forwards the monitor's snapshots and the session's events to the GUI thread as signals
(through ``gui_poster().wrap``), and runs login/unlock/examine on Qt's thread pool. The
session's lock check itself stays on the monitor thread (no GUI round trip before locking).

Create on the GUI thread, after the QApplication.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from bts_desk.card.monitor import PresenceMonitor, PresenceSnapshot
from bts_desk.card.profile import PinBlockedError, WrongPinError
from bts_desk.card.session import OfficerSession, SessionEvent, SessionState
from bts_desk.config import Settings
from bts_desk.domain import Officer
from bts_desk.ui.tasks import gui_poster, run_in_background

log = logging.getLogger(__name__)


class CardSessionBridge(QObject):
    """Signals: ``presence_changed(PresenceSnapshot)``, ``session_changed(SessionEvent)``."""

    presence_changed = Signal(object)
    session_changed = Signal(object)
    # A wrong PIN or a blocked card at login or unlock: (the CardError, whose card or None),
    # for the audit log (the session's state does not change, so it is no SessionEvent).
    attempt_failed = Signal(object, object)

    def __init__(
        self,
        session: OfficerSession,
        monitor: PresenceMonitor,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.monitor = monitor
        self.presence: PresenceSnapshot | None = None
        poster = gui_poster()
        self._unsubscribe = [
            monitor.add_tick_listener(session.on_tick),
            session.add_listener(poster.wrap(self._session_event)),
            monitor.add_listener(poster.wrap(self._presence)),
        ]
        monitor.start()

    @classmethod
    def from_settings(cls, settings: Settings, parent: QObject | None = None) -> CardSessionBridge:
        """Session and monitor for ``[card]``; raises ConfigError/CardError (e.g. no CA)."""
        session = OfficerSession.from_settings(settings)
        return cls(session, PresenceMonitor(settings.card.reader), parent)

    def close(self) -> None:
        """Stop the monitor and end the session (application exit). GUI thread."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        self.monitor.stop()
        self.session.logout()

    # --- state, GUI thread ------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        return self.session.state

    @property
    def officer(self) -> Officer | None:
        return self.session.officer

    def _presence(self, snapshot: PresenceSnapshot) -> None:
        self.presence = snapshot
        self.presence_changed.emit(snapshot)

    def _session_event(self, event: SessionEvent) -> None:
        self.session_changed.emit(event)

    # --- card work, on the thread pool ------------------------------------------------------

    def login(
        self,
        pin: str,
        on_success: Callable[[Officer], None],
        on_failure: Callable[[BaseException], None],
    ) -> None:
        run_in_background(lambda: self.session.login(pin), on_success, self._failed(on_failure))

    def unlock(
        self,
        pin: str,
        on_success: Callable[[Officer], None],
        on_failure: Callable[[BaseException], None],
    ) -> None:
        run_in_background(lambda: self.session.unlock(pin), on_success, self._failed(on_failure))

    def _failed(
        self, on_failure: Callable[[BaseException], None]
    ) -> Callable[[BaseException], None]:
        def failed(exc: BaseException) -> None:
            if isinstance(exc, WrongPinError | PinBlockedError):
                self.attempt_failed.emit(exc, self.session.last_card_officer)
            on_failure(exc)

        return failed

    def examine_card(
        self,
        on_success: Callable[[Officer], None],
        on_failure: Callable[[BaseException], None],
    ) -> None:
        run_in_background(self.session.examine_card, on_success, on_failure)

    def logout(self) -> None:
        """退出 (no card I/O beyond a disconnect: fine on the GUI thread)."""
        self.session.logout()
