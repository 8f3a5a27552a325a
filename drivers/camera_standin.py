"""The webcam stand-in of the demo and the tests: a generated MJPG video of a face that moves.

``make_demo_video`` writes a 640×480 MJPG ``.avi`` (readable by ``OpenCvCamera`` like any file
source) of a portrait photo on a plain wall, scripted so the face gate's hint changes live:
no face yet → too far (请靠近一些) → centred with gentle sway (可以拍照) → drifting out of the
guide frame (请将脸部置于框内) → back (可以拍照). ``demo_camera_source`` makes it once in the
desk's data directory and returns the path for ``settings.camera.source`` (with
``settings.camera.loop = True``).

The face is ``resources/demo/face_astronaut.jpg``: a downscaled crop of NASA's portrait of
astronaut Eileen Collins (public domain; the same photo as scikit-image's ``data.astronaut``).

Pure OpenCV/NumPy, no Qt; safe on any thread (writes only the file it is given).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from cv2.typing import MatLike
from numpy.typing import NDArray

from bts_desk.errors import CameraError
from bts_desk.paths import resource_path

Image = MatLike  # an OpenCV image: BGR (or grey) uint8

DEMO_FACE = ("demo", "face_astronaut.jpg")
DEMO_FACE_BOX = (76, 61, 88, 88)  # Haar face box (x, y, w, h) in the shipped image
DEMO_VIDEO_NAME = "demo-camera-v1.avi"  # bump the version when the script below changes
FRAME_SIZE = (640, 480)

# (seconds, face width in frame px, face centre x, face centre y); linear in between.
_SCRIPT: tuple[tuple[float, float, float, float], ...] = (
    (0.0, 104, 980, 215),  # off screen: 未检测到人脸
    (1.2, 104, 980, 215),
    (1.6, 104, 320, 215),  # far away: 请靠近一些
    (3.0, 104, 320, 215),
    (4.2, 180, 320, 200),  # centred: 可以拍照
    (8.0, 176, 326, 204),
    (9.0, 176, 150, 205),  # drifting to the side: 请将脸部置于框内
    (10.0, 176, 150, 205),
    (11.2, 180, 320, 200),  # back: 可以拍照
    (14.0, 180, 320, 200),
)


def load_demo_face() -> tuple[Image, tuple[int, int, int, int]]:
    """The shipped portrait (BGR) and its face box."""
    path = resource_path(*DEMO_FACE)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise CameraError("演示摄像头素材缺失，请重新安装程序", f"cannot read {path}")
    return np.asarray(image, dtype=np.uint8), DEMO_FACE_BOX


def _wall(size: tuple[int, int]) -> Image:
    width, height = size
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    base = np.array([196, 188, 176], np.float32)  # a light grey-blue wall (BGR)
    wall = base[None, None, :] * (0.92 + 0.1 * ramp[..., None]) * np.ones((1, width, 1))
    return np.clip(wall, 0, 255).astype(np.uint8)


def _feather(height: int, width: int) -> NDArray[np.float32]:
    """An elliptical alpha mask so the pasted photo blends into the wall."""
    mask = np.zeros((height, width), np.float32)
    cv2.ellipse(
        mask, (width // 2, height // 2), (width // 2 - 4, height // 2 + 30), 0, 0, 360, 1.0, -1
    )
    mask[height * 3 // 4 :, :] = np.maximum(mask[height * 3 // 4 :, :], 1.0)  # shoulders
    return np.asarray(cv2.GaussianBlur(mask, (0, 0), 9), dtype=np.float32)


def compose_frame(
    face: Image,
    face_box: tuple[int, int, int, int],
    face_width: float,
    centre: tuple[float, float],
    background: Image,
) -> Image:
    """``background`` with ``face`` scaled so its face box is ``face_width`` wide and centred
    at ``centre`` (parts outside the frame are cut off)."""
    scale = face_width / face_box[2]
    photo = cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    alpha = _feather(*photo.shape[:2])
    ox = round(centre[0] - (face_box[0] + face_box[2] / 2) * scale)
    oy = round(centre[1] - (face_box[1] + face_box[3] / 2) * scale)
    frame = background.copy()
    height, width = frame.shape[:2]
    x0, y0 = max(0, ox), max(0, oy)
    x1, y1 = min(width, ox + photo.shape[1]), min(height, oy + photo.shape[0])
    if x1 <= x0 or y1 <= y0:
        return frame
    src = photo[y0 - oy : y1 - oy, x0 - ox : x1 - ox].astype(np.float32)
    a = alpha[y0 - oy : y1 - oy, x0 - ox : x1 - ox, None]
    dst = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = np.clip(src * a + dst * (1 - a), 0, 255).astype(np.uint8)
    return frame


def _script_at(t: float) -> tuple[float, float, float]:
    for (t0, w0, x0, y0), (t1, w1, x1, y1) in itertools.pairwise(_SCRIPT):
        if t0 <= t <= t1:
            k = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
            return w0 + (w1 - w0) * k, x0 + (x1 - x0) * k, y0 + (y1 - y0) * k
    _, w, x, y = _SCRIPT[-1]
    return w, x, y


def demo_frames(fps: float = 25.0, size: tuple[int, int] = FRAME_SIZE) -> Iterator[Image]:
    """The frames of one loop of the demo video, with a gentle sway (breathing, small nods)."""
    face, box = load_demo_face()
    wall = _wall(size)
    duration = _SCRIPT[-1][0]
    for index in range(round(duration * fps)):
        t = index / fps
        width, cx, cy = _script_at(t)
        cx += 4 * math.sin(t * 1.3)
        cy += 3 * math.sin(t * 0.9 + 1)
        width *= 1 + 0.015 * math.sin(t * 0.7)
        yield compose_frame(face, box, width, (cx, cy), wall)


def make_demo_video(path: Path, fps: float = 25.0, size: tuple[int, int] = FRAME_SIZE) -> Path:
    """Write the demo video (MJPG in AVI) to ``path``; returns ``path``. About 1 s of work."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".part.avi")
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter.fourcc(*"MJPG"), fps, size)
    if not writer.isOpened():
        raise CameraError("无法生成演示视频", f"VideoWriter(MJPG) cannot open {tmp}")
    try:
        for frame in demo_frames(fps, size):
            writer.write(frame)
    finally:
        writer.release()
    tmp.replace(path)
    return path


def demo_camera_source(data_dir: Path) -> str:
    """The demo's ``settings.camera.source``: the demo video in ``data_dir`` (made if missing)."""
    path = Path(data_dir) / DEMO_VIDEO_NAME
    if not path.is_file() or path.stat().st_size == 0:
        make_demo_video(path)
    return str(path)
