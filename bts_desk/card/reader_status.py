"""The card reader as a device of the 外接设备状态 panel (``DeviceMonitor``).

It reads what the session's ``PresenceMonitor`` already polls (no second PC/SC poller): the
reader is green when PC/SC works and a matching reader is there, red otherwise. Callbacks run
on the presence monitor's thread; ``restart`` re-establishes the PC/SC context (for example
after pcscd was restarted or a reader driver installed). Qt-free.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from bts_desk.card.monitor import PresenceMonitor, PresenceSnapshot
from bts_desk.devices.status import DeviceKind, DeviceStatus, StatusCallback


def token_status(token: str, source: str, driver: str) -> DeviceStatus:
    """The panel's row for a token behind a PKCS#11 module: module, slot and token label of
    the session's token (``token``), or the module alone while no officer is logged in."""
    kind = DeviceKind.CARD_READER
    if token:
        return DeviceStatus(kind, True, f"令牌：{token}", source, driver=driver, port=token)
    return DeviceStatus(kind, True, "未登录（无打开的令牌）", source, driver=driver, port=source)


def reader_status(snapshot: PresenceSnapshot | None, driver: str) -> DeviceStatus:
    """The panel's view of one presence snapshot."""
    kind = DeviceKind.CARD_READER
    if snapshot is None:
        return DeviceStatus.unknown(kind, driver)
    if snapshot.error:
        return DeviceStatus(kind, False, snapshot.error, "PC/SC unusable", driver=driver)
    if not snapshot.readers:
        return DeviceStatus(kind, False, "未连接读卡器", "no matching PC/SC reader", driver=driver)
    names = ", ".join(r.name for r in snapshot.readers)
    card = snapshot.card_reader
    summary = "已连接，卡已插入" if card else "已连接，未插卡"
    return DeviceStatus(
        kind, True, summary, f"readers: {names}", driver=driver, port=card.name if card else names
    )


class CardReaderMonitor:
    """``DeviceMonitor`` of the card reader, over the session's presence monitor."""

    def __init__(
        self,
        presence: PresenceMonitor,
        driver: str = "piv",
        token: Callable[[], tuple[str, str]] | None = None,
    ) -> None:
        """``token``: (the open token's location, the source) for a PKCS#11 profile, whose
        token is shown instead of a PC/SC reader (``OfficerSession.token_info``)."""
        self._presence = presence
        self._driver = driver
        self._token = token
        self._lock = threading.Lock()

    def _status(self, snapshot: PresenceSnapshot | None) -> DeviceStatus:
        if self._token is not None:
            return token_status(*self._token(), self._driver)
        return reader_status(snapshot, self._driver)

    def status(self) -> DeviceStatus:
        return self._status(self._presence.latest)

    def restart(self) -> None:
        with self._lock:
            self._presence.stop()
            self._presence.start()

    def subscribe(self, callback: StatusCallback) -> None:
        """The presence monitor delivers its newest snapshot at once: nothing is missed."""
        self._presence.add_listener(lambda snapshot: callback(self._status(snapshot)))
