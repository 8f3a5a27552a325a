"""OpenCV ``VideoCapture`` camera: a webcam by device index, or a stand-in source.

Sources (``[camera] source`` in the config):

- ``"0"``, ``"1"`` …: a device index (V4L2 on Linux, DirectShow on Windows, which opens far
  faster than Media Foundation on the desk PCs' cheap UVC webcams);
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


def _device_backend() -> int:
    # DirectShow opens cheap UVC webcams far faster than Media Foundation on Windows.
    backends = {"win32": cv2.CAP_DSHOW, "linux": cv2.CAP_V4L2}
    return int(backends.get(sys.platform, cv2.CAP_ANY))


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
    ) -> None:
        self.source = source.strip()
        self.width = width
        self.height = height
        self.loop = loop
        self.realtime = realtime  # files: pace reads at the file's frame rate
        self.stall_s = stall_s
        self._cap: cv2.VideoCapture | None = None
        self._frame_interval = 0.0
        self._next_due = 0.0
        self._frames = 0

    @classmethod
    def from_settings(cls, settings: CameraSettings) -> OpenCvCamera:
        return cls(settings.source, settings.width, settings.height, loop=settings.loop)

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
        """Open the source; CameraError if it is missing, busy, or gives no first frame."""
        self.close()
        if self.is_device:
            cap = cv2.VideoCapture(int(self.source), _device_backend())
        else:
            self._check_file_exists()
            cap = cv2.VideoCapture(self.source, cv2.CAP_FFMPEG if self.is_url else cv2.CAP_ANY)
        if not cap.isOpened():
            cap.release()
            raise self._open_error("not opened by any backend")
        if self.is_device:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # newest frame, not a queue (if supported)
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if not self.is_device and self.realtime:
            self._frame_interval = 1.0 / (fps if 1.0 <= fps <= 120.0 else _DEFAULT_FILE_FPS)
        self._cap = cap
        self._frames = 0
        self._next_due = time.monotonic()
        log.info(
            "camera %s opened: %dx%d @ %.1f fps",
            self.name,
            int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            fps,
        )

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
        if self._cap is not None:
            self._cap.release()
            self._cap = None
            log.info("camera %s closed after %d frames", self.name, self._frames)
