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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import cv2
from cv2.typing import MatLike

from bts_desk.config import CameraSettings
from bts_desk.devices.registry import CAMERA_DRIVERS, load_class
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
    (``start``, ``stop``, ``take_latest``, ``status_fields``) may be called from any thread."""

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
        self._on_state = on_state
        self._slot: LatestSlot[FramePacket[T]] = LatestSlot()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
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
    def dropped(self) -> int:
        return self._slot.dropped

    def start(self) -> None:
        """Start (or, after a failure, retry) capturing. No-op while already running."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop = threading.Event()
            self._slot.clear()
            self.frames = 0
            self._error = None
            self._set_state(CameraState.STARTING, None)
            self._thread = threading.Thread(
                target=self._run, args=(self._stop,), name="camera-capture", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        """Stop capturing and release the camera. Waits up to ``timeout`` for the thread (a read
        blocked in a hung driver is left to finish on its own; the thread is a daemon)."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                log.warning("camera thread did not stop within %.1f s", timeout)
        self._slot.clear()
        if self._state is not CameraState.FAILED:
            self._set_state(CameraState.STOPPED, None)

    def take_latest(self) -> FramePacket[T] | None:
        """The newest packet not yet taken, or None."""
        return self._slot.take()

    def status_fields(self) -> dict[str, Any]:
        """The camera's line of the device panel: kind, ok, summary_zh, detail, driver, port."""
        ok = self._state in (CameraState.RUNNING, CameraState.STARTING)
        summary = {
            CameraState.STOPPED: "摄像头未启动",
            CameraState.STARTING: "摄像头正在启动",
            CameraState.RUNNING: "摄像头工作正常",
            CameraState.FAILED: self._error.user_message if self._error else "摄像头故障",
        }[self._state]
        detail = (
            self._error.detail if self._error else f"{self.frames} frames, {self.dropped} dropped"
        )
        return {"kind": "camera", "ok": ok, "summary_zh": summary, "detail": detail}

    def _set_state(self, state: CameraState, error: DeskError | None) -> None:
        self._state = state
        if self._on_state is not None:
            try:
                self._on_state(state, error)
            except Exception:
                log.exception("camera state callback failed")

    def _run(self, stop: threading.Event) -> None:
        cv2.setNumThreads(1)
        camera: Camera | None = None
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
        last: T | None = None
        while not stop.is_set():
            started = time.perf_counter()
            image = camera.read()
            captured_at = time.monotonic()
            self.frames += 1
            if self._analyse is not None and (self.frames - 1) % self._analyse_every == 0:
                last = self._analyse(image)
            elapsed = (time.perf_counter() - started) * 1000
            self._slot.put(FramePacket(self.frames, captured_at, image, last, elapsed))
