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
- ``features_of`` + ``encode`` turn an 8-bit image into a char file of the profile's template
  size (block orientation field and coherence, the grid's shape in its header), failing like
  the module does (0x06 messy, 0x07 too few features);
  ``match_score`` aligns two char files (rotation and shift search) and scores them on the
  module's scale; ``merge`` is RegModel.

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

F32 = npt.NDArray[np.float32]
U8 = npt.NDArray[np.uint8]

BLOCK = 16
DEFAULT_SIZE = (256, 288)  # (width, height) of the AS608/R307 sensor
DEFAULT_TEMPLATE_BYTES = 512
MASTER_W, MASTER_H = 352, 384  # the whole fingertip; a press sees part of it
MATCH_THRESHOLD = 120  # module scores at or above this mean "same finger" (different: < 90)
MIN_FOREGROUND_CELLS = 45
MIN_COHERENCE = 0.42
_MAGIC = b"R3CG"
_HEADER = 8  # magic 4, grid columns 1, grid rows 1, foreground cells 2
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


def press_image(
    finger: int,
    press: int,
    kind: PressKind = PressKind.GOOD,
    size: tuple[int, int] = DEFAULT_SIZE,
) -> U8:
    """8-bit sensor image (height rows × width) of one press: dark ridges on a light ground."""
    width, height = size
    rng = np.random.default_rng((finger * 7919 + press * 104729) & 0xFFFFFFFF)
    master = master_print(finger)
    angle = float(rng.uniform(-12, 12))
    dx, dy = rng.uniform(-22, 22, 2)
    matrix = cv2.getRotationMatrix2D((MASTER_W / 2, MASTER_H / 2), angle, 1.0)
    scale = min(width / DEFAULT_SIZE[0], height / DEFAULT_SIZE[1])  # a smaller sensor's shift
    dx, dy = dx * scale, dy * scale
    matrix[0, 2] += dx - (MASTER_W - width) / 2
    matrix[1, 2] += dy - (MASTER_H - height) / 2
    ridges = cv2.warpAffine(master, matrix, (width, height), borderValue=0.0)
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


# --- features (Img2Tz), matching (Match) and merging (RegModel) ----------------------------


def features_of(image: U8) -> Features:
    """Block orientation field of an 8-bit image; raises FeatureError like Img2Tz."""
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


def encode(features: Features, size: int = DEFAULT_TEMPLATE_BYTES) -> bytes:
    """A char file of ``size`` bytes: magic, grid shape, cell count, orientation bytes,
    coherence nibbles, zero padding (a profile with a longer template pads more)."""
    grid_h, grid_w = features.foreground.shape
    fg = features.foreground.reshape(-1)
    angle = np.round(features.orientation.reshape(-1) / np.pi * 180) % 180
    angle_bytes = np.where(fg, angle, 255).astype(np.uint8)
    nib = np.clip(np.round(features.coherence.reshape(-1) * 15), 0, 15).astype(np.uint8)
    coh_bytes = (nib[0::2] << 4) | nib[1::2]
    head = _MAGIC + bytes((grid_w, grid_h)) + int(fg.sum()).to_bytes(2, "big")
    body = head + angle_bytes.tobytes() + coh_bytes.tobytes()
    if len(body) > size:
        raise ValueError(f"a {grid_w}x{grid_h} grid needs {len(body)} bytes, not {size}")
    return body + bytes(size - len(body))


def decode(char: bytes) -> Features | None:
    """The features of a char file, or None if it is not one (garbage from DownChar)."""
    if len(char) < _HEADER or not char.startswith(_MAGIC):
        return None
    grid_w, grid_h = char[4], char[5]
    cells = grid_w * grid_h
    if cells == 0 or cells % 2 or len(char) < _HEADER + cells + cells // 2:
        return None
    angle_bytes = np.frombuffer(char, np.uint8, cells, _HEADER)
    coh_bytes = np.frombuffer(char, np.uint8, cells // 2, _HEADER + cells)
    fg = angle_bytes != 255
    if np.any(angle_bytes[fg] >= 180):
        return None
    nib = np.empty(cells, np.uint8)
    nib[0::2], nib[1::2] = coh_bytes >> 4, coh_bytes & 0x0F
    orientation = (np.where(fg, angle_bytes, 0) * (np.pi / 180)).astype(np.float32)
    return Features(
        orientation.reshape(grid_h, grid_w),
        (nib / 15.0).astype(np.float32).reshape(grid_h, grid_w),
        fg.reshape(grid_h, grid_w),
    )


@dataclass(frozen=True)
class _Alignment:
    similarity: float
    ref_index: npt.NDArray[np.intp]  # probe cell -> reference cell (-1: outside)
    rotation: float


@functools.lru_cache(maxsize=8)
def _centres(grid_w: int, grid_h: int) -> npt.NDArray[np.float64]:
    """Block centres relative to the image centre, one row per cell."""
    centres: npt.NDArray[np.float64] = np.stack(
        np.meshgrid(
            (np.arange(grid_w) + 0.5) * BLOCK - grid_w * BLOCK / 2,
            (np.arange(grid_h) + 0.5) * BLOCK - grid_h * BLOCK / 2,
        ),
        axis=-1,
    ).reshape(-1, 2)
    return centres


def _align(ref: Features, probe: Features) -> _Alignment:
    """Best rotation/shift of probe onto ref by coherence-weighted orientation agreement."""
    grid_h, grid_w = ref.foreground.shape
    cells = grid_w * grid_h
    ref_fg, ref_o = ref.foreground.reshape(-1), ref.orientation.reshape(-1)
    ref_c = ref.coherence.reshape(-1)
    p_fg = probe.foreground.reshape(-1)
    p_idx = np.flatnonzero(p_fg)
    p_o, p_c = probe.orientation.reshape(-1)[p_idx], probe.coherence.reshape(-1)[p_idx]
    need = 0.4 * min(int(ref_fg.sum()), len(p_idx))
    best = _Alignment(-1.0, np.full(cells, -1, np.intp), 0.0)
    if probe.foreground.shape != ref.foreground.shape:
        return best  # prints of different sensors never match
    shifts = np.arange(-3, 3.5, 0.5) * BLOCK
    for rot in np.deg2rad(np.arange(-24, 25, 4)):
        c, s = math.cos(rot), math.sin(rot)
        pts = _centres(grid_w, grid_h)[p_idx] @ np.array([[c, s], [-s, c]], np.float64)
        # every (dx, dy) shift at once: arrays of shape (shifts, shifts, probe cells)
        gx = np.floor((pts[None, :, 0] + shifts[:, None] + grid_w * BLOCK / 2) / BLOCK)
        gy = np.floor((pts[None, :, 1] + shifts[:, None] + grid_h * BLOCK / 2) / BLOCK)
        gx3, gy3 = gx.astype(np.intp)[:, None, :], gy.astype(np.intp)[None, :, :]
        inside = (gx3 >= 0) & (gx3 < grid_w) & (gy3 >= 0) & (gy3 < grid_h)
        idx = np.where(inside, gy3 * grid_w + gx3, 0)
        ok = inside & ref_fg[idx]
        w = np.where(ok, p_c * ref_c[idx], 0.0)
        agree = np.cos(2 * (p_o + rot - ref_o[idx]))
        sims = (w * agree).sum(axis=2) / (w.sum(axis=2) + 1e-6)
        sims[ok.sum(axis=2) < need] = -1.0
        i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
        if sims[i, j] > best.similarity:
            full = np.full(cells, -1, np.intp)
            full[p_idx[ok[i, j]]] = idx[i, j][ok[i, j]]
            best = _Alignment(float(sims[i, j]), full, float(rot))
    return best


def match_score(a: bytes, b: bytes) -> int:
    """The module's Match score of two char files (0 when either is not a char file)."""
    fa, fb = decode(a), decode(b)
    if fa is None or fb is None:
        return 0
    sim = _align(fa, fb).similarity
    return max(0, round((sim - 0.80) * 1500))


def merge(a: bytes, b: bytes) -> bytes | None:
    """RegModel: one template from two char files of the same finger, else None (0x0A)."""
    fa, fb = decode(a), decode(b)
    if fa is None or fb is None:
        return None
    alignment = _align(fa, fb)
    if max(0, round((alignment.similarity - 0.80) * 1500)) < MATCH_THRESHOLD:
        return None
    grid = fa.foreground.shape
    vec = (fa.coherence * np.exp(2j * fa.orientation)).reshape(-1)
    weight = fa.coherence.reshape(-1).copy()
    src = np.flatnonzero(alignment.ref_index >= 0)
    dst = alignment.ref_index[src]
    p_angle = fb.orientation.reshape(-1)[src] + alignment.rotation
    p_coh = fb.coherence.reshape(-1)[src]
    np.add.at(vec, dst, p_coh * np.exp(2j * p_angle))
    np.add.at(weight, dst, p_coh)
    fg = fa.foreground.reshape(-1).copy()
    fg[dst] = True
    orientation = np.mod(np.angle(vec) / 2, np.pi).astype(np.float32)
    coherence = np.where(fg, np.abs(vec) / np.maximum(weight, 1e-6), 0).astype(np.float32)
    return encode(
        Features(orientation.reshape(grid), coherence.reshape(grid), fg.reshape(grid)),
        len(a),
    )
