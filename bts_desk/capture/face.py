"""The face quality gate of 补录 step 5 and the ID-photo crop (Qt-free).

The gate answers, for one preview frame, "may the officer press 拍照 now?" and, if not, which
single hint to show the borderer. It uses only what ships in the OpenCV wheel: the Haar
frontal-face and eye cascades in ``cv2.data.haarcascades``. Checks, in the order the hint is
chosen (the first failure wins, so the hint always names the most basic problem):

1. the whole frame is not too dark / overexposed (a black frame finds no face, but "too dark" is
   the helpful hint);
2. exactly one face;
3. the face sits inside the portrait guide frame, and is not bigger than it;
4. the face is large enough (the photo needs resolution);
5. the face itself is neither too dark nor overexposed;
6. the face is sharp (variance of the Laplacian on a fixed-size face patch);
7. both eyes found and roughly level and symmetric (a frontal pose).

Speed: detection runs on a grey copy downscaled to ``GateConfig.detect_width`` (faces smaller
than ~9 % of the frame width are not looked for); each candidate is confirmed by a second
cascade on a small patch, which removes false faces on patterned clothes; eyes are searched
only in the upper part of the face patch. About 17 ms of CPU per 640×480 frame including the
MJPG decode, i.e. ~60 fps on one core (``benchmarks/face_bench.py``).

Threads: a ``FaceGate`` holds OpenCV cascade objects, which must not be shared between threads;
make one per worker thread (the camera worker calls ``check`` on its capture thread). The
module-level functions are pure and safe anywhere.
"""

from __future__ import annotations

import enum
import math
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from cv2.data import haarcascades
from cv2.typing import MatLike

from bts_desk.domain import FaceCapture
from bts_desk.errors import CaptureError

Image = MatLike  # an OpenCV image: BGR (or grey) uint8

# ID-photo proportions (ICAO 9303 / passport style 33×48 mm is close to 3:4; we use 3:4).
PORTRAIT_ASPECT = 3 / 4  # width / height
PORTRAIT_SIZE = (360, 480)  # output pixels (width, height)


class Hint(enum.Enum):
    """The one thing the borderer should change; ``zh`` is what the panel shows."""

    OK = "ok", "可以拍照"
    NO_FACE = "no_face", "未检测到人脸"
    MULTIPLE_FACES = "multiple_faces", "检测到多张人脸"
    OUT_OF_FRAME = "out_of_frame", "请将脸部置于框内"
    TOO_CLOSE = "too_close", "请离远一些"
    TOO_SMALL = "too_small", "请靠近一些"
    TOO_DARK = "too_dark", "光线太暗"
    TOO_BRIGHT = "too_bright", "光线过亮"
    BLURRED = "blurred", "画面模糊"
    NOT_FRONTAL = "not_frontal", "请正对摄像头"

    def __init__(self, code: str, zh: str) -> None:
        self.code = code
        self.zh = zh


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in frame pixels."""

    x: int
    y: int
    w: int
    h: int

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def contains(self, other: Box, slack: float = 0.0) -> bool:
        """True if ``other`` lies inside, allowing ``slack`` × other's size to stick out."""
        sx, sy = other.w * slack, other.h * slack
        return (
            other.x >= self.x - sx
            and other.y >= self.y - sy
            and other.x + other.w <= self.x + self.w + sx
            and other.y + other.h <= self.y + self.h + sy
        )


@dataclass(frozen=True)
class GateConfig:
    """Thresholds of the gate. Defaults are tuned on webcam-like 640×480 frames."""

    detect_width: int = 256  # grey copy width for face detection
    scale_factor: float = 1.15
    min_neighbors: int = 3  # low: the alt2 cascade confirms each candidate
    min_face_frac: float = 0.09  # smallest face detected, as a fraction of the frame width
    guide_height_frac: float = 0.86  # guide frame height / frame height (aspect 3:4)
    min_face_to_guide: float = 0.42  # face width / guide width below this: 请靠近一些
    max_face_to_guide: float = 0.92  # above this: 请离远一些
    frame_dark: float = 40.0  # whole-frame mean grey below: too dark
    frame_bright: float = 220.0
    face_dark: float = 65.0  # face mean grey below: too dark
    face_bright: float = 205.0
    face_clipped_frac: float = 0.3  # share of face pixels >= 250 above: overexposed
    min_sharpness: float = 25.0  # variance of the Laplacian on a 128×128 face patch
    max_eye_tilt_deg: float = 12.0
    max_eye_offset: float = 0.14  # |eyes midpoint - face centre| / face width


@dataclass(frozen=True)
class GateVerdict:
    """The gate's answer for one frame, with the figures it measured (kept with the photo)."""

    hint: Hint
    guide: Box
    face: Box | None = None
    faces: int = 0
    brightness: float = 0.0  # mean grey of the face (of the frame when no face)
    sharpness: float = 0.0
    face_to_guide: float = 0.0
    eye_tilt_deg: float | None = None

    @property
    def ok(self) -> bool:
        return self.hint is Hint.OK

    @property
    def hint_zh(self) -> str:
        return self.hint.zh

    def quality(self) -> dict[str, float]:
        """The figures stored beside the photo in ``FaceCapture.quality``."""
        figures = {
            "brightness": round(self.brightness, 1),
            "sharpness": round(self.sharpness, 1),
            "face_to_guide": round(self.face_to_guide, 3),
            "faces": float(self.faces),
        }
        if self.eye_tilt_deg is not None:
            figures["eye_tilt_deg"] = round(self.eye_tilt_deg, 1)
        if self.face is not None:
            figures["face_width_px"] = float(self.face.w)
        return figures


def guide_frame(width: int, height: int, config: GateConfig | None = None) -> Box:
    """The portrait guide frame (3:4, centred) for a frame of this size; the panel draws it."""
    cfg = config or GateConfig()
    gh = round(height * cfg.guide_height_frac)
    gw = min(round(gh * PORTRAIT_ASPECT), width)
    return Box((width - gw) // 2, (height - gh) // 2, gw, gh)


def _cascade(name: str) -> cv2.CascadeClassifier:
    path = Path(haarcascades) / name
    classifier = cv2.CascadeClassifier(str(path))
    if classifier.empty():
        raise CaptureError("人脸检测模型无法加载，请重新安装程序", f"cannot load cascade {path}")
    return classifier


class FaceGate:
    """Runs the quality checks on BGR frames. One instance per thread (see module doc)."""

    def __init__(self, config: GateConfig | None = None) -> None:
        self.config = config or GateConfig()
        self._faces = _cascade("haarcascade_frontalface_default.xml")
        self._verify = _cascade("haarcascade_frontalface_alt2.xml")
        self._eyes = _cascade("haarcascade_eye.xml")
        self._eyes_glasses = _cascade("haarcascade_eye_tree_eyeglasses.xml")

    def check(self, image: Image) -> GateVerdict:
        """The verdict for one BGR (or grey) frame."""
        cfg = self.config
        grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        height, width = grey.shape[:2]
        guide = guide_frame(width, height, cfg)
        frame_mean = float(grey.mean())
        if frame_mean < cfg.frame_dark:
            return GateVerdict(Hint.TOO_DARK, guide, brightness=frame_mean)
        if frame_mean > cfg.frame_bright:
            return GateVerdict(Hint.TOO_BRIGHT, guide, brightness=frame_mean)
        faces = self.detect_faces(grey)
        if len(faces) != 1:
            hint = Hint.NO_FACE if not faces else Hint.MULTIPLE_FACES
            return GateVerdict(hint, guide, faces=len(faces), brightness=frame_mean)
        return self._check_face(grey, guide, faces[0])

    def detect_faces(self, grey: Image) -> list[Box]:
        """Faces in a grey frame, in frame pixels, largest first.

        The fast ``default`` cascade proposes candidates; each is confirmed by the ``alt2``
        cascade on the candidate's neighbourhood, which removes most false positives (patterned
        clothes, badges) at the cost of a small search on a small patch."""
        cfg = self.config
        width = grey.shape[1]
        scale = min(1.0, cfg.detect_width / width)
        small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        small = cv2.equalizeHist(small)
        side = max(12, round(cfg.min_face_frac * width * scale))
        found = self._faces.detectMultiScale(
            small,
            scaleFactor=cfg.scale_factor,
            minNeighbors=cfg.min_neighbors,
            minSize=(side, side),
        )
        candidates = [
            Box(round(x / scale), round(y / scale), round(w / scale), round(h / scale))
            for (x, y, w, h) in found
        ]
        return sorted((c for c in candidates if self._confirmed(grey, c)), key=lambda b: -b.w)

    def _confirmed(self, grey: Image, cand: Box) -> bool:
        """Second opinion on a candidate: its neighbourhood at full resolution, scaled so the
        candidate is 64 px wide, searched with the alt2 cascade for a face of similar size."""
        margin = cand.w // 3
        roi = grey[
            max(0, cand.y - margin) : cand.y + cand.h + margin,
            max(0, cand.x - margin) : cand.x + cand.w + margin,
        ]
        factor = 64 / cand.w
        roi = cv2.resize(roi, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        hits = self._verify.detectMultiScale(
            roi, scaleFactor=1.1, minNeighbors=3, minSize=(44, 44), maxSize=(92, 92)
        )
        return len(hits) > 0

    def _check_face(self, grey: Image, guide: Box, face: Box) -> GateVerdict:
        cfg = self.config
        patch = grey[face.y : face.y + face.h, face.x : face.x + face.w]
        ratio = face.w / guide.w
        brightness = float(patch.mean())
        clipped = float(np.count_nonzero(patch >= 250)) / max(1, patch.size)
        sharp = sharpness(patch)
        base = GateVerdict(Hint.OK, guide, face, 1, brightness, sharp, ratio)
        failures = (
            (ratio > cfg.max_face_to_guide, Hint.TOO_CLOSE),
            (not _inside_guide(guide, face), Hint.OUT_OF_FRAME),
            (ratio < cfg.min_face_to_guide, Hint.TOO_SMALL),
            (brightness < cfg.face_dark, Hint.TOO_DARK),
            (brightness > cfg.face_bright or clipped > cfg.face_clipped_frac, Hint.TOO_BRIGHT),
            (sharp < cfg.min_sharpness, Hint.BLURRED),
        )
        for failed, hint in failures:  # in order: the first failure is the hint shown
            if failed:
                return replace(base, hint=hint)
        tilt = self._eye_tilt(patch)
        frontal = tilt is not None and abs(tilt) <= cfg.max_eye_tilt_deg
        return replace(base, hint=Hint.OK if frontal else Hint.NOT_FRONTAL, eye_tilt_deg=tilt)

    def _eye_tilt(self, face_patch: Image) -> float | None:
        """Angle of the line between the eyes in degrees, or None if no plausible eye pair
        (head turned, eyes closed or hidden)."""
        h, w = face_patch.shape[:2]
        top = face_patch[int(h * 0.15) : int(h * 0.6), :]
        scale = 120 / w
        top = cv2.resize(top, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        for cascade in (self._eyes, self._eyes_glasses):
            eyes = cascade.detectMultiScale(
                top, scaleFactor=1.15, minNeighbors=3, minSize=(14, 14), maxSize=(50, 50)
            )
            pair = _eye_pair([Box(*map(int, e)) for e in eyes], top.shape[1])
            if pair is not None:
                left, right = pair
                if abs((left.cx + right.cx) / 2 - 60) / 120 > self.config.max_eye_offset:
                    return None
                return math.degrees(math.atan2(right.cy - left.cy, right.cx - left.cx))
        return None


def _inside_guide(guide: Box, face: Box) -> bool:
    """The face box is in the guide frame, horizontally central and in the upper-middle part
    (where the head sits in an ID photo)."""
    if not guide.contains(face, slack=0.05):
        return False
    if abs(face.cx - guide.cx) > guide.w * 0.15:
        return False
    rel_y = (face.cy - guide.y) / guide.h
    return 0.25 <= rel_y <= 0.65


def _eye_pair(eyes: list[Box], width: int) -> tuple[Box, Box] | None:
    """The biggest eye in each half of the face, left first; None unless both halves have one."""
    left = [e for e in eyes if e.cx < width / 2]
    right = [e for e in eyes if e.cx >= width / 2]
    if not left or not right:
        return None
    return max(left, key=lambda e: e.w), max(right, key=lambda e: e.w)


def sharpness(grey_patch: Image) -> float:
    """Variance of the Laplacian on the patch resized to 128×128 (size-independent focus)."""
    if grey_patch.size == 0:
        return 0.0
    norm = cv2.resize(grey_patch, (128, 128), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(norm, cv2.CV_64F).var())


def portrait_box(face: Box) -> Box:
    """The ID-photo crop around a Haar face box: 3:4, head centred, a margin above the head.

    The Haar box spans roughly brow to chin; the head (crown to chin, with hair) is about 1.45×
    its height and starts about 0.45× above it. ICAO 9303 wants the head at ~70-80 % of the
    photo height, so the crop is 2× the box height with 10 % of it above the crown.
    """
    crop_h = round(face.h * 2.0)
    crop_w = round(crop_h * PORTRAIT_ASPECT)
    crown = face.y - 0.45 * face.h
    top = round(crown - 0.10 * crop_h)
    left = round(face.cx - crop_w / 2)
    return Box(left, top, crop_w, crop_h)


def portrait_crop(image: Image, face: Box, size: tuple[int, int] = PORTRAIT_SIZE) -> Image:
    """Cut the ID-photo crop out of ``image`` and scale it to ``size`` (width, height). Parts of
    the crop outside the frame are filled by replicating the frame's edge."""
    box = portrait_box(face)
    height, width = image.shape[:2]
    pad_l, pad_t = max(0, -box.x), max(0, -box.y)
    pad_r, pad_b = max(0, box.x + box.w - width), max(0, box.y + box.h - height)
    if pad_l or pad_t or pad_r or pad_b:
        image = cv2.copyMakeBorder(image, pad_t, pad_b, pad_l, pad_r, cv2.BORDER_REPLICATE)
    x, y = box.x + pad_l, box.y + pad_t
    crop = image[y : y + box.h, x : x + box.w]
    return np.asarray(cv2.resize(crop, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def make_face_capture(image: Image, verdict: GateVerdict, jpeg_quality: int = 92) -> FaceCapture:
    """The ``FaceCapture`` of 补录: the portrait crop as JPEG plus the gate's figures.

    Raises CaptureError if the verdict did not pass (the panel enables 拍照 only when it did)."""
    if not verdict.ok or verdict.face is None:
        raise CaptureError(
            f"当前画面不符合拍照要求：{verdict.hint_zh}",
            f"make_face_capture on a failing verdict ({verdict.hint.code})",
        )
    crop = portrait_crop(image, verdict.face)
    ok, encoded = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    if not ok:
        raise CaptureError("照片编码失败，请重拍", "cv2.imencode('.jpg') returned False")
    quality = verdict.quality()
    quality["width_px"], quality["height_px"] = float(crop.shape[1]), float(crop.shape[0])
    return FaceCapture(jpeg=bytes(encoded.tobytes()), quality=quality)


class ThreadLocalGate:
    """A gate callable from the camera worker: each thread that calls it gets its own
    ``FaceGate`` (cascade objects are not shareable), made on that thread's first frame."""

    def __init__(self, config: GateConfig | None = None) -> None:
        self.config = config
        self._local = threading.local()

    def __call__(self, image: Image) -> GateVerdict:
        gate: FaceGate | None = getattr(self._local, "gate", None)
        if gate is None:
            gate = self._local.gate = FaceGate(self.config)
        return gate.check(image)


class SteadyHint:
    """Debounces the live hint for display: a new hint replaces the shown one only after it
    came ``frames`` times in a row, so a borderer at the edge of a threshold does not see the
    text (and the frame colour, and 拍照) flicker 30 times a second. Any thread, one user."""

    def __init__(self, frames: int = 3) -> None:
        self.frames = frames
        self.shown: Hint | None = None
        self._candidate: Hint | None = None
        self._count = 0

    def update(self, hint: Hint) -> Hint:
        """Feed the newest verdict's hint; returns the hint to show."""
        if self.shown is None or hint is self.shown:
            self.shown, self._candidate, self._count = hint, None, 0
            return hint
        if hint is self._candidate:
            self._count += 1
        else:
            self._candidate, self._count = hint, 1
        if self._count >= self.frames:
            self.shown, self._candidate, self._count = hint, None, 0
        return self.shown

    def reset(self) -> None:
        self.shown, self._candidate, self._count = None, None, 0
