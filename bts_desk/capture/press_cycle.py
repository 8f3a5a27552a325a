"""Waiting for a finger to come onto a two-slot module's sensor and to leave it again: the
press/lift cycle shared by enrollment (``FingerEnroller``, three presses) and 边民核验
(``TwoSlotVerifier``, one press per try).

The module has no "finger present" event: the cycle polls ``capture()`` (GenImg) every
``poll_interval`` seconds until a finger is imaged (``wait_finger``) or until the sensor is
empty (``wait_lift``), with a deadline each (``CaptureError`` with the caller's prompt) and
the caller's cancel switch checked in every pause (``CaptureCancelledError``, so a cancelled
capture ends within one device command).

It runs on the caller's thread, which is the scanner worker's (the only thread that talks to
the module); it holds no state between calls but its settings. Qt-free.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bts_desk.capture.events import DEFAULT_TIMING, CaptureCancelledError, EnrollTiming
from bts_desk.devices.fingerprint import PressRejectedError, TwoSlotModule
from bts_desk.errors import CaptureError


@dataclass(frozen=True)
class PressPrompts:
    """What a timeout tells the officer (``user_message``) and the log (``detail``)."""

    no_finger: str  # no finger came before the deadline
    not_lifted: str  # the finger stayed on the sensor past the deadline
    subject: str  # how the log's detail names the capture: "finger 1", "verification"


class PressCycle:
    """Finger-on and finger-off waits on ``module``; call from the scanner worker's thread."""

    def __init__(
        self,
        module: TwoSlotModule,
        cancel: threading.Event,
        prompts: PressPrompts,
        timing: EnrollTiming = DEFAULT_TIMING,
    ) -> None:
        self.module = module
        self.cancel = cancel
        self.prompts = prompts
        self.timing = timing

    def wait_finger(self) -> None:
        """Until a finger is imaged. A finger that images badly raises the module's
        ``PressRejectedError`` at once (the caller asks for the press again)."""
        deadline = time.monotonic() + self.timing.finger_timeout
        while not self.module.capture():
            self.pause(deadline, self.prompts.no_finger, "no finger")

    def wait_lift(self, on_lift: Callable[[], None] | None = None) -> None:
        """Until the sensor is empty; ``on_lift`` is called once if a finger is still on it
        (the "please lift" prompt), not at all when the sensor is already empty."""
        deadline = time.monotonic() + self.timing.lift_timeout
        first = True
        while self.finger_present():
            if first and on_lift is not None:
                on_lift()
            first = False
            self.pause(deadline, self.prompts.not_lifted, "finger not lifted")

    def finger_present(self) -> bool:
        """Is something on the sensor? (something that images badly is there too)"""
        try:
            return self.module.capture()
        except PressRejectedError:
            return True

    def pause(self, deadline: float, user_message: str, what: str) -> None:
        """One poll interval; CaptureError past ``deadline``, CaptureCancelledError if the
        cancel switch is set meanwhile."""
        if time.monotonic() > deadline:
            raise CaptureError(user_message, f"{self.prompts.subject}: {what} before timeout")
        if self.cancel.wait(self.timing.poll_interval):
            raise CaptureCancelledError()
