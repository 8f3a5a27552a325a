"""The fingerprint scanner as the rest of the desk sees it, whatever the family.

- ``FingerprintScanner``: what every family's driver offers: open/check/close and ``enroll``
  one finger (the manual's three presses, per-press events, the different-finger check),
  giving a ``FingerCapture`` that carries the sensor's geometry and the template's format.
  Families: ``drivers/r30x`` (EF 01 serial modules, whose ``enroll`` runs
  ``bts_desk.capture.finger.FingerEnroller`` over the ``TwoSlotModule`` operations below) and
  ``drivers/libfprint`` (USB readers through libfprint, which runs its own enroll state
  machine). Blocking calls: only a ``ScannerWorker`` thread makes them.
- ``TwoSlotModule``: the AS608-style module with an image buffer and two feature slots, which
  the desk's own press-by-press enrollment drives.
- Errors every driver raises for the same situations (all ``ScannerError``):
  ``ScannerDisconnectedError``, ``ScannerTimeoutError``, ``PressRejectedError`` (ask for the
  press again), ``MergeFailedError`` (the presses do not make one template),
  ``ScannerRefusedError`` (any other refusal, with the module's own message).
- ``ScannerWorker``: the one thread that owns the driver and its port. Jobs are queued
  (``submit`` returns a Future); while idle it checks the device every few seconds, which is
  what turns the panel red on unplug and green again, and reopens the port, on replug.
- ``ScannerMonitor``: the device panel's handle (``DeviceMonitor``): status, restart,
  reconfigure with a new driver/port.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from bts_desk.capture.events import DEFAULT_TIMING, EnrollTiming, EventCallback
from bts_desk.config import ScannerSettings
from bts_desk.devices.registry import SCANNER_DRIVERS, load_class
from bts_desk.devices.status import DeviceKind, DeviceStatus, StatusCallback
from bts_desk.domain import FingerCapture
from bts_desk.errors import DeskError, ScannerError

if TYPE_CHECKING:
    from bts_desk.capture.verify import EnrolledFinger

log = logging.getLogger(__name__)

T = TypeVar("T")


class ScannerDisconnectedError(ScannerError):
    """The port is gone or cannot be opened (USB cable out, wrong port, port busy)."""


class ScannerTimeoutError(ScannerError):
    """The module did not answer in time."""


class ScannerRefusedError(ScannerError):
    """The module refused a command; ``user_message`` is its confirmation code's meaning."""

    def __init__(self, user_message: str, detail: str = "", code: int = -1) -> None:
        super().__init__(user_message, detail)
        self.code = code


class PressRejectedError(ScannerRefusedError):
    """This press cannot be used (messy image, too few features…): ask for it again."""


class MergeFailedError(ScannerRefusedError):
    """The presses could not be combined into one template (not the same finger)."""


@dataclass(frozen=True)
class ScannerInfo:
    model: str
    port: str
    serial: str  # serial number, or the module address when the module has none
    capacity: int  # templates the module's library holds (0: no library on the device)
    packet_size: int = 0
    baudrate: int = 0
    security_level: int = 0
    width: int = 0  # sensor image columns (0: the device gives no image)
    height: int = 0
    dpi: int = 0
    bits_per_pixel: int = 0  # of the image as the device delivers it
    template_bytes: int = 0  # expected template size (0: variable)
    template_format: str = ""  # e.g. "synochip-r30x-char", "libfprint-fpprint"


@dataclass(frozen=True)
class MatchResult:
    matched: bool
    score: int  # the module's own scale; 0 when not matched at all
    quality: float = 0.0  # the same judged on 0..100 by the driver (a press-quality figure)
    scored: bool = True  # False: the family matches without a score (libfprint's verify)


class FingerprintScanner(Protocol):
    """One fingerprint scanner of any family. Blocking; call only from the thread that owns
    it (the ``ScannerWorker``)."""

    def open(self) -> ScannerInfo:
        """Connect (if not yet) and identify the device; reopen after an unplug."""
        ...

    def close(self) -> None: ...

    def check(self) -> ScannerInfo:
        """Make sure the device answers, with a request that changes nothing on it (never
        called during an enrollment: the worker runs one job at a time); open it if needed."""
        ...

    def enroll(
        self,
        finger_no: int,
        on_event: EventCallback,
        *,
        other_template: bytes | None = None,
        cancel: threading.Event | None = None,
        timing: EnrollTiming = DEFAULT_TIMING,
    ) -> FingerCapture:
        """One finger from several presses, reporting ``FingerEvent``s through ``on_event``;
        refuses the finger whose template is ``other_template`` (finger 1 when enrolling
        finger 2). ``cancel`` ends it within one device step (CaptureCancelledError)."""
        ...

    def verify(
        self,
        finger: EnrolledFinger,
        on_event: EventCallback,
        *,
        cancel: threading.Event | None = None,
        timing: EnrollTiming = DEFAULT_TIMING,
    ) -> MatchResult:
        """One live press matched against ``finger``'s enrolled template on the device
        (边民核验). TemplateFormatError (a CaptureError) for a template of another format,
        before any press is asked for; ``cancel`` as for ``enroll``."""
        ...


class TwoSlotModule(Protocol):
    """An AS608-style module: one image buffer and two feature slots (1 and 2). ``extract``
    fills a slot from the last image, ``compare`` matches slot 1 with slot 2, ``merge`` makes
    a template from both (left in both slots). Blocking; the owning thread only."""

    def open(self) -> ScannerInfo: ...

    def capture(self) -> bool:
        """Take an image: True if a finger was on the sensor, False if none."""
        ...

    def extract(self, slot: int) -> None:
        """Features of the last image into ``slot``; PressRejectedError if it is unusable."""
        ...

    def compare(self) -> MatchResult: ...

    def merge(self) -> None: ...

    def read_template(self, slot: int) -> bytes:
        """The template in ``slot``, of the size the module's profile says."""
        ...

    def write_template(self, slot: int, template: bytes) -> None: ...

    def read_image(self) -> npt.NDArray[np.uint8]:
        """The last image as 8-bit grey (rows × columns). Slow: seconds on the wire."""
        ...


def make_scanner(settings: ScannerSettings) -> FingerprintScanner:
    """The configured driver, constructed but not opened (ConfigError if the name is unknown)."""
    cls = load_class(SCANNER_DRIVERS, settings.driver, "指纹识别器")
    scanner: FingerprintScanner = cls.from_settings(settings)
    return scanner


_STOP = object()


class ScannerWorker:
    """The thread that owns one scanner: queued jobs, idle health checks, status reports.

    ``submit`` and ``stop`` are thread-safe; jobs and callbacks run on the worker thread."""

    def __init__(
        self,
        scanner: FingerprintScanner,
        *,
        driver: str = "",
        port: str = "",
        check_interval: float = 2.0,
        on_status: StatusCallback | None = None,
    ) -> None:
        self.scanner = scanner
        self._driver, self._port = driver, port
        self._interval = check_interval
        self._on_status = on_status
        self._jobs: queue.Queue[Any] = queue.Queue()
        self._status = DeviceStatus.unknown(DeviceKind.SCANNER, driver)
        self._stopping = threading.Event()
        self._current_cancel: threading.Event | None = None
        self._thread = threading.Thread(target=self._run, name="scanner-worker", daemon=True)

    def start(self) -> ScannerWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel the running job (if it was submitted with a cancel event), drop queued ones,
        close the port, end the thread. Thread-safe; waits up to ``timeout``."""
        self._stopping.set()
        current = self._current_cancel
        if current is not None:
            current.set()
        self._jobs.put(_STOP)
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def status(self) -> DeviceStatus:
        return self._status

    def submit(
        self, job: Callable[[FingerprintScanner], T], cancel: threading.Event | None = None
    ) -> Future[T]:
        """Queue ``job(scanner)`` for the worker thread; its Future carries the result.
        ``cancel`` is the job's own stop switch: ``stop()`` sets it if the job is running."""
        future: Future[T] = Future()
        if self._stopping.is_set():
            future.set_exception(
                ScannerDisconnectedError("指纹识别器正在重启，请稍后再试", "scanner worker stopped")
            )
            return future
        self._jobs.put((job, future, cancel))
        return future

    def _run(self) -> None:
        self._check()
        while True:
            try:
                item = self._jobs.get(timeout=self._interval)
            except queue.Empty:
                self._check()
                continue
            if item is _STOP:
                break
            job, future, cancel = item
            if self._stopping.is_set():
                future.cancel()
            if not future.set_running_or_notify_cancel():
                continue
            self._current_cancel = cancel
            try:
                result = job(self.scanner)
            except BaseException as exc:
                future.set_exception(exc)
                if isinstance(exc, DeskError) and not isinstance(exc, ScannerRefusedError):
                    self._check()  # transport trouble: is the device still there?
            else:
                future.set_result(result)
            finally:
                self._current_cancel = None
        try:
            self.scanner.close()
        except DeskError as exc:
            log.warning("closing the scanner: %s", exc.detail)

    def _check(self) -> None:
        try:
            info = self.scanner.check()
        except DeskError as exc:
            self._set(
                DeviceStatus(
                    DeviceKind.SCANNER,
                    False,
                    exc.user_message,
                    exc.detail,
                    driver=self._driver,
                    port=self._port,
                )
            )
            return
        self._set(
            DeviceStatus(
                DeviceKind.SCANNER,
                True,
                "正常",
                f"{info.model} on {info.port}: serial {info.serial}, capacity {info.capacity}, "
                f"packet {info.packet_size} B, {info.baudrate} baud, "
                f"{info.width}×{info.height} {info.dpi} dpi, {info.template_format}",
                driver=self._driver,
                port=info.port,
                model=info.model,
                serial=info.serial,
                capacity=info.capacity,
            )
        )

    def _set(self, status: DeviceStatus) -> None:
        changed = status != self._status
        if changed and status.ok != self._status.ok:
            log.info("scanner %s: %s", "ready" if status.ok else "unavailable", status.detail)
        self._status = status
        if changed and self._on_status is not None:
            try:
                self._on_status(status)
            except Exception:
                log.exception("scanner status callback failed")


class ScannerMonitor:
    """The scanner's ``DeviceMonitor``: owns the current worker; restart and reconfigure it.

    Methods are thread-safe and never do device I/O on the caller's thread (stopping a worker
    waits for its current job, which the caller should have cancelled)."""

    def __init__(self, settings: ScannerSettings, *, check_interval: float = 2.0) -> None:
        self._settings = settings
        self._interval = check_interval
        self._callbacks: list[StatusCallback] = []
        self._lock = threading.Lock()
        self._worker: ScannerWorker | None = None

    @property
    def settings(self) -> ScannerSettings:
        return self._settings

    @property
    def worker(self) -> ScannerWorker:
        """The running worker (started on first use)."""
        with self._lock:
            if self._worker is None:
                self._worker = self._make_worker()
            return self._worker

    def start(self) -> None:
        """Start the worker (at app start-up): it opens the port and reports the status."""
        _ = self.worker

    def status(self) -> DeviceStatus:
        with self._lock:
            if self._worker is None:
                return DeviceStatus.unknown(DeviceKind.SCANNER, self._settings.driver)
            return self._worker.status

    def subscribe(self, callback: StatusCallback) -> None:
        self._callbacks.append(callback)

    def restart(self) -> None:
        self.reconfigure(self._settings)

    def reconfigure(self, settings: ScannerSettings) -> None:
        """Stop the current worker and start one for ``settings`` (driver, port…)."""
        with self._lock:
            old, self._worker = self._worker, None
        if old is not None:
            old.stop()
        with self._lock:
            self._settings = settings
            self._worker = self._make_worker()
        self._notify(DeviceStatus.unknown(DeviceKind.SCANNER, settings.driver))

    def stop(self) -> None:
        with self._lock:
            old, self._worker = self._worker, None
        if old is not None:
            old.stop()

    def _make_worker(self) -> ScannerWorker:
        try:
            scanner: FingerprintScanner = make_scanner(self._settings)
        except DeskError as exc:
            scanner = _BrokenScanner(exc)
        return ScannerWorker(
            scanner,
            driver=self._settings.driver,
            port=self._settings.port,
            check_interval=self._interval,
            on_status=self._notify,
        ).start()

    def _notify(self, status: DeviceStatus) -> None:
        for callback in list(self._callbacks):
            try:
                callback(status)
            except Exception:
                log.exception("scanner status subscriber failed")


class _BrokenScanner:
    """Stands in when the configured driver cannot even be loaded: every call reports why."""

    def __init__(self, error: DeskError) -> None:
        self._error = error

    def _fail(self, *_: object) -> Any:
        raise self._error

    open = check = _fail

    def enroll(self, *_: object, **__: object) -> FingerCapture:
        raise self._error

    def verify(self, *_: object, **__: object) -> MatchResult:
        raise self._error

    def close(self) -> None:
        return None
