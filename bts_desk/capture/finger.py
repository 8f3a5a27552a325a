"""Enrolling one finger: ``start_finger_capture`` queues any family's ``enroll`` on the
scanner worker; ``FingerEnroller`` is the press-by-press enrollment of ``TwoSlotModule``s.

The manual's 第一指纹录入 / 第二指纹录入: "请按三次指纹" → three presses → "指纹采集成功".
``FingerEnroller.run`` walks an explicit state machine (``EnrollState``) on the scanner
worker's thread and reports ``FingerEvent``s through a callback (that thread too: the UI
wraps the callback with ``gui_poster().wrap``). ``cancel`` is checked between device steps
and in every wait, so a cancelled capture ends within one device command. Families with
their own enrollment (libfprint) emit the same events from their driver's ``enroll``.

Per press: wait for the finger (timeout), image, features into a slot; press 1 of finger 2 is
compared with finger 1's template (DownChar + Match: the same finger → "请换个手指"); press 2
must match press 1 and press 3 must match the template of presses 1+2 (else that press is
asked again, and after repeated mismatches the finger starts over); the finger must be lifted
before the next press. Then the template (of the size the module's profile says) is read,
and only one image (about 6.4 s on the wire at 57,600 baud for a 256×288 sensor): the final
press's, still in the module's single image buffer, verified against the other two. The
capture carries the sensor's geometry and the template's format from the driver's
``ScannerInfo``. Quality per press comes from the module's match scores.
"""

from __future__ import annotations

import enum
import logging
import threading
from concurrent.futures import Future
from dataclasses import dataclass

import cv2

from bts_desk.capture.events import (
    DEFAULT_TIMING,
    PRESSES,
    CaptureCancelledError,
    EnrollTiming,
    EventCallback,
    EventKind,
    FingerEvent,
)
from bts_desk.capture.press_cycle import PressCycle, PressPrompts
from bts_desk.devices.fingerprint import (
    FingerprintScanner,
    MergeFailedError,
    PressRejectedError,
    ScannerWorker,
    TwoSlotModule,
)
from bts_desk.domain import FingerCapture
from bts_desk.errors import CaptureError, DeskError

__all__ = [
    "PRESSES",
    "CaptureCancelledError",
    "EnrollState",
    "EnrollTiming",
    "EventCallback",
    "EventKind",
    "FingerCaptureHandle",
    "FingerEnroller",
    "FingerEvent",
    "enroll_two_slot",
    "start_finger_capture",
]

log = logging.getLogger(__name__)
MAX_TEMPLATE_BYTES = 4096  # what the sync service accepts for a template, any family


class EnrollState(enum.Enum):
    WAIT_LIFT = "wait_lift"
    WAIT_FINGER = "wait_finger"
    EXTRACT = "extract"
    CHECK_OTHER_FINGER = "check_other_finger"
    MATCH = "match"
    MERGE = "merge"
    UPLOAD = "upload"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class _Retry(Exception):  # noqa: N818 - control flow inside run(), never escapes
    def __init__(self, reason: str, restart: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.restart = restart


class FingerEnroller:
    """One finger, three presses. Build it and call ``run`` on the scanner's thread."""

    def __init__(
        self,
        scanner: TwoSlotModule,
        finger_no: int,
        on_event: EventCallback,
        *,
        other_template: bytes | None = None,
        cancel: threading.Event | None = None,
        poll_interval: float = 0.05,
        finger_timeout: float = 30.0,
        lift_timeout: float = 20.0,
        max_retries: int = 8,
        mismatches_before_restart: int = 2,
    ) -> None:
        self.scanner = scanner
        self.finger_no = finger_no
        self.other_template = other_template
        self.cancel = cancel or threading.Event()
        self.state = EnrollState.WAIT_LIFT
        self._emit_cb = on_event
        self._presses = PressCycle(
            scanner,
            self.cancel,
            PressPrompts(
                no_finger="等待按压指纹超时，请重新开始",
                not_lifted="手指没有抬起，请抬起手指后重新开始",
                subject=f"finger {finger_no}",
            ),
            EnrollTiming(poll_interval, finger_timeout, lift_timeout),
        )
        self._max_retries = max_retries
        self._mismatch_limit = mismatches_before_restart
        self._retries = 0
        self._mismatches = 0
        self.quality: dict[int, float] = {}

    def run(self) -> FingerCapture:
        """Three accepted presses → FingerCapture; CaptureError/ScannerError otherwise."""
        try:
            capture = self._run()
        except CaptureCancelledError:
            self.state = EnrollState.CANCELLED
            self._emit(EventKind.CANCELLED)
            raise
        except DeskError as exc:
            self.state = EnrollState.FAILED
            log.info("finger %d capture failed: %s", self.finger_no, exc.detail)
            self._emit(EventKind.FAILED, reason=exc.user_message)
            raise
        self.state = EnrollState.DONE
        self._emit(EventKind.DONE)
        return capture

    # --- the machine ---------------------------------------------------------------------

    def _run(self) -> FingerCapture:
        self._wait_lift(announce=False)
        press = 1
        while press <= PRESSES:
            self._emit(EventKind.PRESS, press)
            try:
                self._wait_finger()
                self._take_press(press)
            except _Retry as retry:
                press = self._after_retry(press, retry)
                continue
            self._emit(EventKind.ACCEPTED, press, quality=self.quality.get(press, 0.0))
            if press < PRESSES:
                self._wait_lift()
            press += 1
        self._set(EnrollState.UPLOAD)
        self._emit(EventKind.UPLOADING)
        template = self.scanner.read_template(1)
        if not 0 < len(template) <= MAX_TEMPLATE_BYTES:
            raise CaptureError("指纹模板长度不正确", f"template of {len(template)} bytes")
        self._check_cancel()
        image = self.scanner.read_image()
        ok, png = cv2.imencode(".png", image)
        if not ok:
            raise CaptureError("指纹图像转换失败", "cv2.imencode(.png) failed")
        quality = tuple(self.quality.get(p, 0.0) for p in range(1, PRESSES + 1))
        info = self.scanner.open()  # already open: the driver's cached identification
        return FingerCapture(
            self.finger_no,
            template,
            png.tobytes(),
            quality,
            width=int(image.shape[1]),
            height=int(image.shape[0]),
            bits_per_pixel=info.bits_per_pixel,
            dpi=info.dpi,
            template_format=info.template_format,
        )

    def _take_press(self, press: int) -> None:
        self._set(EnrollState.EXTRACT)
        try:
            self.scanner.extract(1 if press == 1 else 2)
        except PressRejectedError as exc:
            raise _Retry(exc.user_message) from exc
        if press == 1:
            self._check_other_finger()
            return
        self._set(EnrollState.MATCH)
        result = self.scanner.compare()
        if not result.matched:
            self._mismatches += 1
            what = "与第一次按压" if press == 2 else "与前两次按压"
            raise _Retry(f"{what}不是同一手指", restart=self._mismatches >= self._mismatch_limit)
        self._mismatches = 0
        self.quality[press] = result.quality
        if press == 2:
            self.quality[1] = result.quality
            self._set(EnrollState.MERGE)
            try:
                self.scanner.merge()
            except MergeFailedError as exc:
                raise _Retry(exc.user_message, restart=True) from exc

    def _check_other_finger(self) -> None:
        """Finger 2, press 1: finger 1's template into slot 2, compared with slot 1. Presses 2
        and 3 must match press 1, so they cannot be finger 1 either."""
        if self.other_template is None:
            return
        self._set(EnrollState.CHECK_OTHER_FINGER)
        self._check_cancel()
        self.scanner.write_template(2, self.other_template)
        if self.scanner.compare().matched:
            raise _Retry("请换个手指")

    def _after_retry(self, press: int, retry: _Retry) -> int:
        self._retries += 1
        if self._retries > self._max_retries:
            raise CaptureError(
                f"多次按压未成功：{retry.reason}",
                f"finger {self.finger_no}: gave up after {self._max_retries} retries",
            )
        if retry.restart:
            self._mismatches = 0
            self.quality.clear()
            self._emit(EventKind.RESTART, press, reason=retry.reason)
            press = 1
        else:
            self._emit(EventKind.RETRY, press, reason=retry.reason)
        self._wait_lift()
        return press

    # --- waiting -------------------------------------------------------------------------

    def _wait_finger(self) -> None:
        self._set(EnrollState.WAIT_FINGER)
        try:
            self._presses.wait_finger()
        except PressRejectedError as exc:  # a finger, but no usable image
            raise _Retry(exc.user_message) from exc

    def _wait_lift(self, *, announce: bool = True) -> None:
        self._set(EnrollState.WAIT_LIFT)
        self._presses.wait_lift(self._announce_lift if announce else None)

    def _announce_lift(self) -> None:
        self._emit(EventKind.LIFT)

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise CaptureCancelledError()

    def _set(self, state: EnrollState) -> None:
        self._check_cancel()
        self.state = state

    def _emit(
        self, kind: EventKind, press: int = 0, *, quality: float = 0.0, reason: str = ""
    ) -> None:
        event = FingerEvent(kind, self.finger_no, press, PRESSES, quality, reason)
        try:
            self._emit_cb(event)
        except Exception:
            log.exception("finger event callback failed")


@dataclass
class FingerCaptureHandle:
    """A finger capture queued on the scanner worker: its Future and its cancel switch."""

    future: Future[FingerCapture]
    cancel_event: threading.Event

    def cancel(self) -> None:
        """Stop as soon as the current device step ends (thread-safe, returns at once)."""
        self.cancel_event.set()
        self.future.cancel()  # if it has not started yet


def enroll_two_slot(
    module: TwoSlotModule,
    finger_no: int,
    on_event: EventCallback,
    *,
    other_template: bytes | None = None,
    cancel: threading.Event | None = None,
    timing: EnrollTiming = DEFAULT_TIMING,
) -> FingerCapture:
    """``FingerprintScanner.enroll`` for a two-slot module: what the R30x driver calls."""
    return FingerEnroller(
        module,
        finger_no,
        on_event,
        other_template=other_template,
        cancel=cancel,
        poll_interval=timing.poll_interval,
        finger_timeout=timing.finger_timeout,
        lift_timeout=timing.lift_timeout,
    ).run()


def start_finger_capture(
    worker: ScannerWorker,
    finger_no: int,
    on_event: EventCallback,
    *,
    other_template: bytes | None = None,
    poll_interval: float = 0.05,
    finger_timeout: float = 30.0,
) -> FingerCaptureHandle:
    """Queue the capture of finger ``finger_no`` on ``worker``; returns at once.

    ``on_event`` and the Future's callbacks run on the worker thread. For finger 2 pass
    finger 1's ``FingerCapture.template`` as ``other_template``."""
    cancel = threading.Event()
    timing = EnrollTiming(poll_interval=poll_interval, finger_timeout=finger_timeout)

    def job(scanner: FingerprintScanner) -> FingerCapture:
        return scanner.enroll(
            finger_no, on_event, other_template=other_template, cancel=cancel, timing=timing
        )

    return FingerCaptureHandle(worker.submit(job, cancel), cancel)
