"""The libfprint driver against libfprint's own virtual image device (``FP_VIRTUAL_IMAGE``),
fed with the R30x emulator's synthetic fingerprints by a person who presses whenever the
driver says the device waits for a finger: libfprint's enroll stages, its verify for the
different-finger check, retries, cancel."""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable, Iterator

import cv2
import numpy as np
import pytest

from bts_desk.capture.finger import (
    CaptureCancelledError,
    EventKind,
    FingerEvent,
    start_finger_capture,
)
from bts_desk.devices.fingerprint import ScannerWorker
from bts_desk.domain import FingerCapture
from bts_desk.drivers.libfprint.driver import TEMPLATE_FORMAT, LibfprintScanner
from bts_desk.drivers.libfprint.virtual_image import VirtualImagePerson


@pytest.fixture
def worker(fprint_virtual_image: VirtualImagePerson) -> Iterator[ScannerWorker]:
    scanner = LibfprintScanner("virtual_image")
    w = ScannerWorker(scanner, driver="libfprint", check_interval=0.2).start()
    yield w
    w.stop()


def _presser(
    person: VirtualImagePerson, fingers: list[int], events: list[FingerEvent]
) -> Callable[[FingerEvent], None]:
    """The person: on each PRESS, the next finger of ``fingers`` (the last one repeats)."""

    def on_event(event: FingerEvent) -> None:
        events.append(event)
        if event.kind is EventKind.PRESS:
            finger = fingers.pop(0) if len(fingers) > 1 else fingers[0]
            person.press(finger)

    return on_event


def _enroll(
    worker: ScannerWorker,
    person: VirtualImagePerson,
    finger_no: int,
    fingers: list[int],
    other: bytes | None = None,
) -> tuple[FingerCapture, list[FingerEvent]]:
    events: list[FingerEvent] = []
    handle = start_finger_capture(
        worker, finger_no, _presser(person, fingers, events), other_template=other
    )
    return handle.future.result(60), events


def test_open_names_the_device(worker: ScannerWorker) -> None:
    deadline = time.monotonic() + 10
    while not worker.status.ok and time.monotonic() < deadline:
        time.sleep(0.05)
    assert worker.status.ok, worker.status.detail
    assert worker.status.model == "Virtual image device for debugging"
    assert TEMPLATE_FORMAT in worker.status.detail


def test_a_finger_enrolls_in_libfprints_stages(
    worker: ScannerWorker, fprint_virtual_image: VirtualImagePerson
) -> None:
    capture, events = _enroll(worker, fprint_virtual_image, 1, [1])
    kinds = [(e.kind, e.press) for e in events]
    stages = sum(1 for kind, _ in kinds if kind is EventKind.ACCEPTED)
    assert stages == 5 and events[0].total == 5  # the virtual image device's stage count
    assert kinds[0] == (EventKind.PRESS, 1) and kinds[-1] == (EventKind.DONE, 0)
    assert [p for k, p in kinds if k is EventKind.PRESS] == [1, 2, 3, 4, 5]
    assert capture.template_format == TEMPLATE_FORMAT and 0 < len(capture.template) <= 4096
    assert zlib.decompress(capture.template)  # a serialized FpPrint
    image = cv2.imdecode(np.frombuffer(capture.image_png, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image.shape == (288, 256) and image.std() > 20
    assert (capture.width, capture.height, capture.bits_per_pixel) == (256, 288, 8)
    assert len(capture.press_quality) == 5 and all(q > 0 for q in capture.press_quality)


def test_finger_two_must_be_another_finger(
    worker: ScannerWorker, fprint_virtual_image: VirtualImagePerson
) -> None:
    first, _ = _enroll(worker, fprint_virtual_image, 1, [3])
    second, events = _enroll(worker, fprint_virtual_image, 2, [3, 4], other=first.template)
    retries = [e for e in events if e.kind is EventKind.RETRY]
    assert [e.reason for e in retries] == ["请换个手指"]
    assert events[0].total == 6  # the check press, then the five stages
    assert second.template != first.template


def test_a_retry_from_the_device_asks_for_the_press_again(
    worker: ScannerWorker, fprint_virtual_image: VirtualImagePerson
) -> None:
    events: list[FingerEvent] = []
    retried = threading.Event()

    def on_event(event: FingerEvent) -> None:
        events.append(event)
        if event.kind is EventKind.PRESS:
            if event.press == 2 and not retried.is_set():
                retried.set()
                fprint_virtual_image.retry(1)  # FP_DEVICE_RETRY_TOO_SHORT
            else:
                fprint_virtual_image.press(5)

    handle = start_finger_capture(worker, 1, on_event)
    handle.future.result(60)
    retry = next(e for e in events if e.kind is EventKind.RETRY)
    assert retry.press == 2 and "太短" in retry.reason


def test_cancel_while_waiting_for_a_finger(
    worker: ScannerWorker, fprint_virtual_image: VirtualImagePerson
) -> None:
    events: list[FingerEvent] = []
    handle = start_finger_capture(worker, 1, events.append)
    deadline = time.monotonic() + 10
    while not any(e.kind is EventKind.PRESS for e in events) and time.monotonic() < deadline:
        time.sleep(0.02)
    started = time.monotonic()
    handle.cancel()
    with pytest.raises(CaptureCancelledError):
        handle.future.result(10)
    assert time.monotonic() - started < 2.0
    assert events[-1].kind is EventKind.CANCELLED
    capture, _ = _enroll(worker, fprint_virtual_image, 1, [6])  # the device is usable again
    assert capture.template
