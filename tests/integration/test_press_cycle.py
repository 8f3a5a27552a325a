"""The press/lift cycle shared by enrollment and 边民核验 (``bts_desk.capture.press_cycle``),
over the real driver on a pty with the emulated module: a finger is waited for and imaged, a
finger left on the sensor is announced once, timeouts carry the caller's prompt and subject,
and the cancel switch ends a wait."""

from __future__ import annotations

import threading

import pytest

from bts_desk.capture.events import CaptureCancelledError, EnrollTiming
from bts_desk.capture.press_cycle import PressCycle, PressPrompts
from bts_desk.devices.fingerprint import PressRejectedError
from bts_desk.drivers.r30x.driver import R30xScanner
from bts_desk.drivers.r30x.emulator import R30xEmulator
from bts_desk.drivers.r30x.fingerimage import PressKind
from bts_desk.errors import CaptureError

PROMPTS = PressPrompts("no finger came", "finger stayed", "finger 9")
QUICK = EnrollTiming(poll_interval=0.0, finger_timeout=0.5, lift_timeout=0.5)


def _cycle(scanner: R30xScanner, cancel: threading.Event | None = None) -> PressCycle:
    return PressCycle(scanner, cancel or threading.Event(), PROMPTS, QUICK)


def test_finger_then_lift_announced_once(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    cycle = _cycle(r30x_scanner)
    r30x_emulator.place(3, hold=4, gap=2)
    cycle.wait_finger()  # two empty polls, then the finger
    assert r30x_emulator.press_count == 1
    lifts: list[str] = []
    cycle.wait_lift(lambda: lifts.append("lift"))
    assert lifts == ["lift"]  # still on for three more polls: announced once
    cycle.wait_lift(lambda: lifts.append("lift"))
    assert lifts == ["lift"]  # nothing on the sensor: no prompt


def test_timeouts_carry_the_prompt_and_the_subject(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    cycle = _cycle(r30x_scanner)
    with pytest.raises(CaptureError) as none:
        cycle.wait_finger()
    assert none.value.user_message == "no finger came"
    assert none.value.detail == "finger 9: no finger before timeout"
    r30x_emulator.place(3, hold=10_000, gap=0)
    with pytest.raises(CaptureError) as stuck:
        cycle.wait_lift()
    assert stuck.value.user_message == "finger stayed"
    assert stuck.value.detail == "finger 9: finger not lifted before timeout"


def test_a_faint_finger_is_rejected_and_still_counts_as_present(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    cycle = _cycle(r30x_scanner)
    r30x_emulator.place(3, hold=3, gap=0, kind=PressKind.FAINT)
    with pytest.raises(PressRejectedError):
        cycle.wait_finger()
    assert cycle.finger_present()


def test_cancel_ends_a_wait(r30x_scanner: R30xScanner) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CaptureCancelledError):
        _cycle(r30x_scanner, cancel).wait_finger()
