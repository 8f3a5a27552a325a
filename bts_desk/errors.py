"""The one error tree of the desk.

Every error that crosses a layer boundary (a driver, the card, the store, the network) is
translated there into a ``DeskError``: ``user_message`` is safe to show to the officer (Chinese,
no secrets, no biometric bytes, no PIN), ``detail`` is the precise account for the log.
Widgets show ``user_message``; loggers write ``detail``. Nothing else should reach the UI.
"""

from __future__ import annotations


class DeskError(Exception):
    """Base of everything the desk reports to a person. Safe to show."""

    def __init__(self, user_message: str, detail: str = "") -> None:
        super().__init__(detail or user_message)
        self.user_message = user_message
        self.detail = detail or user_message

    def __str__(self) -> str:
        return self.detail


class ConfigError(DeskError):
    """A config file or value is unusable."""


class StoreError(DeskError):
    """The local database failed or holds something unexpected."""


class CardError(DeskError):
    """Card reader, card or PIN problem (PC/SC, card profile)."""


class DeviceError(DeskError):
    """A peripheral failed: scanner, camera. Subclassed per device kind."""


class ScannerError(DeviceError):
    """Fingerprint scanner: transport, protocol or confirmation-code failure."""


class CameraError(DeviceError):
    """Webcam missing, busy, unplugged, or its source ended."""


class CaptureError(DeskError):
    """A capture step could not be completed (enrollment logic, face gate)."""


class SyncError(DeskError):
    """Talking to the central sync service failed."""

    def __init__(self, user_message: str, detail: str = "", *, retryable: bool = True) -> None:
        super().__init__(user_message, detail)
        self.retryable = retryable
