"""OpenCV ``VideoCapture`` camera: a webcam by device index, or a stand-in source.

Sources (``[camera] source`` in the config):

- ``"0"``, ``"1"`` …: a device index. The webcam is asked for ``width``×``height`` (1280×720)
  in ``fourcc`` (MJPG: a USB 2 webcam sends 720p at 30 fps only compressed) through the first
  capture API of ``camera.backend`` that opens it and gives a frame: on Windows DirectShow (it
  opens the desk PCs' cheap UVC webcams far faster) and, when DirectShow fails, Media Foundation
  (``backend = "msmf"`` puts Media Foundation first, DirectShow second); V4L2 on Linux. What it
  actually delivers (size, format, frame rate) is read back and reported (``describe``) on the
  device panel, with the cameras found (``list_cameras``);
- a video file (the demo writes an MJPG ``.avi`` with ``make_demo_video``);
- an image sequence such as ``/path/img_%03d.jpg``;
- a URL (``rtsp://``, ``http://``): an IP camera through FFmpeg.

File and sequence sources are played at their own frame rate (so the preview looks like a live
camera) and, with ``loop=True``, start again at the end; otherwise their end is reported as
"视频源已结束". A device index that delivers no frame for ``stall_s`` seconds is reported as
unplugged.

Threads: not thread-safe. One thread (the camera worker's capture thread) opens, reads and
closes a camera; nothing here touches Qt.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import cv2
from cv2.typing import MatLike

from bts_desk.config import CameraSettings
from bts_desk.errors import CameraError

log = logging.getLogger(__name__)

Image = MatLike  # an OpenCV image: BGR (or grey) uint8

_FAILED_READS_BEFORE_GIVING_UP = 30  # ~1 s of a 30 fps webcam returning nothing
_DEFAULT_FILE_FPS = 25.0


BACKENDS = {
    "dshow": cv2.CAP_DSHOW,
    "msmf": cv2.CAP_MSMF,
    "v4l2": cv2.CAP_V4L2,
    "ffmpeg": cv2.CAP_FFMPEG,
    "images": cv2.CAP_IMAGES,
    "any": cv2.CAP_ANY,
}


def device_backends(choice: str = "auto", platform: str = sys.platform) -> tuple[int, ...]:
    """The capture APIs to try, in order, for a webcam index. Windows: DirectShow first (it
    opens cheap UVC webcams far faster), Media Foundation when it fails; ``"msmf"`` swaps them.
    Elsewhere the chosen API, then OpenCV's own choice."""
    windows = platform == "win32"
    if choice == "msmf" and windows:
        return (cv2.CAP_MSMF, cv2.CAP_DSHOW)
    if choice in ("auto", "dshow") and windows:
        return (cv2.CAP_DSHOW, cv2.CAP_MSMF)
    if choice == "auto":
        return (cv2.CAP_V4L2, cv2.CAP_ANY) if platform.startswith("linux") else (cv2.CAP_ANY,)
    if choice not in BACKENDS:
        raise CameraError("摄像头设置有误，请检查摄像头设置", f"unknown camera.backend {choice!r}")
    return (BACKENDS[choice], cv2.CAP_ANY) if BACKENDS[choice] != cv2.CAP_ANY else (cv2.CAP_ANY,)


def _fourcc_text(value: float) -> str:
    code = int(value)
    text = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4))
    return text if text.isprintable() and text.strip() else "?"


def list_cameras(
    max_index: int = 4,
    platform: str = sys.platform,
    sysfs: Path = Path("/sys/class/video4linux"),
) -> list[tuple[int, str]]:
    """Webcams present as (index, name), name "" where the platform does not tell. Linux: from
    sysfs (``/sys/class/video4linux``, capture nodes only), no device is opened. Elsewhere each
    index up to ``max_index`` is opened briefly with the default API (OpenCV gives no names
    there), so call this off the GUI thread and not while a preview runs."""
    if platform.startswith("linux"):
        found = []
        for node in sorted(sysfs.glob("video*"), key=lambda p: int(p.name[5:] or 0)):
            index_file = node / "index"
            if index_file.is_file() and index_file.read_text().strip() not in ("", "0"):
                continue  # a metadata node of a camera already listed
            name_file = node / "name"
            name = name_file.read_text().strip() if name_file.is_file() else ""
            found.append((int(node.name[5:]), name))
        return found
    found = []
    for index in range(max_index + 1):
        cap = cv2.VideoCapture(index, device_backends()[0])
        if cap.isOpened():
            found.append((index, ""))
        cap.release()
    return found


def _backend_name(backend: int) -> str:
    names = {value: key for key, value in BACKENDS.items()}
    return names.get(backend, str(backend))


class OpenCvCamera:
    """One OpenCV capture source. ``open`` → ``read`` (repeatedly) → ``close``."""

    def __init__(
        self,
        source: str = "0",
        width: int = 640,
        height: int = 480,
        *,
        loop: bool = False,
        realtime: bool = True,
        stall_s: float = 3.0,
        fourcc: str = "MJPG",
        backends: tuple[int, ...] | None = None,
    ) -> None:
        self.source = source.strip()
        self.width = width
        self.height = height
        self.fourcc = fourcc
        self.backends = backends  # None: device_backends() for an index, CAP_ANY for a file
        self.backend_name = ""  # the capture API that opened the source
        self.delivered: tuple[int, int, str, float] | None = None  # width, height, fourcc, fps
        self._first: Image | None = None  # the frame read while opening, served first
        self.loop = loop
        self.realtime = realtime  # files: pace reads at the file's frame rate
        self.stall_s = stall_s
        self._cap: cv2.VideoCapture | None = None
        self._frame_interval = 0.0
        self._next_due = 0.0
        self._frames = 0

    @classmethod
    def from_settings(cls, settings: CameraSettings) -> OpenCvCamera:
        backends = device_backends(settings.backend) if settings.source.strip().isdigit() else None
        return cls(
            settings.source,
            settings.width,
            settings.height,
            loop=settings.loop,
            fourcc=settings.fourcc,
            backends=backends,
        )

    @property
    def is_device(self) -> bool:
        return self.source.isdigit()

    @property
    def is_url(self) -> bool:
        return "://" in self.source

    @property
    def name(self) -> str:
        """What the device panel and the enrollment record call this camera."""
        if self.is_device:
            return f"OpenCV camera {self.source}"
        if self.is_url:
            return f"OpenCV stream {self.source.split('://', 1)[0]}"
        return f"OpenCV file {Path(self.source).name}"

    def open(self) -> None:
        """Open the source with the first capture API that opens it and gives a frame;
        CameraError if it is missing, busy, or gives no first frame through any of them."""
        self.close()
        if not self.is_device:
            self._check_file_exists()
        default = (cv2.CAP_FFMPEG,) if self.is_url else (cv2.CAP_ANY,)
        backends = self.backends or (device_backends() if self.is_device else default)
        failures = []
        for backend in backends:
            cap, first, why = self._try_open(backend)
            if cap is not None and first is not None:
                self._start(cap, first)
                return
            failures.append(f"{_backend_name(backend)}: {why}")
            log.warning("camera %s: %s", self.name, failures[-1])
        raise self._open_error("; ".join(failures))

    def _try_open(self, backend: int) -> tuple[cv2.VideoCapture | None, Image | None, str]:
        """One capture API: the opened capture and its first frame, or why not."""
        if self.is_device:
            cap = cv2.VideoCapture(int(self.source), backend)
        else:
            cap = cv2.VideoCapture(self.source, backend)
        if not cap.isOpened():
            cap.release()
            return None, None, "not opened"
        if self.is_device:
            cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*self.fourcc[:4].ljust(4)))
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # newest frame, not a queue (if supported)
        deadline = time.monotonic() + (self.stall_s if self.is_device else 0.0)
        while True:
            ok, frame = cap.read()
            if ok and frame is not None and frame.size:
                return cap, frame, ""
            if time.monotonic() >= deadline:
                cap.release()
                return None, None, "opened but gave no frame"
            time.sleep(0.02)

    def _start(self, cap: cv2.VideoCapture, first: Image) -> None:
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if not self.is_device and self.realtime:
            self._frame_interval = 1.0 / (fps if 1.0 <= fps <= 120.0 else _DEFAULT_FILE_FPS)
        self._cap = cap
        self._first = first
        self._frames = 0
        self._next_due = time.monotonic()
        self.backend_name = cap.getBackendName()
        height, width = first.shape[:2]
        self.delivered = (width, height, _fourcc_text(cap.get(cv2.CAP_PROP_FOURCC)), fps)
        log.info("camera %s opened through %s: %s", self.name, self.backend_name, self.describe())

    def cameras_found(self) -> list[tuple[int, str]]:
        """The webcams of this computer (``list_cameras``) when the source is one; [] for a
        file or stream. Call on the probe thread, with this camera closed."""
        return list_cameras() if self.is_device else []

    def describe(self) -> str:
        """What the source delivers, for the device panel and the log (English, precise)."""
        if self.delivered is None:
            return "not open"
        width, height, fourcc, fps = self.delivered
        text = f"{width}x{height} {fourcc} @ {fps:.0f} fps via {self.backend_name}"
        if not self.is_device:
            return text
        notes = []
        if (width, height) != (self.width, self.height):
            notes.append(f"asked {self.width}x{self.height}")
        if fourcc.upper() != self.fourcc.upper():
            notes.append(f"asked {self.fourcc}")
        if 0 < fps < 15:
            notes.append("below 15 fps")
        return text + (f" ({', '.join(notes)})" if notes else "")

    def _check_file_exists(self) -> None:
        if self.is_url:
            return
        path = Path(self.source)
        probe = path.parent if "%" in path.name else path
        if not probe.exists() or ("%" not in path.name and not path.is_file()):
            raise CameraError(
                "找不到摄像头视频源，请检查摄像头设置",
                f"camera source {self.source!r} does not exist",
            )

    def _open_error(self, why: str) -> CameraError:
        if self.is_device:
            return CameraError(
                f"无法打开摄像头 {self.source}：请检查摄像头是否已连接，或是否被其他程序占用",
                f"VideoCapture({self.source}) failed: {why}",
            )
        return CameraError("无法打开摄像头视频源，请检查摄像头设置", f"{self.source!r}: {why}")

    def read(self) -> Image:
        """The next BGR frame. Blocks at most about the frame interval (files) or ``stall_s``
        (devices). CameraError when the source ended (no loop), or the device is unplugged."""
        cap = self._cap
        if cap is None:
            raise CameraError("摄像头未打开", "read() before open()")
        self._pace()
        if self._first is not None:
            frame, self._first = self._first, None
            self._frames += 1
            return self._normalise(frame)
        started = time.monotonic()
        failures = 0
        rewound = False
        while True:
            ok, frame = cap.read()
            if ok and frame is not None and frame.size:
                self._frames += 1
                return self._normalise(frame)
            if not self.is_device and not self.is_url:
                # One rewind per read: a source that gives nothing even from its start is gone.
                if self.loop and self._frames > 0 and not rewound and self._rewind():
                    rewound = True
                    cap = self._cap
                    assert cap is not None
                    continue
                raise CameraError("视频源已结束", f"{self.source!r} ended after {self._frames}")
            failures += 1
            if (
                failures >= _FAILED_READS_BEFORE_GIVING_UP
                or time.monotonic() - started > self.stall_s
            ):
                raise self._lost_error(failures)
            time.sleep(0.02)

    def _lost_error(self, failures: int) -> CameraError:
        if self._frames == 0:
            return CameraError(
                "摄像头没有画面：可能被其他程序占用，请关闭其他程序后重试",
                f"{self.name}: opened but no frame after {failures} reads",
            )
        return CameraError(
            "摄像头已断开，请检查连接后重试",
            f"{self.name}: no frame after {failures} reads, {self._frames} frames before",
        )

    def _rewind(self) -> bool:
        """Back to the first frame of a file or sequence (reopens if seeking is unsupported)."""
        assert self._cap is not None
        if self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0):
            return True
        self._cap.release()
        self._cap = cv2.VideoCapture(self.source, cv2.CAP_ANY)
        return bool(self._cap.isOpened())

    def _pace(self) -> None:
        """Hold a file source to its frame clock, as a camera would. A reader that falls a
        little behind catches up (the clock stays anchored); one that falls far behind is
        re-anchored to now rather than served a burst of stale frames."""
        if self._frame_interval <= 0:
            return
        now = time.monotonic()
        if self._next_due > now:
            time.sleep(self._next_due - now)
        elif now - self._next_due > 3 * self._frame_interval:
            self._next_due = now
        self._next_due += self._frame_interval

    def _normalise(self, frame: Image) -> Image:
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        elif frame.shape[2] == 4:
            frame = cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
        return frame

    def close(self) -> None:
        """Release the device (idempotent)."""
        self._first = None
        if self._cap is not None:
            self._cap.release()
            self._cap = None
            log.info("camera %s closed after %d frames", self.name, self._frames)
