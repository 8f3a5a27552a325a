"""The webcam stand-in of the demo and the tests: a generated MJPG video of a face that moves.

``make_demo_video`` writes an MJPG ``.avi`` (1280×720 by default, as the desk asks of a real
webcam; readable by ``OpenCvCamera`` like any file source) of a person in front of a light,
plain backdrop board, in a cluttered room (a real photograph fills the rest of the frame), scripted
so the face gate's hint changes live: no face yet → too far (请靠近一些) → centred with gentle
sway (可以拍照) → drifting out of the guide frame (请将脸部置于框内) → back (可以拍照). At
1280×720 the eyes are about 100 px apart when centred, above the gate's 90 px minimum, so the
saved portrait is an ISO/IEC 19794-5 token image without upscaling. ``demo_camera_source``
makes it once in the desk's data directory and returns the path for ``settings.camera.source``
(with ``settings.camera.loop = True``).

Pictures (``resources/demo``), both real photographs:

- ``face_grace_hopper.jpg``: a crop of the US Navy portrait of Rear Admiral Grace Hopper (public
  domain, a work of the US Navy; the same photo as matplotlib's sample ``grace_hopper.jpg``);
- ``room_coffee.jpg``: Rachel Michetti's photograph of a cup of coffee (CC0; scikit-image's
  ``data.coffee``), the clutter around the backdrop.

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
Point = tuple[float, float]

DEMO_FACE = ("demo", "face_grace_hopper.jpg")
DEMO_FACE_EYES: tuple[Point, Point] = ((151.0, 178.0), (233.0, 176.0))  # annotated, ±1 px
DEMO_ROOM = ("demo", "room_coffee.jpg")
DEMO_VIDEO_NAME = "demo-camera-v2.avi"  # bump the version when the script below changes
FRAME_SIZE = (1280, 720)

# (seconds, eye distance px, eyes' midpoint x, y) at 1280×720; linear in between.
_SCRIPT: tuple[tuple[float, float, float, float], ...] = (
    (0.0, 60, 1900, 330),  # off screen: 未检测到人脸
    (1.2, 60, 1900, 330),
    (1.6, 60, 640, 330),  # far away: 请靠近一些
    (3.0, 60, 640, 330),
    (4.2, 102, 640, 300),  # centred: 可以拍照
    (8.0, 100, 646, 304),
    (9.0, 100, 330, 305),  # drifting to the side: 请将脸部置于框内
    (10.0, 100, 330, 305),
    (11.2, 102, 640, 300),  # back: 可以拍照
    (14.0, 102, 640, 300),
)
# The person already seated in front of the camera, centred, swaying gently (可以拍照 from the
# first frames): soak_bench's stand-in, where a shift's 补录 should not wait ~4 s per photo for
# the demo's walk-in (what the demo script shows once is timed by face_bench, not by the soak).
SEATED_SCRIPT: tuple[tuple[float, float, float, float], ...] = (
    (0.0, 102, 640, 300),
    (2.0, 100, 646, 304),
    (4.0, 102, 640, 300),
)
Script = tuple[tuple[float, float, float, float], ...]


def _load(parts: tuple[str, str]) -> Image:
    path = resource_path(*parts)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise CameraError("演示摄像头素材缺失，请重新安装程序", f"cannot read {path}")
    return np.asarray(image, dtype=np.uint8)


def load_demo_face() -> tuple[Image, tuple[Point, Point]]:
    """The shipped portrait (BGR) and its eye centres (image-left eye first)."""
    return _load(DEMO_FACE), DEMO_FACE_EYES


def room_scene(size: tuple[int, int] = FRAME_SIZE) -> Image:
    """The background: the room photograph filling the frame, with a light plain backdrop
    board (a slight vertical shading, as real light gives) behind where the head goes."""
    width, height = size
    room = _load(DEMO_ROOM)
    scale = max(width / room.shape[1], height / room.shape[0])
    room = cv2.resize(room, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    y0, x0 = (room.shape[0] - height) // 2, (room.shape[1] - width) // 2
    scene = np.ascontiguousarray(room[y0 : y0 + height, x0 : x0 + width])
    bw = round(width * 0.42)
    left = (width - bw) // 2
    ramp = np.linspace(1.0, 0.93, height, dtype=np.float32)[:, None, None]
    board = np.array([214, 212, 206], np.float32)[None, None, :] * ramp
    noise = np.random.default_rng(7).normal(0.0, 1.5, (height, bw, 1)).astype(np.float32)
    scene[:, left : left + bw] = np.clip(board + noise, 0, 255).astype(np.uint8)  # sensor noise
    return scene


def _head_mask(height: int, width: int, eyes: tuple[Point, Point]) -> NDArray[np.float32]:
    """Alpha of the person in the portrait: an ellipse around the head (cap and hair
    included) and the shoulders below, feathered so the cut-out blends into the backdrop."""
    (lx, ly), (rx, ry) = eyes
    d = math.hypot(rx - lx, ry - ly)
    mx, my = (lx + rx) / 2, (ly + ry) / 2
    mask = np.zeros((height, width), np.float32)
    centre = (round(mx), round(my - 0.25 * d))
    cv2.ellipse(mask, centre, (round(1.3 * d), round(1.95 * d)), 0, 0, 360, 1.0, -1)
    shoulders = np.array(
        [(mx - 1.0 * d, my + 1.5 * d), (mx + 1.0 * d, my + 1.5 * d), (width, height), (0, height)],
        np.int32,
    )
    cv2.fillPoly(mask, [shoulders], 1.0)
    return np.asarray(cv2.GaussianBlur(mask, (0, 0), max(1.0, d / 25)), dtype=np.float32)


def compose_frame(
    face: Image,
    eyes: tuple[Point, Point],
    eye_distance: float,
    mid: Point,
    background: Image,
) -> Image:
    """``background`` with the person of ``face`` scaled so the eyes are ``eye_distance``
    apart, their midpoint at ``mid`` (parts outside the frame are cut off)."""
    (lx, ly), (rx, ry) = eyes
    scale = eye_distance / math.hypot(rx - lx, ry - ly)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    photo = cv2.resize(face, None, fx=scale, fy=scale, interpolation=interpolation)
    scaled_eyes = ((lx * scale, ly * scale), (rx * scale, ry * scale))
    alpha = _head_mask(photo.shape[0], photo.shape[1], scaled_eyes)
    ox = round(mid[0] - (lx + rx) / 2 * scale)
    oy = round(mid[1] - (ly + ry) / 2 * scale)
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


def _script_at(t: float, script: Script = _SCRIPT) -> tuple[float, float, float]:
    for (t0, d0, x0, y0), (t1, d1, x1, y1) in itertools.pairwise(script):
        if t0 <= t <= t1:
            k = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
            return d0 + (d1 - d0) * k, x0 + (x1 - x0) * k, y0 + (y1 - y0) * k
    _, d, x, y = script[-1]
    return d, x, y


def demo_frames(
    fps: float = 25.0, size: tuple[int, int] = FRAME_SIZE, script: Script = _SCRIPT
) -> Iterator[Image]:
    """The frames of one loop of the demo video, with a gentle sway (breathing, small nods).
    The script is in 1280×720 pixels and scaled to ``size``."""
    face, eyes = load_demo_face()
    room = room_scene(size)
    k = size[0] / FRAME_SIZE[0]
    duration = script[-1][0]
    for index in range(round(duration * fps)):
        t = index / fps
        distance, mx, my = _script_at(t, script)
        mx += 6 * math.sin(t * 1.3)
        my += 4 * math.sin(t * 0.9 + 1)
        distance *= 1 + 0.015 * math.sin(t * 0.7)
        yield compose_frame(face, eyes, distance * k, (mx * k, my * k), room)


def make_demo_video(
    path: Path, fps: float = 25.0, size: tuple[int, int] = FRAME_SIZE, script: Script = _SCRIPT
) -> Path:
    """Write the demo video (MJPG in AVI) to ``path``; returns ``path``. A few s of work."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".part.avi")
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter.fourcc(*"MJPG"), fps, size)
    if not writer.isOpened():
        raise CameraError("无法生成演示视频", f"VideoWriter(MJPG) cannot open {tmp}")
    try:
        for frame in demo_frames(fps, size, script):
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
