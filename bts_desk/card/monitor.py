"""Reader and card presence, reported through plain callbacks from one monitor thread.

pyscard's ``CardMonitor``/``ReaderMonitor`` report *events* on their own threads and can miss
some (a card already present at start, a removal after its reader was unplugged). This monitor
instead takes a full *snapshot* of the readers every ``interval_s`` (default 250 ms), waking
early when pcscd signals a change (``SCardGetStatusChange`` with the last known state, plus the
PnP pseudo-reader for readers coming and going). A snapshot includes pcsc-lite's per-reader card
event counter, so a card pulled and another pushed in between two polls is still seen as a
change. Nothing is lost: the newest snapshot is always the truth.

Callbacks run on the monitor thread ("card-monitor"): ``on_change`` when the snapshot differs
from the previous one, ``on_tick`` after every poll (the session checks its card link there).
The UI forwards them to the GUI thread (``gui_poster().wrap``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from smartcard import scard

from bts_desk.card.pcsc import matching_readers, pcsc_error
from bts_desk.errors import CardError

log = logging.getLogger(__name__)

PNP_READER = "\\\\?PnP?\\Notification"


@dataclass(frozen=True)
class ReaderState:
    name: str
    card_present: bool
    card_events: int  # pcsc-lite counts insertions and removals in the state's upper 16 bits
    mute: bool = False  # a card is in, but it does not answer (no ATR)


@dataclass(frozen=True)
class PresenceSnapshot:
    """What the readers look like now. ``error``: a Chinese message when PC/SC is unusable."""

    readers: tuple[ReaderState, ...] = ()
    error: str = ""

    def reader(self, name: str) -> ReaderState | None:
        return next((r for r in self.readers if r.name == name), None)

    @property
    def card_reader(self) -> ReaderState | None:
        """The first reader holding a (responsive) card."""
        return next((r for r in self.readers if r.card_present and not r.mute), None)


Listener = Callable[[PresenceSnapshot], None]


class PresenceMonitor:
    """Polls the PC/SC readers matching ``name_filter`` on a daemon thread (see module doc)."""

    def __init__(self, name_filter: str = "", interval_s: float = 0.25) -> None:
        self.name_filter = name_filter
        self.interval_s = interval_s
        self._change_listeners: list[Listener] = []
        self._tick_listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._context: Any = None
        self._latest: PresenceSnapshot | None = None
        self._first = threading.Event()

    @property
    def latest(self) -> PresenceSnapshot | None:
        """The newest snapshot (None before the first poll). Any thread."""
        return self._latest

    def wait_first(self, timeout: float) -> PresenceSnapshot | None:
        self._first.wait(timeout)
        return self._latest

    def add_listener(self, on_change: Listener) -> Callable[[], None]:
        """Call ``on_change`` (monitor thread) on every change; returns the unsubscribe call.
        The newest snapshot, if any, is delivered at once so no state is missed."""
        with self._lock:
            self._change_listeners.append(on_change)
            latest = self._latest
        if latest is not None:
            on_change(latest)
        return lambda: self._remove(self._change_listeners, on_change)

    def add_tick_listener(self, on_tick: Listener) -> Callable[[], None]:
        """Call ``on_tick`` (monitor thread) after every poll, changed or not."""
        with self._lock:
            self._tick_listeners.append(on_tick)
        return lambda: self._remove(self._tick_listeners, on_tick)

    def _remove(self, listeners: list[Listener], fn: Listener) -> None:
        with self._lock:
            if fn in listeners:
                listeners.remove(fn)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="card-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and join the thread (wakes a blocked wait with SCardCancel). Any thread."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        context = self._context
        if context is not None:
            scard.SCardCancel(context)
        thread.join(timeout=5.0)

    # --- monitor thread ----------------------------------------------------------------------

    def _run(self) -> None:
        states: dict[str, int] = {}
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if self._context is None:
                    self._context = self._establish()
                snapshot, states = self._poll(states)
            except CardError as exc:
                log.debug("card monitor: %s", exc.detail)
                self._release()
                states = {}
                snapshot = PresenceSnapshot(error=exc.user_message)
                self._stop.wait(self.interval_s)
            if not self._publish(snapshot):
                # pcscd answered at once yet nothing changed: never spin, keep the poll rate.
                self._stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))
        self._release()

    def _establish(self) -> Any:
        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hresult != scard.SCARD_S_SUCCESS:
            raise pcsc_error(hresult, "card monitor: establish context")
        return context

    def _release(self) -> None:
        context, self._context = self._context, None
        if context is not None:
            scard.SCardReleaseContext(context)

    def _poll(self, known: dict[str, int]) -> tuple[PresenceSnapshot, dict[str, int]]:
        """Wait up to one interval for a change, then read every reader's current state."""
        readers = self._readers()
        waiting = [(name, known.get(name, scard.SCARD_STATE_UNAWARE)) for name in readers]
        waiting.append((PNP_READER, known.get(PNP_READER, scard.SCARD_STATE_UNAWARE)))
        hresult, changed = scard.SCardGetStatusChange(
            self._context, int(self.interval_s * 1000), waiting
        )
        if hresult == scard.SCARD_S_SUCCESS:
            for name, event_state, _atr in changed:
                if name == PNP_READER:
                    known[name] = event_state & ~scard.SCARD_STATE_CHANGED
        elif hresult not in (scard.SCARD_E_TIMEOUT, scard.SCARD_E_CANCELLED):
            log.debug("card monitor wait: PC/SC 0x%08X", hresult & 0xFFFFFFFF)
        readers = self._readers()
        if not readers:
            return PresenceSnapshot(), {PNP_READER: known.get(PNP_READER, 0)}
        hresult, current = scard.SCardGetStatusChange(
            self._context, 0, [(name, scard.SCARD_STATE_UNAWARE) for name in readers]
        )
        if hresult != scard.SCARD_S_SUCCESS:
            raise pcsc_error(hresult, "card monitor: read reader states")
        states = {PNP_READER: known.get(PNP_READER, 0)}
        result = []
        for name, event_state, _atr in current:
            if event_state & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_UNAVAILABLE):
                continue  # unplugged between the two calls
            states[name] = event_state & ~scard.SCARD_STATE_CHANGED
            result.append(
                ReaderState(
                    name=name,
                    card_present=bool(event_state & scard.SCARD_STATE_PRESENT),
                    card_events=(event_state >> 16) & 0xFFFF,
                    mute=bool(event_state & scard.SCARD_STATE_MUTE),
                )
            )
        return PresenceSnapshot(tuple(result)), states

    def _readers(self) -> list[str]:
        hresult, names = scard.SCardListReaders(self._context, [])
        if hresult == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        if hresult != scard.SCARD_S_SUCCESS:
            raise pcsc_error(hresult, "card monitor: list readers")
        return matching_readers([str(n) for n in names], self.name_filter)

    def _publish(self, snapshot: PresenceSnapshot) -> bool:
        with self._lock:
            changed = snapshot != self._latest
            self._latest = snapshot
            on_change = list(self._change_listeners) if changed else []
            on_tick = list(self._tick_listeners)
        if changed:
            log.debug("card presence: %s", snapshot)
        for listener in on_change + on_tick:
            try:
                listener(snapshot)
            except Exception:  # one broken listener must not stop lock-on-removal
                log.exception("card presence listener failed")
        self._first.set()  # after the listeners: wait_first() callers find them up to date
        return changed
