"""The camera interface and the worker thread that owns a camera (Qt-free).

``CameraWorker`` runs one capture thread: open the camera, read frames, optionally analyse each
one (the face gate) and put the result in a one-slot mailbox. The consumer (the face panel,
polling with a QTimer; the benchmark) takes only the newest packet: a frame nobody took before
the next one arrived is dropped, never queued, so a slow GUI never builds a backlog or a lag.

Analysis runs on the capture thread so the whole pipeline uses one core; the thread sets
``cv2.setNumThreads(1)`` so OpenCV does not fan out either.

Errors (missing, busy, unplugged, source ended) end the thread; the worker keeps the
``CameraError`` and calls ``on_state``; ``start()`` again is the retry. Callbacks run on the
capture thread: a Qt user hands them through ``gui_poster().wrap``.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import cv2
from cv2.typing import MatLike

from bts_desk.config import CameraSettings
from bts_desk.devices.registry import CAMERA_DRIVERS, load_class
from bts_desk.devices.status import DeviceKind, DeviceStatus, StatusCallback
from bts_desk.errors import CameraError, DeskError

log = logging.getLogger(__name__)

Image = MatLike  # an OpenCV image: BGR (or grey) uint8
T = TypeVar("T")
P = TypeVar("P")


class Camera(Protocol):
    """What a camera driver provides. Used from one thread at a time (the capture thread)."""

    @property
    def name(self) -> str:
        """Short description for the device panel and the enrollment record."""
        ...

    def open(self) -> None:
        """Start capturing; CameraError if missing or busy."""
        ...

    def read(self) -> Image:
        """The next BGR frame (blocks until there is one); CameraError if it is lost."""
        ...

    def close(self) -> None:
        """Release the device; idempotent."""
        ...


CameraFactory = Callable[[], Camera]


def camera_factory(settings: CameraSettings) -> CameraFactory:
    """A factory of the configured camera driver (imports the driver now: ConfigError if the
    name is unknown). The factory is called on the capture thread at each (re)start."""
    cls = load_class(CAMERA_DRIVERS, settings.driver, "摄像头")

    def make() -> Camera:
        camera: Camera = cls.from_settings(settings)
        return camera

    return make


class LatestSlot(Generic[P]):
    """A one-slot mailbox: ``put`` replaces what is there (counted as dropped if unread),
    ``take`` empties it. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._item: P | None = None
        self.dropped = 0

    def put(self, item: P) -> None:
        with self._lock:
            if self._item is not None:
                self.dropped += 1
            self._item = item

    def take(self) -> P | None:
        with self._lock:
            item, self._item = self._item, None
            return item

    def clear(self) -> None:
        with self._lock:
            self._item = None


@dataclass(frozen=True)
class FramePacket(Generic[T]):
    """One captured frame with its analysis. ``image`` is owned by the receiver."""

    seq: int  # 1, 2, … per start
    captured_at: float  # time.monotonic()
    image: Image
    analysis: T | None
    process_ms: float  # read + analyse, on the capture thread


class CameraState(enum.Enum):
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    FAILED = "failed"


StateCallback = Callable[[CameraState, DeskError | None], None]


class CameraWorker(Generic[T]):
    """Owns one camera on its own thread and publishes the newest frame. Control methods
    (``start``, ``stop``, ``take_latest``) may be called from any thread."""

    def __init__(
        self,
        factory: CameraFactory,
        analyse: Callable[[Image], T] | None = None,
        *,
        analyse_every: int = 1,
        on_state: StateCallback | None = None,
    ) -> None:
        self._factory = factory
        self._analyse = analyse
        self._analyse_every = max(1, analyse_every)
        self._listeners: list[StateCallback] = [on_state] if on_state is not None else []
        self._slot: LatestSlot[FramePacket[T]] = LatestSlot()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping: threading.Thread | None = None
        self._progress_at = 0.0  # monotonic time of the start or the last frame
        self._stop = threading.Event()
        self._state = CameraState.STOPPED
        self._error: DeskError | None = None
        self.camera_name = ""
        self.frames = 0

    @property
    def state(self) -> CameraState:
        return self._state

    @property
    def error(self) -> DeskError | None:
        return self._error

    @property
    def is_capturing(self) -> bool:
        """True while a capture thread (running or stopping) may still hold the camera."""
        threads = (self._thread, self._stopping)
        return any(t is not None and t.is_alive() for t in threads)

    @property
    def dropped(self) -> int:
        return self._slot.dropped

    def start(self) -> None:
        """Start (or, after a failure, retry) capturing. No-op while already running."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and not self._stop.is_set():
                return
            previous = self._thread or self._stopping
            self._stop = threading.Event()
            self._slot.clear()
            self.frames = 0
            self._error = None
            self._progress_at = time.monotonic()
            self._set_state(CameraState.STARTING, None)
            self._thread = threading.Thread(
                target=self._run,
                args=(self._stop, previous),
                name="camera-capture",
                daemon=True,
            )
            self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        """Stop capturing and release the camera. Waits up to ``timeout`` for the thread (a read
        blocked in a hung driver is left to finish on its own; the thread is a daemon). The GUI
        passes ``timeout=0``: a following ``start`` waits for the old thread on the new one,
        so the device is free again before it is reopened."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._stopping = thread
            self._stop.set()
        if thread is not None and timeout > 0 and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                log.warning("camera thread did not stop within %.1f s", timeout)
        self._slot.clear()
        if self._state is not CameraState.FAILED:
            self._set_state(CameraState.STOPPED, None)

    def check_stalled(self, limit_s: float) -> bool:
        """Watchdog for a consumer's timer: if no frame came for ``limit_s`` seconds while
        starting or running (a driver hung in a read after the cable was pulled), give the
        thread up (it ends when the read returns) and report FAILED. True if it did."""
        with self._lock:
            live = self._state in (CameraState.STARTING, CameraState.RUNNING)
            quiet = time.monotonic() - self._progress_at
            if not live or quiet <= limit_s or self._stop.is_set():
                return False
            thread, self._thread = self._thread, None
            if thread is not None:
                self._stopping = thread
            self._stop.set()
        error = CameraError(
            "摄像头没有画面，可能已断开：请检查连接后重试",
            f"{self.camera_name or 'camera'}: no frame for {quiet:.1f} s, capture abandoned",
        )
        log.warning("camera stalled: %s", error.detail)
        self._error = error
        self._set_state(CameraState.FAILED, error)
        return True

    def take_latest(self) -> FramePacket[T] | None:
        """The newest packet not yet taken, or None."""
        return self._slot.take()

    def add_listener(self, callback: StateCallback) -> None:
        """Also call ``callback(state, error)`` on every state change (capture thread)."""
        self._listeners.append(callback)

    def _set_state(self, state: CameraState, error: DeskError | None) -> None:
        self._state = state
        for callback in list(self._listeners):
            try:
                callback(state, error)
            except Exception:
                log.exception("camera state callback failed")

    def _run(self, stop: threading.Event, previous: threading.Thread | None) -> None:
        cv2.setNumThreads(1)
        camera: Camera | None = None
        if previous is not None and previous is not threading.current_thread():
            previous.join(3.0)  # let the old capture thread release the device first
        try:
            camera = self._factory()
            self.camera_name = camera.name
            camera.open()
            if not stop.is_set():
                self._set_state(CameraState.RUNNING, None)
            self._loop(camera, stop)
        except DeskError as exc:
            self._fail(exc, stop)
        except Exception as exc:  # a driver bug must not vanish silently
            log.exception("camera thread crashed")
            self._fail(
                CameraError("摄像头出现未知错误，请重试", f"{type(exc).__name__}: {exc}"), stop
            )
        finally:
            if camera is not None:
                try:
                    camera.close()
                except Exception:
                    log.exception("camera close failed")

    def _fail(self, exc: DeskError, stop: threading.Event) -> None:
        if stop.is_set():  # stopped on purpose; whatever the driver said after that is moot
            return
        log.warning("camera failed: %s", exc.detail)
        self._error = exc
        self._set_state(CameraState.FAILED, exc)

    def _loop(self, camera: Camera, stop: threading.Event) -> None:
        """Read, analyse, publish. ``stop`` is this thread's own event: once it is set, a
        newer thread may own the mailbox, so nothing more is published or counted."""
        last: T | None = None
        count = 0
        while not stop.is_set():
            started = time.perf_counter()
            image = camera.read()
            captured_at = time.monotonic()
            count += 1
            if self._analyse is not None and (count - 1) % self._analyse_every == 0:
                last = self._analyse(image)
            if stop.is_set():
                break
            elapsed = (time.perf_counter() - started) * 1000
            self.frames, self._progress_at = count, captured_at
            self._slot.put(FramePacket(count, captured_at, image, last, elapsed))


class CameraMonitor:
    """The camera's ``DeviceMonitor`` for the device panel (外接设备状态).

    A webcam is opened only while the 人脸 step previews, so the monitor does not poll it:
    ``restart()`` (at start-up and on 重启服务) probes it once on a short-lived thread (open,
    one frame, close), and a preview worker registered with ``watch`` reports its own state.
    ``factory`` always builds the camera of the current settings, so ``reconfigure`` takes
    effect at the next 开始拍照. Thread-safe; callbacks run on camera threads."""

    def __init__(self, settings: CameraSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._callbacks: list[StatusCallback] = []
        self._workers: weakref.WeakSet[CameraWorker[Any]] = weakref.WeakSet()  # dialogs come and go
        self._status = DeviceStatus.unknown(DeviceKind.CAMERA, settings.driver)

    @property
    def settings(self) -> CameraSettings:
        return self._settings

    def factory(self) -> Camera:
        """A ``CameraFactory``: the configured camera (ConfigError for an unknown driver)."""
        return camera_factory(self._settings)()

    def status(self) -> DeviceStatus:
        return self._status

    def subscribe(self, callback: StatusCallback) -> None:
        """Call ``callback(status)`` on every change, and once now with the current status (a
        probe that ended between the subscriber's ``status()`` and this call is not lost)."""
        self._callbacks.append(callback)
        callback(self._status)

    def watch(self, worker: CameraWorker[Any]) -> None:
        """Follow a preview worker's state (the face panel registers its worker)."""
        with self._lock:
            self._workers.add(worker)
        worker.add_listener(lambda state, error: self._from_worker(worker, state, error))

    def restart(self) -> None:
        """Restart a running preview, or probe the camera once; returns at once."""
        with self._lock:
            running = [w for w in list(self._workers) if w.state is CameraState.RUNNING]
        if running:
            for worker in running:
                threading.Thread(target=_restart_worker, args=(worker,), daemon=True).start()
            return
        self._set(DeviceStatus.unknown(DeviceKind.CAMERA, self._settings.driver))
        threading.Thread(target=self._probe, name="camera-probe", daemon=True).start()

    def reconfigure(self, settings: CameraSettings) -> None:
        self._settings = settings
        self.restart()

    def _probe(self) -> None:
        cv2.setNumThreads(1)
        camera: Camera | None = None
        try:
            camera = self.factory()
            camera.open()
            frame = camera.read()
            height, width = frame.shape[:2]
            describe = getattr(camera, "describe", None)
            mode = describe() if callable(describe) else f"{width}x{height}"
            camera.close()
            self._set(self._ok(f"{camera.name}: {mode}{_cameras_found(camera)}"))
        except DeskError as exc:
            self._set(self._failed(exc))
        finally:
            if camera is not None:
                camera.close()

    def _from_worker(
        self, worker: CameraWorker[Any], state: CameraState, error: DeskError | None
    ) -> None:
        if state is CameraState.RUNNING:
            self._set(self._ok(f"{worker.camera_name}: previewing"))
        elif state is CameraState.FAILED and error is not None:
            self._set(self._failed(error))
        elif state is CameraState.STOPPED and self._status.ok:
            # The preview ended normally (photo taken, dialog closed): the camera worked and
            # is free again; "previewing" would be stale on the panel.
            self._set(self._ok(f"{worker.camera_name}: idle, last preview ended normally"))

    def _ok(self, detail: str) -> DeviceStatus:
        return DeviceStatus(
            DeviceKind.CAMERA,
            True,
            "正常",
            detail,
            driver=self._settings.driver,
            port=self._settings.source,
        )

    def _failed(self, error: DeskError) -> DeviceStatus:
        return DeviceStatus(
            DeviceKind.CAMERA,
            False,
            error.user_message,
            error.detail,
            driver=self._settings.driver,
            port=self._settings.source,
        )

    def _set(self, status: DeviceStatus) -> None:
        changed = status != self._status
        self._status = status
        if not changed:
            return
        for callback in list(self._callbacks):
            try:
                callback(status)
            except Exception:
                log.exception("camera status subscriber failed")


def _cameras_found(camera: Camera) -> str:
    """ " · cameras found: 0 'name', 1 (no name)" when the driver can list the webcams of this
    computer (OpenCV on a device index), else "". Probe thread only: it may open devices."""
    lister = getattr(camera, "cameras_found", None)
    if not callable(lister):
        return ""
    found = lister()
    if not found:
        return ""
    names = ", ".join(
        f"{index} {name!r}" if name else f"{index} (no name)" for index, name in found
    )
    return f" · cameras found: {names}"


def _restart_worker(worker: CameraWorker[Any]) -> None:
    worker.stop()
    worker.start()
