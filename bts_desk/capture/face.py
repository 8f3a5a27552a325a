"""The face quality gate of 补录 step 5 and the ISO token portrait (Qt-free).

The gate answers, for one preview frame, "may the officer press 拍照 now?" and, if not, which
single hint to show the borderer. It uses only the Haar cascades in the OpenCV wheel (see
``face_detect``). Checks, in the order the hint is chosen (the first failure wins, so the hint
always names the most basic problem):

1. the whole frame is not too dark / overexposed;
2. exactly one face (a second, smaller face anywhere in the frame: 检测到多张人脸);
3. the face sits inside the portrait guide frame, and is neither bigger than it nor tiny;
4. the face itself is neither too dark nor overexposed, and sharp;
5. both eyes found (else: face the camera);
6. at least ``min_eye_distance_px`` between the eye centres in the camera frame (请靠近一些):
   the saved portrait is never upscaled, and ISO/IEC 19794-5 wants ≥ 60 px, we keep 90;
7. roll (the eye line's angle) within ``max_roll_deg`` = 8° (ISO/IEC 19794-5 frontal pose);
8. yaw estimate within ``max_yaw_deg`` (see ``yaw_estimate``);
9. both eyes open;
10. the token portrait fits inside the frame (no invented pixels: otherwise 请移到画面中间);
11. a plain, light background beside and above the head.

Speed: the full search (two eye cascades at a fine scale step, needed to find eyes behind
glasses; the coarse face pass with its confirmations; a band of the small-face search) costs
about 1.5× the CPU of the single-pass gate it replaced. A live gate therefore tracks the face
and the eyes between full searches (``face_detect``: a full face search at least every 5th
frame, a full eye search at least every 8th), which halves its CPU per frame on the cluttered
stand-in scene; ``benchmarks/face_bench.py`` prints both, measured in the same run.

Threads: a ``FaceGate`` holds OpenCV cascade objects, which must not be shared between threads;
make one per worker thread (the camera worker calls ``check`` on its capture thread through
``ThreadLocalGate``). The module-level functions are pure and safe anywhere.
"""

from __future__ import annotations

import enum
import math
import threading
from dataclasses import dataclass, field, replace

import cv2
import numpy as np
from cv2.typing import MatLike

from bts_desk.capture.face_detect import (
    Box,
    DetectConfig,
    FaceDetector,
    Point,
    background_figures,
    eye_openness,
)
from bts_desk.capture.portrait import (
    TOKEN_RATIO,
    TOKEN_SIZE,
    TokenPlacement,
    token_portrait,
    token_transform,
)
from bts_desk.domain import FaceCapture
from bts_desk.errors import CaptureError

__all__ = ["PORTRAIT_ASPECT", "PORTRAIT_SIZE", "Box", "FaceGate", "GateConfig", "GateVerdict"]

Image = MatLike  # an OpenCV image: BGR (or grey) uint8

PORTRAIT_ASPECT = TOKEN_RATIO  # width / height of the saved portrait (ISO token: 3:4)
PORTRAIT_SIZE = TOKEN_SIZE  # its pixels (width, height) when the eyes are ≥ 90 px apart


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
    HEAD_TILTED = "head_tilted", "请摆正头部，不要歪头"
    HEAD_TURNED = "head_turned", "请不要转头，正视摄像头"
    EYES_CLOSED = "eyes_closed", "请睁开眼睛"
    AT_EDGE = "at_edge", "头部太靠近画面边缘，请移到画面中间"
    BACKGROUND = "background", "请站在浅色纯色背景前"

    def __init__(self, code: str, zh: str) -> None:
        self.code = code
        self.zh = zh


@dataclass(frozen=True)
class GateConfig:
    """Thresholds of the gate. Defaults are tuned on webcam frames (1280×720 and 640×480)."""

    detect: DetectConfig = field(default_factory=DetectConfig)
    guide_height_frac: float = 0.86  # guide frame height / frame height (aspect 3:4)
    min_face_to_guide: float = 0.35  # face width / guide width below this: 请靠近一些
    max_face_to_guide: float = 0.92  # above this: 请离远一些
    frame_dark: float = 40.0  # whole-frame mean grey below: too dark
    frame_bright: float = 220.0
    face_dark: float = 65.0  # face mean grey below: too dark
    face_bright: float = 205.0
    face_clipped_frac: float = 0.3  # share of face pixels >= 250 above: overexposed
    min_sharpness: float = 25.0  # variance of the Laplacian on a 128×128 face patch
    min_eye_distance_px: float = 90.0  # between the eye centres in the camera frame
    max_roll_deg: float = 8.0  # ISO/IEC 19794-5 frontal: roll within ±8°
    max_yaw_deg: float = 10.0  # of ``yaw_estimate`` (ISO wants ±5°; the estimate is coarser)
    min_eye_open: float = 0.35  # ``eye_openness`` of each eye
    min_background_grey: float = 120.0  # mean grey beside/above the head: light
    max_background_std: float = 28.0  # its spread: plain


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
    eye_tilt_deg: float | None = None  # roll: angle of the eye line
    eyes: tuple[Point, Point] | None = None  # eye centres in the frame, image-left first
    eye_distance: float = 0.0
    yaw_deg: float | None = None
    eye_open: float | None = None
    background: tuple[float, float] | None = None  # (mean grey, spread)
    placement: TokenPlacement | None = None

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
        optional = {
            "eye_tilt_deg": self.eye_tilt_deg,
            "yaw_deg": self.yaw_deg,
            "eye_open": self.eye_open,
            "eye_distance_px": self.eye_distance or None,
            "background_grey": self.background[0] if self.background else None,
            "background_spread": self.background[1] if self.background else None,
            "face_width_px": float(self.face.w) if self.face else None,
        }
        figures.update({k: round(v, 2) for k, v in optional.items() if v is not None})
        return figures


def guide_frame(width: int, height: int, config: GateConfig | None = None) -> Box:
    """The portrait guide frame (3:4, centred) for a frame of this size; the panel draws it."""
    cfg = config or GateConfig()
    gh = round(height * cfg.guide_height_frac)
    gw = min(round(gh * PORTRAIT_ASPECT), width)
    return Box((width - gw) // 2, (height - gh) // 2, gw, gh)


def yaw_estimate(face: Box, eyes: tuple[Point, Point]) -> float:
    """Head yaw in degrees from the eyes' position in the face box (positive: the eyes sit
    right of the box centre). Model: the eyes lie on the front of a head whose axis is the face
    box's centre line, at a radius of half the box width; turning by θ moves their midpoint by
    r·sin θ while the box, which follows the face outline, stays about centred. Haar boxes
    jitter by a few % of their width, so the estimate is good to about ±5°: the gate's bound
    (10°) lets a frontal face through and stops a clearly turned one."""
    offset = ((eyes[0][0] + eyes[1][0]) / 2 - face.cx) / (face.w / 2)
    return math.degrees(math.asin(max(-1.0, min(1.0, offset))))


class FaceGate:
    """Runs the quality checks on BGR frames. One instance per thread (see module doc).

    ``live=True`` (the camera worker) spreads the search for small faces over consecutive
    frames and tracks the face and eyes between full searches; a still photograph is searched
    whole (``live=False``, the default)."""

    def __init__(self, config: GateConfig | None = None, *, live: bool = False) -> None:
        self.config = config or GateConfig()
        self.detector = FaceDetector(self.config.detect, live=live)

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
        """Faces in a grey frame, in frame pixels, largest first."""
        return self.detector.faces(grey)

    def _check_face(self, grey: Image, guide: Box, face: Box) -> GateVerdict:
        cfg = self.config
        patch = grey[max(0, face.y) : face.y + face.h, max(0, face.x) : face.x + face.w]
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
        eyes = self.detector.eyes(grey, face)
        if eyes is None:
            return replace(base, hint=Hint.NOT_FRONTAL)
        return self._check_eyes(grey, replace(base, eyes=eyes))

    def _check_eyes(self, grey: Image, verdict: GateVerdict) -> GateVerdict:
        """Checks 6-11 of the module doc, on a verdict that has a face and its eyes."""
        cfg = self.config
        assert verdict.eyes is not None and verdict.face is not None
        (lx, ly), (rx, ry) = verdict.eyes
        distance = math.hypot(rx - lx, ry - ly)
        roll = math.degrees(math.atan2(ry - ly, rx - lx))
        yaw = yaw_estimate(verdict.face, verdict.eyes)
        opened = min(eye_openness(grey, eye, distance) for eye in verdict.eyes)
        placement = token_transform(verdict.eyes, (grey.shape[1], grey.shape[0]))
        background = background_figures(grey, placement.corners, verdict.eyes)
        measured = replace(
            verdict,
            eye_distance=distance,
            eye_tilt_deg=roll,
            yaw_deg=yaw,
            eye_open=opened,
            placement=placement,
            background=background,
        )
        failures = (
            (distance < cfg.min_eye_distance_px, Hint.TOO_SMALL),
            (abs(roll) > cfg.max_roll_deg, Hint.HEAD_TILTED),
            (abs(yaw) > cfg.max_yaw_deg, Hint.HEAD_TURNED),
            (opened < cfg.min_eye_open, Hint.EYES_CLOSED),
            (not placement.fits, Hint.AT_EDGE),
            (
                background[0] < cfg.min_background_grey or background[1] > cfg.max_background_std,
                Hint.BACKGROUND,
            ),
        )
        for failed, hint in failures:
            if failed:
                return replace(measured, hint=hint)
        return measured


def _inside_guide(guide: Box, face: Box) -> bool:
    """The face box is in the guide frame, horizontally central and in the upper-middle part
    (where the head sits in an ID photo)."""
    if not guide.contains(face, slack=0.05):
        return False
    if abs(face.cx - guide.cx) > guide.w * 0.15:
        return False
    rel_y = (face.cy - guide.y) / guide.h
    return 0.25 <= rel_y <= 0.65


def sharpness(grey_patch: Image) -> float:
    """Variance of the Laplacian on the patch resized to 128×128 (size-independent focus)."""
    if grey_patch.size == 0:
        return 0.0
    norm = cv2.resize(grey_patch, (128, 128), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(norm, cv2.CV_64F).var())


def make_face_capture(image: Image, verdict: GateVerdict, jpeg_quality: int = 92) -> FaceCapture:
    """The ``FaceCapture`` of 补录: the token portrait as JPEG, its eye centres (portrait
    pixels) and the gate's figures.

    Raises CaptureError if the verdict did not pass (the panel enables 拍照 only when it did)."""
    if not verdict.ok or verdict.eyes is None:
        raise CaptureError(
            f"当前画面不符合拍照要求：{verdict.hint_zh}",
            f"make_face_capture on a failing verdict ({verdict.hint.code})",
        )
    try:
        portrait, eyes = token_portrait(image, verdict.eyes)
    except ValueError as exc:
        raise CaptureError(f"当前画面不符合拍照要求：{Hint.AT_EDGE.zh}", str(exc)) from exc
    ok, encoded = cv2.imencode(".jpg", portrait, [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
    if not ok:
        raise CaptureError("照片编码失败，请重拍", "cv2.imencode('.jpg') returned False")
    quality = verdict.quality()
    quality["width_px"], quality["height_px"] = float(portrait.shape[1]), float(portrait.shape[0])
    return FaceCapture(jpeg=bytes(encoded.tobytes()), quality=quality, eyes=eyes)


class ThreadLocalGate:
    """A gate callable from the camera worker: each thread that calls it gets its own
    ``FaceGate`` (cascade objects are not shareable), made on that thread's first frame."""

    def __init__(self, config: GateConfig | None = None) -> None:
        self.config = config
        self._local = threading.local()

    def __call__(self, image: Image) -> GateVerdict:
        gate: FaceGate | None = getattr(self._local, "gate", None)
        if gate is None:
            gate = self._local.gate = FaceGate(self.config, live=True)
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
