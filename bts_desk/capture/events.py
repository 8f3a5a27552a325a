"""What a finger enrollment reports while it runs, whatever the scanner family.

A driver's ``enroll`` (``bts_desk.devices.fingerprint.FingerprintScanner``) emits these on the
scanner worker's thread; the 补录 dialog wraps the callback to reach the GUI thread. Pure data,
no device and no Qt: both the core and the drivers import it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from bts_desk.errors import CaptureError

PRESSES = 3  # the manual's "请按三次指纹"


class EventKind(enum.Enum):
    PRESS = "press"  # put the finger on the sensor (press n of total)
    ACCEPTED = "accepted"  # press n taken (quality)
    LIFT = "lift"  # lift the finger
    RETRY = "retry"  # press n was not usable: ``reason``; press again
    RESTART = "restart"  # the presses did not agree: start the finger over
    UPLOADING = "uploading"  # reading template and image from the scanner
    DONE = "done"  # 指纹采集成功
    FAILED = "failed"  # ``reason``; the dialog may start the finger again
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class FingerEvent:
    kind: EventKind
    finger_no: int
    press: int = 0  # 1..total (0: not about one press)
    total: int = PRESSES
    quality: float = 0.0  # ACCEPTED: 0..100
    reason: str = ""  # RETRY / RESTART / FAILED: Chinese, safe to show

    @property
    def message_zh(self) -> str:
        """The manual's wording, for logs and non-Qt front ends (the dialog translates)."""
        first = "请按三次指纹" if self.finger_no == 1 else "请换个手指再按三次指纹"
        return {
            EventKind.PRESS: f"{first}（第 {self.press}/{self.total} 次）",
            EventKind.ACCEPTED: f"第 {self.press}/{self.total} 次按压成功",
            EventKind.LIFT: "请抬起手指",
            EventKind.RETRY: self.reason if "请" in self.reason else f"{self.reason}，请重新按压",
            EventKind.RESTART: f"{self.reason}，请重新按三次",
            EventKind.UPLOADING: "正在读取指纹…",
            EventKind.DONE: "指纹采集成功",
            EventKind.FAILED: f"指纹采集失败：{self.reason}",
            EventKind.CANCELLED: "已取消",
        }[self.kind]


EventCallback = Callable[[FingerEvent], None]


@dataclass(frozen=True)
class EnrollTiming:
    """How long an enrollment waits for the person (seconds)."""

    poll_interval: float = 0.05
    finger_timeout: float = 30.0
    lift_timeout: float = 20.0


DEFAULT_TIMING = EnrollTiming()


class CaptureCancelledError(CaptureError):
    def __init__(self) -> None:
        super().__init__("已取消指纹采集", "finger capture cancelled")
