"""The emulated module's minutiae: extraction from the pixels it imaged, char files, Match and
RegModel — what a real module's firmware does, written for the emulator only.

- ``extract(image, foreground)``: ridge endings and bifurcations of an 8-bit image (dark
  ridges): ridges binarised against their local mean, thinned to one pixel (Zhang–Suen),
  crossing number 1 (ending) or 3 (bifurcation) on the skeleton, each with its position and
  its direction (the ridge flow at that point, pointing away from the ridge for an ending and
  towards the two branches' opening for a bifurcation). Minutiae near the contact's edge
  (where ridges fade out and every ridge "ends") and close pairs (broken ridges, spurs,
  bridges) are dropped, as extractors such as NBIS mindtct do.
- ``encode``/``decode``: the char file, a fixed size (the profile's template bytes): magic,
  count, then 6 bytes per minutia (x, y in 1/8 px, direction in 1/256 turn, kind).
- ``score``: Match. Pair tables in the manner of NBIS bozorth3 and SourceAFIS's edges: every
  minutia with its nearest neighbours gives edges (length, and both directions relative to
  the edge: invariant to shift and rotation); edges of the two prints that agree propose
  root pairings, each root a rigid transform; the transforms vote, and the best few are
  checked by pairing all minutiae one to one within a distance and an angle. The score grows
  with the paired minutiae (the module's scale: a few paired by chance score far below the
  threshold).
- ``merge``: RegModel: the second char file brought into the first's frame by the best
  transform, paired minutiae averaged, the others added.

Pure numpy/OpenCV, no I/O; the emulator thread (and the benchmark's workers) call it.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]

ENDING, BIFURCATION = 0, 1
MAGIC = b"R3MN"
HEADER = 8  # magic 4, version 1, kind flags 1, count 2
RECORD = 6  # x 2, y 2, direction 1, kind 1
SUBPIXEL = 8
VERSION = 1
EDGE_MARGIN = 14  # px inside the contact where a minutia counts
CLOSE_PAIR = 7.0  # px: two minutiae this close are an artefact (broken ridge, spur, bridge)
NEIGHBOURS = 6  # edges per minutia in the pair tables
EDGE_LENGTH_TOL = 6.0  # px
EDGE_ANGLE_TOL = math.radians(20)
PAIR_DISTANCE = 8.0  # px between paired minutiae after alignment
PAIR_ANGLE = math.radians(20)
ROOTS_CHECKED = 6


@dataclass(frozen=True)
class Minutiae:
    """Minutiae of one print: positions (px), directions (radians, [0, 2π)), kinds."""

    xy: F64  # shape (n, 2)
    angle: F64  # shape (n,)
    kind: npt.NDArray[np.uint8]

    def __len__(self) -> int:
        return len(self.angle)

    def take(self, index: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> Minutiae:
        return Minutiae(self.xy[index], self.angle[index], self.kind[index])


# --- extraction --------------------------------------------------------------------------------


def _zhang_suen_table(step: int) -> npt.NDArray[np.bool_]:
    """For each of the 256 neighbourhoods (bit k set: neighbour P(k+2) is ridge, P2 north
    then clockwise), whether a ridge pixel is removed in sub-iteration ``step``."""
    table = np.zeros(256, bool)
    for code in range(256):
        p = [(code >> k) & 1 for k in range(8)]  # P2..P9
        count = sum(p)
        transitions = sum(p[k] == 0 and p[(k + 1) % 8] == 1 for k in range(8))
        p2, p4, p6, p8 = p[0], p[2], p[4], p[6]
        c1, c2 = (p2 * p4 * p6, p4 * p6 * p8) if step == 0 else (p2 * p4 * p8, p2 * p6 * p8)
        table[code] = 2 <= count <= 6 and transitions == 1 and c1 == 0 and c2 == 0
    return table


_THIN_TABLES = (_zhang_suen_table(0), _zhang_suen_table(1))


def _thin(binary: U8) -> U8:
    """Zhang–Suen thinning of a 0/1 image to one-pixel-wide ridges."""
    img = binary.astype(np.uint8)
    while True:
        changed = False
        for table in _THIN_TABLES:
            code = np.zeros(img.shape, np.uint8)
            for bit, neighbour in enumerate(_neighbours(img)):
                code |= neighbour << bit
            kill = (img == 1) & table[code]
            if kill.any():
                img[kill] = 0
                changed = True
        if not changed:
            return img


def _neighbours(img: U8) -> list[U8]:
    """P2..P9 of every pixel (clockwise from north), zero outside."""
    p = np.pad(img, 1)
    h, w = img.shape
    at = [(0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0), (0, 0)]  # N NE E SE S SW W NW
    return [p[r : r + h, c : c + w] for r, c in at]


def _orientation_at(image: U8, xy: F64, radius: int = 8) -> F64:
    """Ridge orientation (radians mod π) at each point, from the structure tensor of the
    gradients in a square around it."""
    img = image.astype(np.float32)
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3)
    theta = np.zeros(len(xy))
    for i, (x, y) in enumerate(xy.astype(np.intp)):
        window = np.s_[max(0, y - radius) : y + radius + 1, max(0, x - radius) : x + radius + 1]
        px, py = gx[window], gy[window]
        gxx, gyy, gxy = float((px * px).sum()), float((py * py).sum()), float((px * py).sum())
        theta[i] = (0.5 * math.atan2(2 * gxy, gxx - gyy) + math.pi / 2) % math.pi
    return theta


def ridges(image: U8) -> U8:
    """1 where a ridge (dark) is, 0 elsewhere: each pixel against its neighbourhood's mean."""
    img = image.astype(np.float32)
    smooth = cv2.GaussianBlur(img, (0, 0), 1.2)
    local = cv2.GaussianBlur(img, (0, 0), 5.0)
    binary: U8 = (smooth < local).astype(np.uint8)
    return binary


def extract(image: U8, contact: npt.NDArray[np.bool_]) -> Minutiae:
    """The minutiae of ``image`` inside ``contact`` (a pixel mask of where the finger
    touched), ``EDGE_MARGIN`` away from its edge."""
    inner = cv2.erode(
        contact.astype(np.uint8),
        cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * EDGE_MARGIN + 1,) * 2),
    ).astype(bool)
    if not inner.any():
        return Minutiae(np.zeros((0, 2)), np.zeros(0), np.zeros(0, np.uint8))
    rows, cols = np.nonzero(contact)  # only the contact is thinned (and a ridge's width round)
    top, left = max(0, int(rows.min()) - 8), max(0, int(cols.min()) - 8)
    crop = np.s_[top : int(rows.max()) + 9, left : int(cols.max()) + 9]
    skeleton = np.zeros(image.shape, np.uint8)
    skeleton[crop] = _thin(ridges(image[crop]))
    p = [n.astype(np.int16) for n in _neighbours(skeleton)]
    ring = [*p, p[0]]
    crossing = sum(np.abs(ring[k] - ring[k + 1]) for k in range(8)) // 2
    kind_of = np.full(skeleton.shape, -1, np.int8)
    kind_of[(skeleton == 1) & (crossing == 1) & inner] = ENDING
    kind_of[(skeleton == 1) & (crossing == 3) & inner] = BIFURCATION
    ys, xs = np.nonzero(kind_of >= 0)
    xy = np.stack([xs, ys], axis=1).astype(np.float64)
    keep = _not_close(xy)
    xy, kinds = xy[keep], kind_of[ys[keep], xs[keep]].astype(np.uint8)
    theta = _orientation_at(image, xy)
    labels = np.asarray(cv2.connectedComponents(skeleton, connectivity=8)[1], np.int32)
    angles = np.array(
        [
            _direction(labels, float(t), int(x), int(y), int(k))
            for (x, y), t, k in zip(xy, theta, kinds, strict=True)
        ],
        np.float64,
    )
    return Minutiae(xy, angles, kinds)


def _not_close(xy: F64) -> npt.NDArray[np.bool_]:
    """False for every minutia with another one closer than ``CLOSE_PAIR``."""
    if len(xy) < 2:
        return np.ones(len(xy), bool)
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    keep: npt.NDArray[np.bool_] = d.min(axis=1) >= CLOSE_PAIR
    return keep


def _direction(labels: npt.NDArray[np.int32], theta: float, x: int, y: int, kind: int) -> float:
    """The minutia's direction: the ridge orientation at it, turned to point away from its
    ridge (ending) or towards its branches (bifurcation)."""
    r = 9
    h, w = labels.shape
    y0, y1, x0, x1 = max(0, y - r), min(h, y + r + 1), max(0, x - r), min(w, x + r + 1)
    patch = labels[y0:y1, x0:x1] == labels[y, x]
    py, px = np.nonzero(patch)
    vx, vy = float((px + x0 - x).mean()), float((py + y0 - y).mean())
    angle = theta
    along = math.cos(angle) * vx + math.sin(angle) * vy
    if (kind == ENDING and along > 0) or (kind == BIFURCATION and along < 0):
        angle += math.pi
    return angle % (2 * math.pi)


# --- char files ---------------------------------------------------------------------------------


def capacity(size: int) -> int:
    """Minutiae a char file of ``size`` bytes holds."""
    return (size - HEADER) // RECORD


def encode(m: Minutiae, size: int) -> bytes:
    """A char file of exactly ``size`` bytes (the first ``capacity(size)`` minutiae)."""
    n = min(len(m), capacity(size))
    out = bytearray(MAGIC + bytes((VERSION, 0)) + n.to_bytes(2, "big"))
    for i in range(n):
        x = round(float(m.xy[i, 0]) * SUBPIXEL)
        y = round(float(m.xy[i, 1]) * SUBPIXEL)
        a = round(float(m.angle[i]) / (2 * math.pi) * 256) % 256
        out += x.to_bytes(2, "big", signed=True) + y.to_bytes(2, "big", signed=True)
        out += bytes((a, int(m.kind[i])))
    return bytes(out) + bytes(size - len(out))


def decode(char: bytes) -> Minutiae | None:
    """The minutiae of a char file, or None if it is not one (garbage from DownChar)."""
    if len(char) < HEADER or not char.startswith(MAGIC) or char[4] != VERSION:
        return None
    n = int.from_bytes(char[6:8], "big")
    if HEADER + n * RECORD > len(char):
        return None
    raw = np.frombuffer(char, np.uint8, n * RECORD, HEADER).reshape(n, RECORD)
    if np.any(raw[:, 5] > BIFURCATION):
        return None
    coords = raw[:, :4].copy().view(">i2").astype(np.int64)  # x, y: signed big-endian
    xy = coords.reshape(n, 2)
    return Minutiae(
        xy.astype(np.float64) / SUBPIXEL,
        raw[:, 4].astype(np.float64) * (2 * math.pi / 256),
        raw[:, 5].astype(np.uint8),
    )


# --- matching -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Edges:
    """Each minutia's edges to its nearest neighbours, shift and rotation invariant."""

    start: npt.NDArray[np.intp]
    end: npt.NDArray[np.intp]
    length: F64
    start_angle: F64  # the start's direction relative to the edge
    end_angle: F64  # the end's direction relative to the edge


def _wrap(a: F64 | float) -> F64:
    """Angles into (-π, π]."""
    wrapped: F64 = np.mod(np.asarray(a, np.float64) + np.pi, 2 * np.pi) - np.pi
    return wrapped


def _edges(m: Minutiae) -> _Edges:
    n = len(m)
    k = min(NEIGHBOURS, n - 1)
    if k <= 0:
        empty = np.zeros(0)
        return _Edges(empty.astype(np.intp), empty.astype(np.intp), empty, empty, empty)
    d = np.hypot(*(m.xy[None, :, :] - m.xy[:, None, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    end = np.argsort(d, axis=1)[:, :k].reshape(-1)
    start = np.repeat(np.arange(n), k)
    delta = m.xy[end] - m.xy[start]
    line = np.arctan2(delta[:, 1], delta[:, 0])
    return _Edges(
        start,
        end,
        d[start, end],
        _wrap(m.angle[start] - line),
        _wrap(m.angle[end] - line),
    )


@functools.lru_cache(maxsize=512)
def _prepared(char: bytes) -> tuple[Minutiae, _Edges] | None:
    m = decode(char)
    return None if m is None else (m, _edges(m))


def _transforms(a: Minutiae, ea: _Edges, b: Minutiae, eb: _Edges) -> list[tuple[float, F64]]:
    """Rigid transforms (rotation, translation) taking a onto b, best supported first:
    every pair of agreeing edges votes for the transform of its start minutiae."""
    if not len(ea.length) or not len(eb.length):
        return []
    ok = np.abs(ea.length[:, None] - eb.length[None, :]) <= EDGE_LENGTH_TOL
    ok &= np.abs(_wrap(ea.start_angle[:, None] - eb.start_angle[None, :])) <= EDGE_ANGLE_TOL
    ok &= np.abs(_wrap(ea.end_angle[:, None] - eb.end_angle[None, :])) <= EDGE_ANGLE_TOL
    ok &= a.kind[ea.start][:, None] == b.kind[eb.start][None, :]
    ok &= a.kind[ea.end][:, None] == b.kind[eb.end][None, :]
    ia, ib = np.nonzero(ok)
    if not len(ia):
        return []
    sa, sb = ea.start[ia], eb.start[ib]
    rotation = _wrap(b.angle[sb] - a.angle[sa])
    c, s = np.cos(rotation), np.sin(rotation)
    ax, ay = a.xy[sa, 0], a.xy[sa, 1]
    tx = b.xy[sb, 0] - (c * ax - s * ay)
    ty = b.xy[sb, 1] - (s * ax + c * ay)
    keys = np.stack(
        [np.round(rotation / math.radians(10)), np.round(tx / 12), np.round(ty / 12)], axis=1
    ).astype(np.int64)
    _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    best = np.argsort(-counts)[:ROOTS_CHECKED]
    out: list[tuple[float, F64]] = []
    for cluster in best:
        members = inverse == cluster
        rot = float(np.angle(np.exp(1j * rotation[members]).mean()))
        out.append((rot, np.array([tx[members].mean(), ty[members].mean()])))
    return out


def _apply(m: Minutiae, rotation: float, shift: F64) -> Minutiae:
    c, s = math.cos(rotation), math.sin(rotation)
    xy = m.xy @ np.array([[c, s], [-s, c]]) + shift
    return Minutiae(xy, np.mod(m.angle + rotation, 2 * np.pi), m.kind)


def _pairs(a: Minutiae, b: Minutiae) -> list[tuple[int, int]]:
    """One-to-one pairs of (already aligned) minutiae, closest first."""
    d = np.hypot(*(a.xy[:, None, :] - b.xy[None, :, :]).transpose(2, 0, 1))
    turn = np.abs(_wrap(a.angle[:, None] - b.angle[None, :]))
    same = a.kind[:, None] == b.kind[None, :]
    ia, ib = np.nonzero((d <= PAIR_DISTANCE) & (turn <= PAIR_ANGLE) & same)
    order = np.argsort(d[ia, ib], kind="stable")
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for i, j in zip(ia[order].tolist(), ib[order].tolist(), strict=True):
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((i, j))
    return pairs


def best_alignment(a: bytes, b: bytes) -> tuple[list[tuple[int, int]], float, F64] | None:
    """The transform of a onto b pairing the most minutiae, and those pairs."""
    pa, pb = _prepared(a), _prepared(b)
    if pa is None or pb is None:
        return None
    (ma, ea), (mb, eb) = pa, pb
    best: tuple[list[tuple[int, int]], float, F64] | None = None
    for rotation, shift in _transforms(ma, ea, mb, eb):
        pairs = _pairs(_apply(ma, rotation, shift), mb)
        if best is None or len(pairs) > len(best[0]):
            best = (pairs, rotation, shift)
    return best


def _inside(points: F64, hull_of: F64, margin: float = 6.0) -> int:
    """How many of ``points`` lie within ``margin`` of the convex hull of ``hull_of``."""
    if len(hull_of) < 3 or not len(points):
        return 0
    hull = cv2.convexHull(hull_of.astype(np.float32))
    return sum(cv2.pointPolygonTest(hull, (float(x), float(y)), True) >= -margin for x, y in points)


def stats(a: bytes, b: bytes) -> tuple[int, int, int]:
    """(paired, a's minutiae in b's area, b's minutiae in a's area) at the best alignment."""
    pa, pb = _prepared(a), _prepared(b)
    if pa is None or pb is None:
        return 0, 0, 0
    best = best_alignment(a, b)
    if best is None:
        return 0, len(pa[0]), len(pb[0])
    pairs, rotation, shift = best
    moved = _apply(pa[0], rotation, shift)
    return len(pairs), _inside(moved.xy, pb[0].xy), _inside(pb[0].xy, moved.xy)


def merge(a: bytes, b: bytes) -> bytes | None:
    """RegModel: b brought into a's frame; paired minutiae averaged, the others added."""
    pa, pb = _prepared(a), _prepared(b)
    best = best_alignment(b, a)
    if pa is None or pb is None or best is None:
        return None
    pairs, rotation, shift = best
    ma, mb = pa[0], _apply(pb[0], rotation, shift)
    xy, angle = ma.xy.copy(), ma.angle.copy()
    for ib, ia in pairs:
        xy[ia] = (xy[ia] + mb.xy[ib]) / 2
        angle[ia] = np.angle(np.exp(1j * angle[ia]) + np.exp(1j * mb.angle[ib])) % (2 * np.pi)
    extra = np.setdiff1d(np.arange(len(mb)), [ib for ib, _ in pairs])
    merged = Minutiae(
        np.concatenate([xy, mb.xy[extra]]),
        np.concatenate([angle, mb.angle[extra]]),
        np.concatenate([ma.kind, mb.kind[extra]]),
    )
    return encode(merged, len(a))
