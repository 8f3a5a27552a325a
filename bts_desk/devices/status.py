"""What the device panel (外接设备状态) shows for each peripheral, and how it asks for it.

``DeviceStatus`` is a plain value (any thread); a ``DeviceMonitor`` is what the card reader,
the fingerprint scanner and the camera each provide: the panel reads ``status()``, calls
``restart()`` for 重启服务, and registers a change callback. Monitors call their callbacks on
their own worker thread; the UI wraps them with ``gui_poster().wrap`` before subscribing.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

CHECKING_ZH = "正在检测…"


class DeviceKind(enum.StrEnum):
    CARD_READER = "card_reader"  # 读卡器
    SCANNER = "scanner"  # 指纹识别器
    CAMERA = "camera"  # 摄像头


@dataclass(frozen=True)
class DeviceStatus:
    """One device's state: green (``ok``) or red, with a Chinese one-liner and log detail."""

    kind: DeviceKind
    ok: bool
    summary_zh: str  # shown to the officer: "已连接" / "未连接：…"
    detail: str = ""  # precise English account (model, serial, last error)
    driver: str = ""  # registry name of the driver in use ("r30x", "opencv", "piv")
    port: str = ""  # the port / reader / source actually used
    model: str = ""  # what the device says it is
    serial: str = ""  # serial number or address, when the device has one
    capacity: int = 0  # scanner: templates the module holds

    @classmethod
    def unknown(cls, kind: DeviceKind, driver: str = "") -> DeviceStatus:
        return cls(kind, False, CHECKING_ZH, "not checked yet", driver=driver)

    @property
    def checking(self) -> bool:
        """Not known yet (just started or restarting): the panel shows a grey lamp."""
        return not self.ok and self.summary_zh == CHECKING_ZH


StatusCallback = Callable[[DeviceStatus], None]


class DeviceMonitor(Protocol):
    """What the device panel needs from each device (provided by each device's owner)."""

    def status(self) -> DeviceStatus:
        """The latest known state (cheap; no device I/O on the caller's thread)."""
        ...

    def restart(self) -> None:
        """Stop the device's worker and start it again with the current settings."""
        ...

    def subscribe(self, callback: StatusCallback) -> None:
        """Call ``callback(status)`` whenever the state changes (on the monitor's thread)."""
        ...
