"""Three-press finger enrollment through the scanner worker, the real driver and the emulated
module on a pty: one finger, two fingers, the same finger twice, inconsistent presses, bad
presses, cancel, unplug mid-capture and recovery, and the monitor's status."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from bts_desk.capture.finger import (
    CaptureCancelledError,
    EventKind,
    FingerEnroller,
    FingerEvent,
    start_finger_capture,
)
from bts_desk.config import ScannerSettings
from bts_desk.devices.fingerprint import ScannerDisconnectedError, ScannerMonitor, ScannerWorker
from bts_desk.devices.status import DeviceStatus
from bts_desk.domain import FingerCapture
from bts_desk.drivers.r30x.driver import R30xScanner
from bts_desk.drivers.r30x.emulator import R30xEmulator, start_demo_emulator
from bts_desk.drivers.r30x.fingerimage import PressKind
from bts_desk.drivers.r30x.protocol import Cmd
from bts_desk.errors import CaptureError


@pytest.fixture
def worker(r30x_scanner: R30xScanner) -> Iterator[ScannerWorker]:
    w = ScannerWorker(r30x_scanner, driver="r30x", check_interval=0.2).start()
    yield w
    w.stop()


def _enroll(
    scanner: R30xScanner, finger_no: int, other: bytes | None = None
) -> tuple[FingerCapture, list[FingerEvent]]:
    events: list[FingerEvent] = []
    capture = FingerEnroller(
        scanner, finger_no, events.append, other_template=other, poll_interval=0.0
    ).run()
    return capture, events


def _kinds(events: list[FingerEvent]) -> list[tuple[str, int]]:
    return [(e.kind.value, e.press) for e in events]


def _check_capture(capture: FingerCapture, finger_no: int) -> None:
    assert capture.finger_no == finger_no
    assert len(capture.template) == 1536  # the R503's (the emulator's default model)
    assert capture.template_format == "grow-r50x-char"
    assert (capture.width, capture.height, capture.dpi, capture.bits_per_pixel) == (
        192,
        192,
        508,
        4,
    )
    image = cv2.imdecode(np.frombuffer(capture.image_png, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image.shape == (capture.height, capture.width) and image.dtype == np.uint8
    assert image.std() > 20  # a ridge pattern, not a blank sensor
    assert len(capture.press_quality) == 3
    assert all(50 <= q <= 100 for q in capture.press_quality)


def test_one_finger_three_presses(r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner) -> None:
    r30x_emulator.place(1, 3, hold=2)
    r30x_emulator.reset_counters()
    capture, events = _enroll(r30x_scanner, 1)
    _check_capture(capture, 1)
    assert _kinds(events) == [
        ("press", 1), ("accepted", 1), ("lift", 0),
        ("press", 2), ("accepted", 2), ("lift", 0),
        ("press", 3), ("accepted", 3),
        ("uploading", 0), ("done", 0),
    ]  # fmt: skip
    assert events[0].message_zh.startswith("请按三次指纹")
    assert events[-1].message_zh == "指纹采集成功"
    # only one image crosses the wire, and one template
    assert r30x_emulator.commands.count(Cmd.UP_IMAGE) == 1
    assert r30x_emulator.commands.count(Cmd.UP_CHAR) == 1
    assert r30x_emulator.commands.count(Cmd.REG_MODEL) == 1


def test_two_fingers_through_the_worker(r30x_emulator: R30xEmulator, worker: ScannerWorker) -> None:
    r30x_emulator.place(1, 3)
    r30x_emulator.place(2, 3)
    events: list[FingerEvent] = []
    first = start_finger_capture(worker, 1, events.append, poll_interval=0.0)
    finger1 = first.future.result(timeout=30)
    second = start_finger_capture(
        worker, 2, events.append, other_template=finger1.template, poll_interval=0.0
    )
    finger2 = second.future.result(timeout=30)
    _check_capture(finger1, 1)
    _check_capture(finger2, 2)
    assert finger1.template != finger2.template
    assert [e.kind for e in events].count(EventKind.DONE) == 2
    assert next(e for e in events if e.finger_no == 2).message_zh.startswith("请换个手指再按三次")
    assert worker.status.ok


def test_same_finger_as_finger_one_is_rejected(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    r30x_emulator.place(3, 3)
    finger1, _ = _enroll(r30x_scanner, 1)
    r30x_emulator.place(3, 1)  # the same finger offered again...
    r30x_emulator.place(4, 3)  # ...then another one
    finger2, events = _enroll(r30x_scanner, 2, finger1.template)
    retry = [e for e in events if e.kind is EventKind.RETRY]
    assert len(retry) == 1 and retry[0].press == 1
    assert retry[0].reason == "请换个手指" and retry[0].message_zh == "请换个手指"
    _check_capture(finger2, 2)


def test_finger_one_offered_for_all_presses_never_gives_a_second_finger(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    r30x_emulator.place(5, 3)
    finger1, _ = _enroll(r30x_scanner, 1)
    r30x_emulator.place(5, 20)
    with pytest.raises(CaptureError) as info:
        _enroll(r30x_scanner, 2, finger1.template)
    assert "请换个手指" in info.value.user_message


def test_inconsistent_press_is_asked_again(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    r30x_emulator.place(6, 1)
    r30x_emulator.place(9, 1)  # press 2 with another finger
    r30x_emulator.place(6, 2)
    capture, events = _enroll(r30x_scanner, 1)
    retries = [e for e in events if e.kind is EventKind.RETRY]
    assert [(e.press, e.reason) for e in retries] == [(2, "与第一次按压不是同一手指")]
    _check_capture(capture, 1)


def test_repeated_mismatch_starts_the_finger_over(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    r30x_emulator.place(9, 1)  # a wrong first press...
    r30x_emulator.place(6, 2)  # ...that the next two do not match
    r30x_emulator.place(6, 2)  # press 1 and 2 again after the restart
    r30x_emulator.place(6, 1)
    capture, events = _enroll(r30x_scanner, 1)
    assert [e.kind for e in events if e.kind in (EventKind.RETRY, EventKind.RESTART)] == [
        EventKind.RETRY,
        EventKind.RESTART,
    ]
    _check_capture(capture, 1)


def test_messy_and_small_presses_are_retried(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    r30x_emulator.place(2, 1, kind=PressKind.MESSY)
    r30x_emulator.place(2, 2)
    r30x_emulator.place(2, 1, kind=PressKind.SMALL)
    r30x_emulator.place(2, 1)
    capture, events = _enroll(r30x_scanner, 1)
    retries = [(e.press, e.reason) for e in events if e.kind is EventKind.RETRY]
    assert [p for p, _ in retries] == [1, 3]
    assert "太乱" in retries[0][1] and "特征点太少" in retries[1][1]
    _check_capture(capture, 1)


def test_a_press_that_cannot_be_imaged_is_retried(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    r30x_emulator.place(4, 1, hold=3, kind=PressKind.FAINT)  # held on while the module fails
    r30x_emulator.place(4, 3)
    capture, events = _enroll(r30x_scanner, 1)
    retries = [e for e in events if e.kind is EventKind.RETRY]
    assert [(e.press, e.message_zh) for e in retries] == [(1, "录入指纹图像失败，请重新按压")]
    _check_capture(capture, 1)


def test_waiting_for_a_finger_times_out(r30x_scanner: R30xScanner) -> None:
    events: list[FingerEvent] = []
    enroller = FingerEnroller(r30x_scanner, 1, events.append, finger_timeout=0.3)
    with pytest.raises(CaptureError) as info:
        enroller.run()
    assert "超时" in info.value.user_message
    assert events[-1].kind is EventKind.FAILED


def test_cancel_stops_a_waiting_capture_at_once(worker: ScannerWorker) -> None:
    events: list[FingerEvent] = []
    handle = start_finger_capture(worker, 1, events.append)
    _wait_for(lambda: any(e.kind is EventKind.PRESS for e in events))
    started = time.monotonic()
    handle.cancel()
    with pytest.raises(CaptureCancelledError):
        handle.future.result(timeout=5)
    assert time.monotonic() - started < 2.0  # within one device command, not a timeout
    assert events[-1].kind is EventKind.CANCELLED
    assert worker.submit(lambda s: s.capture()).result(timeout=5) is False  # worker still alive


def test_unplug_mid_capture_then_a_new_capture_after_replug(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    r30x_emulator.place(7, 1)
    events: list[FingerEvent] = []

    def on_event(event: FingerEvent) -> None:
        events.append(event)
        if event.kind is EventKind.ACCEPTED:
            r30x_emulator.unplug()  # the cable is pulled after the first press

    enroller = FingerEnroller(r30x_scanner, 1, on_event, poll_interval=0.0)
    with pytest.raises(ScannerDisconnectedError) as info:
        enroller.run()
    assert events[-1].kind is EventKind.FAILED and "USB" in events[-1].reason
    assert "USB" in info.value.user_message
    r30x_emulator.replug()
    r30x_emulator.place(7, 3)
    capture, _ = _enroll(r30x_scanner, 1)  # the same driver object reopens the port
    _check_capture(capture, 1)


def test_monitor_turns_red_on_unplug_and_green_on_replug(r30x_emulator: R30xEmulator) -> None:
    seen: list[DeviceStatus] = []
    monitor = ScannerMonitor(
        ScannerSettings(driver="r30x", port=str(r30x_emulator.path)), check_interval=0.1
    )
    monitor.subscribe(seen.append)
    try:
        assert monitor.worker is not None
        _wait_for(lambda: monitor.status().ok)
        assert monitor.status().capacity == r30x_emulator.capacity and monitor.status().port == str(
            r30x_emulator.path
        )
        r30x_emulator.unplug()
        _wait_for(lambda: not monitor.status().ok and not monitor.status().checking)
        assert "USB" in monitor.status().summary_zh
        r30x_emulator.replug()
        _wait_for(lambda: monitor.status().ok)
        monitor.reconfigure(ScannerSettings(driver="nosuch", port=str(r30x_emulator.path)))
        _wait_for(lambda: not monitor.status().ok and not monitor.status().checking)
        assert "nosuch" in monitor.status().summary_zh
    finally:
        monitor.stop()
    assert [s.ok for s in seen if not s.checking][:3] == [True, False, True]


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        threading.Event().wait(0.02)


def test_restart_during_a_capture_cancels_it_and_reopens(r30x_emulator: R30xEmulator) -> None:
    monitor = ScannerMonitor(
        ScannerSettings(driver="r30x", port=str(r30x_emulator.path)), check_interval=0.1
    )
    try:
        _wait_for(lambda: monitor.worker.status.ok)
        events: list[FingerEvent] = []
        handle = start_finger_capture(monitor.worker, 1, events.append)
        _wait_for(lambda: any(e.kind is EventKind.PRESS for e in events))
        started = time.monotonic()
        monitor.restart()  # 重启服务 while the officer waits for a finger
        assert time.monotonic() - started < 3.0
        with pytest.raises(CaptureCancelledError):
            handle.future.result(timeout=5)
        _wait_for(lambda: monitor.status().ok)
        r30x_emulator.place(8, 3)
        again = start_finger_capture(monitor.worker, 1, events.append, poll_interval=0.0)
        _check_capture(again.future.result(timeout=30), 1)
    finally:
        monitor.stop()


def test_demo_emulator_offers_the_same_finger_first_then_another(tmp_path: Path) -> None:
    """The demo's person shows the different-finger rule: 指纹1's finger once more for 指纹2
    (refused: 请换个手指), then another finger."""
    emulator = start_demo_emulator(tmp_path / "ttyDEMO")
    monitor = ScannerMonitor(ScannerSettings(driver="r30x", port=str(emulator.path)))
    try:
        monitor.start()
        _wait_for(lambda: monitor.status().ok)
        events: list[FingerEvent] = []
        finger1 = start_finger_capture(monitor.worker, 1, events.append).future.result(30)
        finger2 = start_finger_capture(
            monitor.worker, 2, events.append, other_template=finger1.template
        ).future.result(30)
        retries = [e for e in events if e.kind is EventKind.RETRY]
        assert [e.finger_no for e in retries] == [2] and "换个手指" in retries[0].reason
        assert finger1.template != finger2.template
        again = start_finger_capture(monitor.worker, 1, events.append).future.result(30)
        assert again.template not in (finger1.template, finger2.template)  # the next person
        assert len([e for e in events if e.kind is EventKind.RETRY]) == 1
    finally:
        monitor.stop()
        emulator.stop()


def test_the_idle_check_never_runs_inside_a_capture(r30x_emulator: R30xEmulator) -> None:
    """The worker checks the idle module every 0.1 s here; a capture that waits for the
    finger for over a second must see only its own commands, none of the check's."""
    scanner = R30xScanner(str(r30x_emulator.path), timeout=3.0)
    worker = ScannerWorker(scanner, driver="r30x", check_interval=0.1).start()
    try:
        time.sleep(0.5)  # a few idle checks
        assert Cmd.HANDSHAKE in r30x_emulator.commands  # the R503 has HandShake: the check
        r30x_emulator.no_finger(12)
        r30x_emulator.place(2, 3)
        handle = start_finger_capture(worker, 1, lambda _: None, poll_interval=0.1)
        handle.future.result(timeout=30)
        commands = r30x_emulator.commands
        first = commands.index(Cmd.GEN_IMG)
        during = commands[first : len(commands) - commands[::-1].index(Cmd.UP_IMAGE)]
        assert Cmd.HANDSHAKE not in during and Cmd.READ_SYS_PARA not in during
    finally:
        worker.stop()
