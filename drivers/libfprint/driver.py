"""``LibfprintScanner``: a USB fingerprint reader through libfprint 2 (PyGObject, ``FPrint``),
implementing ``bts_desk.devices.fingerprint.FingerprintScanner``.

libfprint runs its own enrollment (as many presses as the device needs: ``nr-enroll-stages``,
5 on image devices), matching (``verify``) and template format (``FpPrint``, serialized and
zlib-compressed here: ``TEMPLATE_FORMAT``). The desk gives it the same events as the R30x
family's three presses: PRESS when the device waits for the finger (its ``finger-status``
turns NEEDED), ACCEPTED per completed stage, RETRY with libfprint's retry reason, then DONE.
For finger 2 one press first goes to ``verify`` against finger 1's print: the same finger is
refused ("请换个手指") before any stage is spent. The image of the last stage is kept where the
device gives one (image devices do; match-on-chip readers do not, and the capture then has
no image).

Threads: libfprint is GLib-asynchronous. Every device call here runs on the one thread that
owns the scanner (the ``ScannerWorker``), with a GLib main context of the driver's own pushed
as that thread's default for the call and iterated until the call ends, so no callback runs
on Qt's GUI thread. Only device enumeration uses GLib's global default context, because
``fp_context_enumerate`` iterates that one; the app keeps Qt off it (``QT_NO_GLIB=1``).
``FP_VIRTUAL_IMAGE`` (libfprint's virtual image device, the test bed) is read when the
context enumerates, i.e. at each ``open``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import cv2
import numpy as np

from bts_desk.capture.events import (
    DEFAULT_TIMING,
    CaptureCancelledError,
    EnrollTiming,
    EventCallback,
    EventKind,
    FingerEvent,
)
from bts_desk.capture.verify import EnrolledFinger, check_format
from bts_desk.config import ScannerSettings
from bts_desk.devices.fingerprint import (
    FingerprintScanner,
    MatchResult,
    PressRejectedError,
    ScannerDisconnectedError,
    ScannerInfo,
    ScannerTimeoutError,
)
from bts_desk.domain import FingerCapture
from bts_desk.errors import CaptureError, ConfigError, DeskError

log = logging.getLogger(__name__)

TEMPLATE_FORMAT = "libfprint-fpprint-zlib"
MAX_TEMPLATE_BYTES = 4096  # what the sync service accepts
MAX_RETRIES = 8
_IDLE_S = 0.01  # the driver's loop looks at its context and the cancel switch this often
# libfprint's FpDeviceRetry codes → what the officer reads (FP_DEVICE_RETRY_*)
_RETRY_MESSAGES = {
    "TOO_SHORT": "按压时间太短，请重新按压",
    "CENTER_FINGER": "请将手指放在传感器中央后重新按压",
    "REMOVE_FINGER": "请抬起手指后重新按压",
    "GENERAL": "指纹图像不可用，请重新按压",
}


class _CallCancelled(CaptureError):  # noqa: N818 - the caller says why it was cancelled
    """A libfprint call ended by its cancellable (the caller's stop switch or the timeout)."""

    def __init__(self, timed_out: bool) -> None:
        super().__init__("已取消指纹采集", "libfprint call cancelled")
        self.timed_out = timed_out


def _fprint() -> tuple[Any, Any, Any]:
    """(FPrint, GLib, Gio), imported on first use: a desk without the USB family never
    loads PyGObject."""
    try:
        import gi

        gi.require_version("FPrint", "2.0")
        from gi.repository import FPrint, Gio, GLib
    except (ImportError, ValueError) as exc:
        raise ConfigError(
            "未安装 USB 指纹识别器支持（libfprint）",
            f"gi.repository.FPrint unavailable: {exc}",
        ) from exc
    return FPrint, GLib, Gio


class LibfprintScanner:
    """One libfprint device (``device``: "auto" = the first one, else a driver name such as
    ``virtual_image`` or a device id)."""

    model = "libfprint"

    def __init__(self, device: str = "auto") -> None:
        self.configured_device = device
        self._fp, self._glib, self._gio = _fprint()
        self._main = self._glib.MainContext.new()
        self._context: Any = None
        self._device: Any = None
        self._info: ScannerInfo | None = None

    @classmethod
    def from_settings(cls, settings: ScannerSettings) -> LibfprintScanner:
        return cls(device=settings.port)

    # --- connection ------------------------------------------------------------------------

    def open(self) -> ScannerInfo:
        if self._device is not None and self._info is not None:
            return self._info
        self._context = self._fp.Context.new()
        devices = self._enumerate()
        device = self._pick(devices)
        with self._pushed():
            self._call(device.open, device.open_finish)
        self._device = device
        name = f"{device.get_driver()}:{device.get_device_id()}"
        self._info = ScannerInfo(
            model=str(device.get_name()),
            port=name,
            serial=str(device.get_device_id()),
            capacity=0,
            template_format=TEMPLATE_FORMAT,
        )
        log.info("libfprint device %s (%s)", name, device.get_name())
        return self._info

    def _enumerate(self) -> list[Any]:
        """``fp_context_enumerate`` blocks in GLib's global default context until its devices
        are probed: no other thread may own that context meanwhile. Qt's GLib event
        dispatcher would (its GUI thread iterates it), so the app runs Qt with its own
        dispatcher (``QT_NO_GLIB=1``, set in ``bts_desk.app`` before the QApplication)."""
        return list(self._context.get_devices())

    def _pick(self, devices: list[Any]) -> Any:
        wanted = self.configured_device
        for device in devices:
            if wanted in ("auto", "", device.get_driver(), device.get_device_id()):
                return device
        found = ", ".join(f"{d.get_driver()}:{d.get_device_id()}" for d in devices) or "none"
        raise ScannerDisconnectedError(
            "未找到 USB 指纹识别器：请检查 USB 连接",
            f"no libfprint device {wanted!r}; found {found}",
        )

    def close(self) -> None:
        device, self._device, self._info = self._device, None, None
        if device is None:
            return
        with contextlib.suppress(DeskError), self._pushed():
            self._call(device.close, device.close_finish)
            device = self._context = None  # finalized here, with the context still pushed
            while self._main.iteration(False):
                pass

    def check(self) -> ScannerInfo:
        """No request reaches a libfprint device without a finger; a removed one says so."""
        if self._device is None or self._info is None:
            return self.open()
        if self._device.props.removed:
            self.close()
            raise ScannerDisconnectedError(
                "指纹识别器连接已断开：请检查 USB 连接，插好后会自动重连", "libfprint: removed"
            )
        return self._info

    # --- enrollment ------------------------------------------------------------------------

    def enroll(
        self,
        finger_no: int,
        on_event: EventCallback,
        *,
        other_template: bytes | None = None,
        cancel: threading.Event | None = None,
        timing: EnrollTiming = DEFAULT_TIMING,
    ) -> FingerCapture:
        self.open()
        run = _Enrollment(
            self, finger_no, on_event, other=other_template, cancel=cancel, timing=timing
        )
        try:
            capture = run.run()
        except CaptureCancelledError:
            run.emit(EventKind.CANCELLED)
            raise
        except DeskError as exc:
            log.info("finger %d (libfprint) failed: %s", finger_no, exc.detail)
            run.emit(EventKind.FAILED, reason=exc.user_message)
            raise
        run.emit(EventKind.DONE)
        return capture

    def verify(
        self,
        finger: EnrolledFinger,
        on_event: EventCallback,
        *,
        cancel: threading.Event | None = None,
        timing: EnrollTiming = DEFAULT_TIMING,
    ) -> MatchResult:
        """libfprint's own verify of one press against the enrolled print (no score: the
        device or libfprint decides; unusable presses are asked again)."""
        check_format(finger, self.open().template_format)
        try:
            enrolled = self._fp.Print.deserialize(zlib.decompress(finger.template))
        except (zlib.error, self._glib.Error) as exc:
            raise CaptureError("指纹模板已损坏，无法比对", f"libfprint print: {exc}") from exc
        stop = (cancel or threading.Event()).is_set

        def emit(kind: EventKind, reason: str = "") -> None:
            try:
                on_event(FingerEvent(kind, 0, 1, 1, 0.0, reason))
            except Exception:
                log.exception("verification event callback failed")

        device = self._device
        emit(EventKind.PRESS)
        for _ in range(MAX_RETRIES):
            try:
                with self._pushed():
                    matched, _print = self._call(
                        lambda c, cb: device.verify(enrolled, cancellable=c, callback=cb),
                        device.verify_finish,
                        stop=stop,
                        timeout=timing.finger_timeout,
                    )
            except PressRejectedError as exc:
                emit(EventKind.RETRY, exc.user_message)
                continue
            except _CallCancelled as exc:
                emit(EventKind.CANCELLED if stop() else EventKind.FAILED)
                if stop():
                    raise CaptureCancelledError() from exc
                raise CaptureError("等待按压指纹超时，请重新核验", "libfprint verify") from exc
            emit(EventKind.DONE)
            return MatchResult(bool(matched), 0, 0.0, scored=False)
        emit(EventKind.FAILED)
        raise CaptureError("多次按压未成功，请重新核验", "libfprint verify: retries")

    # --- GLib plumbing ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _pushed(self) -> Iterator[None]:
        """The driver's main context as this thread's default for the block."""
        self._main.push_thread_default()
        try:
            yield
        finally:
            self._main.pop_thread_default()

    def _call(
        self,
        start: Callable[[Any, Callable[..., None]], None],
        finish: Callable[[Any], Any],
        *,
        stop: Callable[[], bool] | None = None,
        timeout: float = 0.0,
        on_tick: Callable[[], None] | None = None,
    ) -> Any:
        """Start an async libfprint call and iterate the driver's context until it ends;
        ``stop()`` turning true or ``timeout`` (seconds, 0 = none) cancel it (then
        ``_CallCancelled``). Other errors → ScannerError family."""
        done: list[Any] = []
        cancellable = self._gio.Cancellable.new()
        timed_out = False
        deadline = time.monotonic() + timeout if timeout else None
        start(cancellable, lambda _dev, result, *_: done.append(result))
        while not done:
            if not self._main.iteration(False):
                time.sleep(_IDLE_S)  # nothing due: the socket or USB has not spoken yet
            if on_tick is not None:
                on_tick()
            if deadline is not None and time.monotonic() > deadline and not timed_out:
                timed_out = True
                cancellable.cancel()
            if stop is not None and stop():
                cancellable.cancel()
        try:
            return finish(done[0])
        except self._glib.Error as exc:
            raise self._error(exc, timed_out) from exc

    def _error(self, exc: Any, timed_out: bool) -> DeskError:
        if exc.matches(self._gio.io_error_quark(), self._gio.IOErrorEnum.CANCELLED):
            return _CallCancelled(timed_out)
        if exc.domain == self._glib.quark_to_string(self._fp.device_retry_quark()):
            return PressRejectedError(_retry_message(self._fp, exc.code), exc.message, exc.code)
        removed = {self._fp.DeviceError.REMOVED, self._fp.DeviceError.NOT_OPEN}
        device_domain = self._glib.quark_to_string(self._fp.device_error_quark())
        if exc.domain == device_domain and exc.code in removed:
            self._device, self._info = None, None
            return ScannerDisconnectedError(
                "指纹识别器连接已断开：请检查 USB 连接，插好后会自动重连",
                f"libfprint: {exc.message}",
            )
        return ScannerTimeoutError("指纹识别器出错，请重试", f"libfprint: {exc.message}")


def _retry_message(fprint: Any, code: int) -> str:
    for name, message in _RETRY_MESSAGES.items():
        if getattr(fprint.DeviceRetry, name, None) == code:
            return message
    return _RETRY_MESSAGES["GENERAL"]


class _Enrollment:
    """One finger on a libfprint device: the other-finger check, then libfprint's stages."""

    def __init__(
        self,
        scanner: LibfprintScanner,
        finger_no: int,
        on_event: EventCallback,
        *,
        other: bytes | None,
        cancel: threading.Event | None,
        timing: EnrollTiming,
    ) -> None:
        self.scanner, self.finger_no, self._on_event = scanner, finger_no, on_event
        self.other = other
        self.cancel = cancel or threading.Event()
        self.timing = timing
        device = scanner._device
        self.device = device
        self.stages = int(device.get_nr_enroll_stages())
        self.offset = 1 if other is not None else 0  # the check press comes first
        self._checked = other is None
        self.total = self.stages + self.offset
        self.quality: list[float] = []
        self.image: Any = None
        self._retries = 0
        self._asked = -1  # the press number last announced with PRESS
        self._failure = ""  # set inside a libfprint callback: too many retries

    def _stop(self) -> bool:
        return self.cancel.is_set() or bool(self._failure)

    def _call(
        self, start: Callable[[Any, Callable[..., None]], None], finish: Any, press: int
    ) -> Any:
        try:
            return self.scanner._call(
                start,
                finish,
                stop=self._stop,
                timeout=self.timing.finger_timeout * (self.total - press + 1),
                on_tick=lambda: self._announce_when_needed(self._next_press()),
            )
        except _CallCancelled as exc:
            if self.cancel.is_set():
                raise CaptureCancelledError() from exc
            if self._failure:
                raise CaptureError(
                    f"多次按压未成功：{self._failure}", f"finger {self.finger_no}: retries"
                ) from exc
            raise CaptureError(
                "等待按压指纹超时，请重新开始", f"finger {self.finger_no}: no finger in time"
            ) from exc

    def _next_press(self) -> int:
        return min(self.total, len(self.quality) + 1 + self.offset) if self._checked else 1

    def emit(self, kind: EventKind, press: int = 0, quality: float = 0.0, reason: str = "") -> None:
        try:
            self._on_event(FingerEvent(kind, self.finger_no, press, self.total, quality, reason))
        except Exception:
            log.exception("finger event callback failed")

    def run(self) -> FingerCapture:
        fp = self.scanner._fp
        with self.scanner._pushed():
            if self.other is not None:
                self._check_other_finger()
            self._checked = True
            template = fp.Print.new(self.device)
            finger = fp.Finger.RIGHT_INDEX if self.finger_no == 1 else fp.Finger.LEFT_INDEX
            template.set_finger(finger)
            enrolled = self._call(
                lambda c, cb: self.device.enroll(template, c, self._progress, (), cb),
                self.device.enroll_finish,
                1 + self.offset,
            )
        self.emit(EventKind.UPLOADING)
        template_bytes = zlib.compress(bytes(enrolled.serialize()), 9)
        if len(template_bytes) > MAX_TEMPLATE_BYTES:
            raise CaptureError(
                "指纹模板过大，无法上传", f"libfprint print of {len(template_bytes)} bytes"
            )
        return self._capture(template_bytes)

    def _check_other_finger(self) -> None:
        """One press verified against finger 1's print: the same finger is asked again."""
        fp = self.scanner._fp
        try:
            other = fp.Print.deserialize(zlib.decompress(self.other or b""))
        except (zlib.error, self.scanner._glib.Error) as exc:
            log.warning("finger 1's template is not a libfprint print here: %s", exc)
            return
        while True:
            try:
                matched, _ = self._call(
                    lambda c, cb: self.device.verify(other, cancellable=c, callback=cb),
                    self.device.verify_finish,
                    1,
                )
            except PressRejectedError as exc:
                self._retry(1, exc.user_message)
                if self._failure:
                    raise CaptureError(f"多次按压未成功：{self._failure}", exc.detail) from exc
                continue
            if not matched:
                self.emit(EventKind.ACCEPTED, 1)
                return
            self._retry(1, "请换个手指")

    def _retry(self, press: int, reason: str) -> None:
        """Also called inside libfprint's callback: never raises; too many retries set
        ``_failure``, which stops the running call."""
        self._retries += 1
        if self._retries > MAX_RETRIES:
            self._failure = reason
            return
        self.emit(EventKind.RETRY, press, reason=reason)
        self._asked = -1

    def _announce_when_needed(self, press: int) -> None:
        """PRESS once the device really waits for the finger (``finger-status`` NEEDED)."""
        needed = self.scanner._fp.FingerStatusFlags.NEEDED
        if press != self._asked and self.device.get_finger_status() & needed:
            self._asked = press
            self.emit(EventKind.PRESS, press)

    def _progress(self, _device: Any, completed: int, print_: Any, *rest: Any) -> None:
        """libfprint's enroll-progress (on this thread, inside ``_call``)."""
        error = next((r for r in rest if isinstance(r, self.scanner._glib.Error)), None)
        press = completed + self.offset + (1 if error is not None else 0)
        if error is not None:
            self._retry(press, _retry_message(self.scanner._fp, error.code))
            return
        image = print_.get_image() if print_ is not None else None
        minutiae = len(image.get_minutiae() or []) if image is not None else 0
        quality = round(min(100.0, minutiae * 2.5), 1)  # 40 minutiae or more: a full score
        if image is not None:
            self.image = image
        self.quality.append(quality)
        self.emit(EventKind.ACCEPTED, press, quality=quality)

    def _capture(self, template: bytes) -> FingerCapture:
        png, width, height, dpi = b"", 0, 0, 0
        if self.image is not None:
            width, height = int(self.image.get_width()), int(self.image.get_height())
            pixels = np.frombuffer(bytes(self.image.get_data()), np.uint8)
            ok, data = cv2.imencode(".png", pixels[: width * height].reshape(height, width))
            if not ok:
                raise CaptureError("指纹图像转换失败", "cv2.imencode(.png) failed")
            png = bytes(data.tobytes())
            dpi = round(float(self.image.get_ppmm()) * 25.4)
        return FingerCapture(
            self.finger_no,
            template,
            png,
            tuple(self.quality),
            width=width,
            height=height,
            bits_per_pixel=8 if png else 0,
            dpi=dpi,
            template_format=TEMPLATE_FORMAT,
        )


def _conforms(scanner: LibfprintScanner) -> FingerprintScanner:
    """mypy checks here that LibfprintScanner implements the interface."""
    return scanner


__all__ = ["TEMPLATE_FORMAT", "LibfprintScanner"]
