"""Synthetic fingerprints and the emulated module's feature extraction and matching.

Only the emulator uses this module (the desk never interprets a real module's char file).

- ``master_print(finger)``: a ridge pattern grown SFinGe-style by iterated oriented Gabor
  filtering of seeded noise along an orientation field from the zero-pole model (cores and
  deltas, so loops, whorls and arches, with ridge endings and bifurcations appearing where
  the field forces them), plus a seeded smooth perturbation: every finger is different.
- ``press_image(finger, press, size=(256, 288))``: one press on a sensor of that size (each
  module profile has its own): shifted, rotated, with a contact area that depends on the
  pressure, and sensor noise. Variants make a messy image or a too-small contact, as a real
  careless press would.
  Each finger's minutiae (``master_minutiae``) are the ridge endings and bifurcations its
  seeded growth left: distinct per finger, and the same in every press of it.
- ``char_file`` is Img2Tz: ``features_of`` (block orientation field and coherence) decides
  whether the press is usable as the module does (0x06 messy, 0x07 too small), then the
  minutiae are extracted from the pixels (``minutiae.extract``) into a char file of the
  profile's template size. ``match_score`` is Match: the minutiae paired after alignment
  (``minutiae.stats``) on the module's scale; ``merge`` is RegModel.

Pure numpy/OpenCV, no I/O; the emulator thread calls it.
"""

from __future__ import annotations

import enum
import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from . import minutiae

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]

BLOCK = 16
DEFAULT_SIZE = (256, 288)  # (width, height) of the AS608/R307 sensor
DEFAULT_TEMPLATE_BYTES = 512
MASTER_W, MASTER_H = 352, 384  # the whole fingertip; a press sees part of it
MATCH_THRESHOLD = 120  # module scores at or above this mean "same finger" (different: < 90)
MIN_FOREGROUND_CELLS = 45
MIN_COHERENCE = 0.42
MIN_MINUTIAE = 8  # fewer in the contact: 0x07, as a module refuses a featureless press
SCORE_SCALE = 19.0  # module score per (paired minutiae × paired fraction)
MIN_OVERLAP = 15  # minutiae: a smaller overlap is weaker evidence, scored as if this many
_N_BINS = 16


class PressKind(enum.Enum):
    GOOD = "good"
    MESSY = "messy"  # smudged, wet: the module answers 0x06
    SMALL = "small"  # fingertip barely touching: 0x07
    FAINT = "faint"  # too dry or too light to image at all: GenImg answers 0x03


class FeatureError(Exception):
    """Img2Tz fails with this module confirmation code."""

    def __init__(self, code: int) -> None:
        super().__init__(f"feature extraction failed with 0x{code:02X}")
        self.code = code


@dataclass(frozen=True)
class Features:
    orientation: F32  # radians in [0, pi), shape (GRID_H, GRID_W)
    coherence: F32  # 0..1; 0 where there is no finger
    foreground: npt.NDArray[np.bool_]


# --- synthesis ------------------------------------------------------------------------------


def _orientation_field(rng: np.random.Generator) -> F32:
    """Ridge orientation of a whole fingertip from the zero-pole model plus perturbation."""
    ys, xs = np.mgrid[0:MASTER_H, 0:MASTER_W].astype(np.float32)
    cx = MASTER_W / 2 + rng.uniform(-45, 45)
    cy = MASTER_H * 0.42 + rng.uniform(-45, 45)
    kind = rng.integers(0, 4)  # 0 left loop, 1 right loop, 2 whorl, 3 tented arch
    side = -1.0 if kind == 0 else 1.0
    if kind in (0, 1):
        cores = [(cx, cy)]
        deltas = [(cx + side * rng.uniform(60, 110), cy + rng.uniform(80, 130))]
    elif kind == 2:
        cores = [(cx - rng.uniform(8, 20), cy), (cx + rng.uniform(8, 20), cy + rng.uniform(-8, 8))]
        deltas = [
            (cx - rng.uniform(80, 120), cy + rng.uniform(90, 130)),
            (cx + rng.uniform(80, 120), cy + rng.uniform(90, 130)),
        ]
    else:
        cores = [(cx, cy)]
        deltas = [(cx + rng.uniform(-10, 10), cy + rng.uniform(25, 45))]
    theta = np.zeros_like(xs)
    for x0, y0 in cores:
        theta += np.arctan2(ys - y0, xs - x0)
    for x0, y0 in deltas:
        theta -= np.arctan2(ys - y0, xs - x0)
    theta = 0.5 * theta + rng.uniform(-0.3, 0.3)
    for _ in range(5):  # smooth individual perturbation
        fx, fy = rng.uniform(0.6, 3.0, 2) * 2 * np.pi / np.array([MASTER_W, MASTER_H])
        theta += rng.uniform(0.15, 0.4) * np.sin(fx * xs + fy * ys + rng.uniform(0, 2 * np.pi))
    field: F32 = np.mod(theta, np.pi).astype(np.float32)
    return field


@functools.lru_cache(maxsize=32)
def master_print(finger: int) -> F32:
    """The finger's ridge pattern in [-1, 1] (ridges positive), MASTER_H × MASTER_W."""
    rng = np.random.default_rng(0x5EED0000 + finger)
    theta = _orientation_field(rng)
    period = float(rng.uniform(8.0, 10.5))
    bins = np.round(theta / np.pi * _N_BINS).astype(np.int32) % _N_BINS
    kernels = [
        cv2.getGaborKernel((17, 17), 3.2, b * np.pi / _N_BINS + np.pi / 2, period, 1.0, 0)
        for b in range(_N_BINS)
    ]
    img = rng.standard_normal((MASTER_H, MASTER_W)).astype(np.float32)
    for _ in range(6):
        out = np.zeros_like(img)
        for b, kernel in enumerate(kernels):
            filtered = cv2.filter2D(img, cv2.CV_32F, kernel.astype(np.float32))
            out = np.where(bins == b, filtered, out)
        img = np.tanh(2.5 * out / (float(out.std()) + 1e-6)).astype(np.float32)
    return img


@dataclass(frozen=True)
class PressPose:
    """Where a press put the fingertip on the sensor: ``matrix`` maps master-print
    coordinates to sensor pixels (rotation by ``angle`` degrees, then the shift)."""

    matrix: npt.NDArray[np.float64]  # 2 × 3, as cv2.warpAffine takes it
    angle: float
    dx: float
    dy: float


def _pose(finger: int, press: int, size: tuple[int, int]) -> tuple[PressPose, np.random.Generator]:
    """The press's pose and its generator, positioned for the rest of the press."""
    width, height = size
    rng = np.random.default_rng((finger * 7919 + press * 104729) & 0xFFFFFFFF)
    angle = float(rng.uniform(-12, 12))
    dx, dy = rng.uniform(-22, 22, 2)
    matrix = cv2.getRotationMatrix2D((MASTER_W / 2, MASTER_H / 2), angle, 1.0)
    scale = min(width / DEFAULT_SIZE[0], height / DEFAULT_SIZE[1])  # a smaller sensor's shift
    dx, dy = dx * scale, dy * scale
    matrix[0, 2] += dx - (MASTER_W - width) / 2
    matrix[1, 2] += dy - (MASTER_H - height) / 2
    return PressPose(np.asarray(matrix, np.float64), angle, float(dx), float(dy)), rng


def press_pose(finger: int, press: int, size: tuple[int, int] = DEFAULT_SIZE) -> PressPose:
    """The pose of ``press_image(finger, press, size=size)`` (for tests and benchmarks)."""
    return _pose(finger, press, size)[0]


def press_image(
    finger: int,
    press: int,
    kind: PressKind = PressKind.GOOD,
    size: tuple[int, int] = DEFAULT_SIZE,
) -> U8:
    """8-bit sensor image (height rows × width) of one press: dark ridges on a light ground."""
    width, height = size
    pose, rng = _pose(finger, press, size)
    angle, dx, dy = pose.angle, pose.dx, pose.dy
    scale = min(width / DEFAULT_SIZE[0], height / DEFAULT_SIZE[1])
    ridges = cv2.warpAffine(master_print(finger), pose.matrix, (width, height), borderValue=0.0)
    pressure = float(rng.uniform(0.85, 1.1))
    axes = (int(0.37 * width * pressure), int(0.43 * height * pressure))
    if kind is PressKind.SMALL:
        axes = (int(34 * scale * pressure), int(40 * scale * pressure))
    mask: npt.NDArray[np.float32] = np.zeros((height, width), np.float32)
    centre = (int(width / 2 + dx / 2), int(height / 2 + dy / 2))
    cv2.ellipse(mask, centre, axes, angle, 0, 360, 1.0, -1)
    soft = cv2.GaussianBlur(mask, (0, 0), 6)
    ink = np.clip(ridges + (pressure - 0.95) * 1.5, -1, 1)  # more pressure: thicker ridges
    grey: npt.NDArray[np.float64] = 215.0 - soft * (ink + 1.0) * 85.0
    grey = grey + rng.normal(0, 6.0, grey.shape)
    if kind is PressKind.MESSY:
        smear = cv2.GaussianBlur(rng.normal(0, 1, grey.shape).astype(np.float32), (0, 0), 2.5)
        grey = cv2.GaussianBlur(grey.astype(np.float32), (0, 0), 3.0) + 350.0 * smear * soft
    image: U8 = np.clip(grey, 0, 255).astype(np.uint8)
    return image


def master_minutiae(finger: int) -> minutiae.Minutiae:
    """The finger's own minutiae, from its whole clean ridge pattern (MASTER_W × MASTER_H
    coordinates), where a press of it is not cut off by the contact's edge."""
    image = np.clip(128.0 - 100.0 * master_print(finger), 0, 255).astype(np.uint8)
    contact = np.zeros(image.shape, np.uint8)
    cv2.ellipse(contact, (MASTER_W // 2, MASTER_H // 2), (150, 170), 0, 0, 360, 1, -1)
    return minutiae.extract(image, contact.astype(bool))


# --- features (Img2Tz), matching (Match) and merging (RegModel) ----------------------------


def features_of(image: U8) -> Features:
    """Block orientation field of an 8-bit image; raises FeatureError like Img2Tz (the
    quality gate before the minutiae are extracted)."""
    img = image.astype(np.float32)
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3)

    def blocks(a: F32) -> F32:
        summed: F32 = a.reshape(grid_h, BLOCK, grid_w, BLOCK).sum(axis=(1, 3))
        return summed

    grid_h, grid_w = image.shape[0] // BLOCK, image.shape[1] // BLOCK
    img = img[: grid_h * BLOCK, : grid_w * BLOCK]
    gx, gy = gx[: grid_h * BLOCK, : grid_w * BLOCK], gy[: grid_h * BLOCK, : grid_w * BLOCK]
    gxx, gyy, gxy = blocks(gx * gx), blocks(gy * gy), blocks(gx * gy)
    energy = gxx + gyy + 1e-6
    coherence = np.sqrt((gxx - gyy) ** 2 + 4 * gxy**2) / energy
    grad_angle = 0.5 * np.arctan2(2 * gxy, gxx - gyy)
    orientation = np.mod(grad_angle + np.pi / 2, np.pi).astype(np.float32)
    darkness = blocks(255.0 - img) / (BLOCK * BLOCK)
    foreground = (darkness > 55.0) & (energy / (BLOCK * BLOCK) > 2000.0)
    if int(foreground.sum()) < MIN_FOREGROUND_CELLS * foreground.size / 288:
        raise FeatureError(0x07)
    if float(coherence[foreground].mean()) < MIN_COHERENCE:
        raise FeatureError(0x06)
    coherence = np.where(foreground, coherence, 0.0).astype(np.float32)
    return Features(orientation, coherence, foreground)


def contact_mask(image: U8, features: Features) -> npt.NDArray[np.bool_]:
    """The pixels of the blocks where the finger touched (``features.foreground``)."""
    cells = np.kron(features.foreground.astype(np.uint8), np.ones((BLOCK, BLOCK), np.uint8))
    mask = np.zeros(image.shape, bool)
    mask[: cells.shape[0], : cells.shape[1]] = cells.astype(bool)
    return mask


def char_file(image: U8, size: int = DEFAULT_TEMPLATE_BYTES) -> bytes:
    """Img2Tz: the minutiae of an 8-bit image as a char file of ``size`` bytes; raises
    FeatureError like the module (0x06 messy, 0x07 too small or too few minutiae)."""
    features = features_of(image)
    found = minutiae.extract(image, contact_mask(image, features))
    if len(found) < MIN_MINUTIAE:
        raise FeatureError(0x07)
    return minutiae.encode(found, size)


def match_score(a: bytes, b: bytes) -> int:
    """The module's Match score of two char files (0 when either is not a char file):
    paired minutiae × the fraction of the overlap's minutiae they are (an overlap of fewer
    than ``MIN_OVERLAP`` counted as that many: a few pairs by chance in a sliver of overlap
    prove nothing), on the module's scale (same finger ≥ ``MATCH_THRESHOLD``; other fingers
    score below ~90)."""
    paired, in_a, in_b = minutiae.stats(a, b)
    overlap = math.sqrt(max(in_a, MIN_OVERLAP) * max(in_b, MIN_OVERLAP))
    return min(0xFFFF, round(SCORE_SCALE * paired * paired / overlap))


def merge(a: bytes, b: bytes) -> bytes | None:
    """RegModel: one template from two char files of the same finger, else None (0x0A)."""
    if match_score(b, a) < MATCH_THRESHOLD:
        return None
    return minutiae.merge(a, b)
