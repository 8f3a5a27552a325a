"""Face, eye and background measurements for the face gate (Qt-free).

Everything here uses only the Haar cascades that ship inside the OpenCV wheel
(``cv2.data.haarcascades``): no model file is downloaded or shipped separately.

Faces are found in two passes:

- *coarse*: the frame's grey copy downscaled to ``detect_width`` px, searched for faces at least
  ``min_face_frac`` of the frame wide (the borderer in front of the camera);
- *fine*: a copy ``fine_width`` px wide searched for the smaller faces the coarse pass cannot
  see (someone behind the borderer, a group), between ``fine_min_px`` and the coarse pass's
  smallest size. This pass is the expensive one, so on a live camera (``live=True``) every
  ``fine_every``-th frame searches one of ``fine_bands`` horizontal bands in turn and a small
  face is remembered for one full turn (8 frames, about 270 ms at 30 fps); a still photograph
  is searched whole.

Faces narrower than the cascade's 24-px window in the fine copy (6 % of the frame width: 77 px
at 1280, 38 px at 640) are not looked for: people that far behind the borderer do not stop the
photo (the 1927 group photograph of the evaluation set, faces 4 % of its width, shows it).

Every candidate of either pass is confirmed by a second cascade (``alt2``) on its neighbourhood
at full resolution, which removes false faces on patterned clothes, fur or text.

Live tracking (``live=True``): between full searches, the coarse pass looks for each face of
the previous frame only around where it was and at about its size (``_coarse_tracked``), and
the eyes are looked for only near where the face's movement puts them (``_eyes_tracked``). A
full coarse search runs at least every ``track_every``-th frame and a full eye search at least
every ``eyes_every``-th, and at once whenever tracking loses a face or an eye; a face that newly
enters the frame is therefore found up to ``track_every`` - 1 frames late (the small-face bands
above have their own turn). Every frame is still measured on its own pixels: tracking only
narrows where and at which sizes the cascades look. On the stand-in scene the tracked eyes are
as close to the annotated centres as a full search on every frame (tests/unit/test_face_gate).
Still photographs (``live=False``) always get the full search.

Eyes: the open-eye cascade and the eyeglasses cascade both search the upper part of the face;
in each half of the face the hit nearest to where a frontal face has its eye is kept. The eye
centre is the centre of that hit (about ±5 % of the eye distance on the annotated evaluation
photographs). Openness is the height/width of the dark blob (iris and pupil, or the lash line
of a closed eye) nearest the eye centre.

Threads: a ``FaceDetector`` holds cascade objects (not shareable between threads) and, when
live, the band memory of one camera: one per capture thread.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from cv2.data import haarcascades
from cv2.typing import MatLike

from bts_desk.errors import CaptureError

Image = MatLike
Point = tuple[float, float]


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

    def overlaps(self, other: Box) -> bool:
        """The centre of either box lies inside the other (the same face found twice)."""
        return (abs(self.cx - other.cx) < max(self.w, other.w) / 2) and (
            abs(self.cy - other.cy) < max(self.h, other.h) / 2
        )


@dataclass(frozen=True)
class DetectConfig:
    """Detection parameters (part of ``GateConfig``)."""

    detect_width: int = 256  # coarse pass: grey copy width
    scale_factor: float = 1.15
    min_neighbors: int = 3  # low: the alt2 cascade confirms each candidate
    min_face_frac: float = 0.09  # coarse pass: smallest face, fraction of the frame width
    fine_width: int = 400  # fine pass: grey copy width
    fine_min_px: int = 20  # fine pass: smallest face in that copy (5 % of its width)
    fine_bands: int = 4  # live cameras: one band searched per searching frame
    fine_every: int = 2  # live cameras: every n-th frame searches a band
    track_every: int = 5  # live cameras: a full coarse search at least every n-th frame
    eyes_every: int = 8  # live cameras: a full eye search at least every n-th frame


def cascade(name: str) -> cv2.CascadeClassifier:
    path = Path(haarcascades) / name
    classifier = cv2.CascadeClassifier(str(path))
    if classifier.empty():
        raise CaptureError("人脸检测模型无法加载，请重新安装程序", f"cannot load cascade {path}")
    return classifier


class FaceDetector:
    """Finds faces and eyes. One instance per thread (see module doc)."""

    def __init__(self, config: DetectConfig | None = None, *, live: bool = False) -> None:
        self.config = config or DetectConfig()
        self.live = live
        self._faces = cascade("haarcascade_frontalface_default.xml")
        self._verify = cascade("haarcascade_frontalface_alt2.xml")
        self._eyes = cascade("haarcascade_eye.xml")
        self._eyes_glasses = cascade("haarcascade_eye_tree_eyeglasses.xml")
        self._band = 0
        self._tick = 0
        self._remembered: dict[int, list[Box]] = {}  # band → small faces seen in it
        self._frame = 0  # live: frames seen (``faces`` calls)
        self._tracked: list[Box] = []  # live: the coarse pass's faces on the last frame
        self._coarse_age = 0  # live: frames since the last full coarse search
        self._eye_track: _EyeTrack | None = None  # live: the eyes found on the last frame

    def faces(self, grey: Image) -> list[Box]:
        """Confirmed faces in a grey frame, frame pixels, largest first."""
        self._frame += 1
        faces: list[Box] = []
        for face in [*self._coarse(grey), *self._fine(grey)]:  # best first within each pass
            if not any(face.overlaps(other) for other in faces):
                faces.append(face)
        return sorted(faces, key=lambda b: -b.w)

    def _coarse(self, grey: Image) -> list[Box]:
        """Confirmed big faces, the most agreed-on first (a box around head and shoulders can
        come with the face box inside it: the face box has more neighbours)."""
        cfg = self.config
        width = grey.shape[1]
        scale = min(1.0, cfg.detect_width / width)
        small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        if self.live and self._tracked and self._coarse_age < cfg.track_every - 1:
            tracked = self._coarse_tracked(grey, small, scale)
            if tracked is not None:
                self._tracked, self._coarse_age = tracked, self._coarse_age + 1
                return tracked
        side = max(12, round(cfg.min_face_frac * width * scale))
        found, votes = self._faces.detectMultiScale2(
            small,
            scaleFactor=cfg.scale_factor,
            minNeighbors=cfg.min_neighbors,
            minSize=(side, side),
        )
        ranked = sorted(zip(found, votes, strict=True), key=lambda fv: -int(fv[1]))
        boxes = [_scaled(Box(*map(int, f)), 1 / scale) for f, _ in ranked]
        confirmed = [b for b in boxes if self._confirmed(grey, b)]
        if self.live:
            self._tracked, self._coarse_age = confirmed, 0
        return confirmed

    def _coarse_tracked(self, grey: Image, small: Image, scale: float) -> list[Box] | None:
        """Live frames between full coarse searches: each face of the last frame searched for
        only around where it was (half a face width of margin) and at about its size (0.8-1.25×),
        then confirmed as usual. None when any of them is not found again (moved fast, left,
        turned away): the caller then searches the whole frame. A face that newly enters the
        frame is found by the next full search, at most ``track_every`` frames later."""
        cfg = self.config
        found: list[Box] = []
        for last in self._tracked:
            box = _scaled(last, scale)
            margin = box.w // 2 + 2
            x0, y0 = max(0, box.x - margin), max(0, box.y - margin)
            roi = small[y0 : box.y + box.h + margin, x0 : box.x + box.w + margin]
            hits, votes = self._faces.detectMultiScale2(
                roi,
                scaleFactor=cfg.scale_factor,
                minNeighbors=cfg.min_neighbors,
                minSize=(int(box.w * 0.8), int(box.w * 0.8)),
                maxSize=(math.ceil(box.w * 1.25), math.ceil(box.w * 1.25)),
            )
            ranked = sorted(zip(hits, votes, strict=True), key=lambda fv: -int(fv[1]))
            boxes = [_scaled(Box(x + x0, y + y0, w, h), 1 / scale) for (x, y, w, h), _ in ranked]
            again = next((b for b in boxes if self._confirmed(grey, b)), None)
            if again is None:
                return None
            found.append(again)
        return found

    def _fine(self, grey: Image) -> list[Box]:
        """Faces smaller than the coarse pass looks for (see module doc)."""
        cfg = self.config
        width = grey.shape[1]
        scale = min(1.0, cfg.fine_width / width)
        largest = math.ceil(cfg.min_face_frac * width * scale * 1.3)
        if largest <= cfg.fine_min_px:
            return []
        copy = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        rows = copy.shape[0]
        bands = range(cfg.fine_bands)
        if self.live:
            self._tick += 1
            if self._tick % cfg.fine_every:
                return [b for boxes in self._remembered.values() for b in boxes]
            bands = range(self._band, self._band + 1)
            self._band = (self._band + 1) % cfg.fine_bands
        step = math.ceil(rows / cfg.fine_bands)
        seen: dict[int, list[Box]] = {}
        for band in bands:
            top = max(0, band * step - largest)
            part = copy[top : min(rows, (band + 1) * step + largest)]
            found = self._faces.detectMultiScale(
                part,
                scaleFactor=1.1,
                minNeighbors=4,
                minSize=(cfg.fine_min_px, cfg.fine_min_px),
                maxSize=(largest, largest),
            )
            boxes = [_scaled(Box(*map(int, f)), 1 / scale) for f in found]
            shift = round(top / scale)
            boxes = [Box(b.x, b.y + shift, b.w, b.h) for b in boxes]
            seen[band] = [b for b in boxes if self._confirmed(grey, b)]
        if self.live:
            self._remembered.update(seen)
            seen = self._remembered
        return [b for boxes in seen.values() for b in boxes]

    def _confirmed(self, grey: Image, cand: Box) -> bool:
        """Second opinion on a candidate: its neighbourhood at full resolution, scaled so the
        candidate is 64 px wide, searched with the alt2 cascade for a face of similar size."""
        margin = cand.w // 3
        roi = grey[
            max(0, cand.y - margin) : cand.y + cand.h + margin,
            max(0, cand.x - margin) : cand.x + cand.w + margin,
        ]
        factor = 64 / cand.w
        interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
        roi = cv2.resize(roi, None, fx=factor, fy=factor, interpolation=interpolation)
        hits = self._verify.detectMultiScale(
            roi, scaleFactor=1.1, minNeighbors=3, minSize=(44, 44), maxSize=(92, 92)
        )
        return len(hits) > 0

    def eyes(self, grey: Image, face: Box) -> tuple[Point, Point] | None:
        """The two eye centres (image-left first) in frame pixels, or None unless each half of
        the face has one (head turned away, eyes hidden).

        Live, between full searches (at least every ``eyes_every``-th frame), each eye of the
        previous frame is looked for only near where the face's movement puts it now
        (``_eyes_tracked``); a full search follows whenever that fails."""
        track = self._eye_track
        if (
            self.live
            and track is not None
            and track.frame == self._frame - 1
            and track.age < self.config.eyes_every - 1
        ):
            tracked = self._eyes_tracked(grey, face, track)
            if tracked is not None:
                self._eye_track = _EyeTrack(self._frame, face, tracked, track.sizes, track.age + 1)
                return tracked
        found = self._eyes_full(grey, face)
        if self.live:
            self._eye_track = None
            if found is not None:
                eyes, sizes = found
                self._eye_track = _EyeTrack(self._frame, face, eyes, sizes, 0)
        return None if found is None else found[0]

    def _eyes_tracked(self, grey: Image, face: Box, track: _EyeTrack) -> tuple[Point, Point] | None:
        """Each eye searched for in a window 2.4 eye-boxes wide around where it would be if it
        moved with the face box, at about the size it had (±20 %): the plain eye cascade, then
        the eyeglasses one. None if the face box jumped or either eye is not found near there."""
        last = track.face
        k = face.w / last.w
        if not 0.85 <= k <= 1.18 or math.hypot(face.cx - last.cx, face.cy - last.cy) > 0.2 * face.w:
            return None
        found: list[Point] = []
        for (ex, ey), size in zip(track.eyes, track.sizes, strict=True):
            px, py, side = face.cx + (ex - last.cx) * k, face.cy + (ey - last.cy) * k, size * k
            hit = self._eye_near(grey, (px, py), side)
            if hit is None:
                return None
            found.append(hit)
        return found[0], found[1]

    def _eye_near(self, grey: Image, at: Point, side: float) -> Point | None:
        """The centre of the eye-cascade hit nearest ``at`` in a window around it, scaled so an
        eye box of ``side`` px is 30 px; None if no hit lies within 0.3 ``side`` of ``at``."""
        half = 1.2 * side
        x0, y0 = max(0, round(at[0] - half)), max(0, round(at[1] - half))
        window = grey[y0 : round(at[1] + half), x0 : round(at[0] + half)]
        factor = 30 / side
        if window.size == 0 or min(window.shape[:2]) * factor < 36:
            return None
        interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
        window = cv2.resize(window, None, fx=factor, fy=factor, interpolation=interpolation)
        cx, cy = (at[0] - x0) * factor, (at[1] - y0) * factor
        for classifier in (self._eyes, self._eyes_glasses):
            hits = classifier.detectMultiScale(
                window, scaleFactor=1.08, minNeighbors=1, minSize=(24, 24), maxSize=(36, 36)
            )
            if len(hits):
                x, y, w, h = min(
                    hits, key=lambda e: math.hypot(e[0] + e[2] / 2 - cx, e[1] + e[3] / 2 - cy)
                )
                ex, ey = x + w / 2, y + h / 2
                if math.hypot(ex - cx, ey - cy) <= 0.3 * 30:
                    return x0 + ex / factor, y0 + ey / factor
        return None

    def _eyes_full(
        self, grey: Image, face: Box
    ) -> tuple[tuple[Point, Point], tuple[float, float]] | None:
        """The full eye search (see ``eyes``): the eye centres and their hits' sizes."""
        y0 = face.y + int(face.h * 0.15)
        top = grey[max(0, y0) : face.y + int(face.h * 0.6), max(0, face.x) : face.x + face.w]
        if top.size == 0:
            return None
        scale = 160 / face.w
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        top = cv2.resize(top, None, fx=scale, fy=scale, interpolation=interpolation)
        hits: list[tuple[Box, int]] = []  # (hit, how many neighbours agreed)
        for classifier in (self._eyes, self._eyes_glasses):
            found, votes = classifier.detectMultiScale2(
                top, scaleFactor=1.05, minNeighbors=1, minSize=(19, 19), maxSize=(67, 67)
            )
            hits.extend((Box(*map(int, e)), int(n)) for e, n in zip(found, votes, strict=True))
        # where a frontal face's eyes are in this patch (Haar face box proportions)
        ey = (0.38 - 0.15) * face.h * scale
        sides = []
        for ex in (0.3 * 160, 0.7 * 160):
            side = [(e, n) for e, n in hits if (e.cx < 80) == (ex < 80)]
            sure = [e for e, n in side if n >= 2]  # a weak hit only when there is no other
            candidates = sure or [e for e, _ in side]
            if not candidates:
                return None
            sides.append([(e, math.hypot(e.cx - ex, e.cy - ey)) for e in candidates])

        def cost(pair: tuple[tuple[Box, float], tuple[Box, float]]) -> float:
            (left, off_l), (right, off_r) = pair
            return off_l + off_r + 0.3 * abs(left.cy - right.cy) + abs(left.w - right.w)

        (left, _), (right, _) = min(itertools.product(sides[0], sides[1]), key=cost)
        x0, y0 = max(0, face.x), max(0, y0)
        eyes = (
            (x0 + left.cx / scale, y0 + left.cy / scale),
            (
                x0 + right.cx / scale,
                y0 + right.cy / scale,
            ),
        )
        return eyes, (left.w / scale, right.w / scale)


@dataclass(frozen=True)
class _EyeTrack:
    """The eyes a live detector found on one frame: the frame's number, the face box they were
    found in, their centres and their hits' sizes (frame pixels), frames since a full search."""

    frame: int
    face: Box
    eyes: tuple[Point, Point]
    sizes: tuple[float, float]
    age: int


def eye_openness(grey: Image, eye: Point, eye_distance: float) -> float:
    """Height / width of the dark blob nearest the eye centre, in a window a third of the eye
    distance wide: an open eye's iris is about as tall as wide (0.5-1), a closed eye leaves
    only the lash line across the window (below about 0.35)."""
    radius = max(3, round(0.16 * eye_distance))
    x, y = round(eye[0]), round(eye[1])
    x0, y0 = max(0, x - radius), max(0, y - radius)
    window = grey[y0 : y + radius + 1, x0 : x + radius + 1]
    if window.size == 0:
        return 0.0
    window = cv2.GaussianBlur(window, (0, 0), max(0.8, eye_distance / 80))
    dark = (window <= np.percentile(window, 20)).astype(np.uint8)
    count, _, stats, centres = cv2.connectedComponentsWithStats(dark)
    if count <= 1:
        return 0.0
    best = min(
        range(1, count),
        key=lambda i: math.hypot(centres[i][0] - (x - x0), centres[i][1] - (y - y0)),
    )
    return float(stats[best, cv2.CC_STAT_HEIGHT]) / max(1.0, float(stats[best, cv2.CC_STAT_WIDTH]))


def background_figures(
    grey: Image, corners: tuple[Point, ...], eyes: tuple[Point, Point]
) -> tuple[float, float]:
    """Mean grey and its spread (standard deviation after a light blur) of the background
    beside and above the head, inside the portrait: two strips at the portrait's sides from
    its top down to the mouth, and a strip across its top. The head is taken to reach
    1.3 eye distances either side of the eyes' midpoint and 2.1 above the eye line (hair, a cap)."""
    (lx, ly), (rx, ry) = eyes
    distance = math.hypot(rx - lx, ry - ly)
    mx, my = (lx + rx) / 2, (ly + ry) / 2
    xs = [x for x, _ in corners]
    ys = [y for _, y in corners]
    left, right, top = max(0.0, min(xs)), min(grey.shape[1] - 1.0, max(xs)), max(0.0, min(ys))
    bottom = min(grey.shape[0] - 1.0, my + 1.2 * distance)
    strips = (
        (left, top, mx - 1.45 * distance, bottom),
        (mx + 1.45 * distance, top, right, bottom),
        (left, top, right, min(bottom, my - 2.1 * distance)),
    )
    pixels = []
    blurred = cv2.blur(grey, (3, 3))
    for x0, y0, x1, y1 in strips:
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            pixels.append(blurred[round(y0) : round(y1), round(x0) : round(x1)].ravel())
    if not pixels:
        return 0.0, 255.0
    values = np.concatenate(pixels).astype(np.float32)
    return float(values.mean()), float(values.std())


def _scaled(box: Box, factor: float) -> Box:
    return Box(
        round(box.x * factor), round(box.y * factor), round(box.w * factor), round(box.h * factor)
    )
