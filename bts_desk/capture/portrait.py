"""The ISO/IEC 19794-5 token portrait: a crop placed from the eye centres (Qt-free, pure).

Geometry of the Token Frontal face image, ISO/IEC 19794-5:2005 (Biometric data interchange
formats — Part 5: Face image data), clause 8.3 "Token Face Image Type", table of geometric
requirements, with W the image width:

- image width / height ``ImageRatio`` = 0.75 (so H = W / 0.75 = 4/3·W);
- the midpoint M of the two eye centres at ``Mx`` = 0.5·W (centred) and ``My`` = 0.6·W from the
  top, i.e. the eye line at 0.6·W / H = 0.45 of the height;
- the distance between the eye centres ``ED`` = 0.25·W, so the first eye (the person's right eye,
  on the image's left) is at x = 0.375·W and the second at x = 0.625·W;
- W at least 240 px (ED at least 60 px).

The transform is a similarity (scale + rotation + shift) that puts the two measured eye centres
exactly there, so the eyes come out level. It never invents pixels: ``token_transform`` reports
whether the whole output rectangle maps inside the source frame, and ``token_portrait`` refuses
to cut a portrait that does not (the gate then asks the person to move to the middle instead of
filling the missing part by repeating the frame's edge).

The output is ``TOKEN_SIZE`` (360×480, ED = 90 px) when the source has at least that many pixels
between the eyes, else the source's own resolution (never upscaled).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from cv2.typing import MatLike

Image = MatLike
Point = tuple[float, float]

TOKEN_RATIO = 0.75  # W / H
TOKEN_EYE_Y = 0.6  # × W from the top
TOKEN_EYE_DISTANCE = 0.25  # × W
TOKEN_EYE_X = (0.5 - TOKEN_EYE_DISTANCE / 2, 0.5 + TOKEN_EYE_DISTANCE / 2)  # × W
TOKEN_MIN_WIDTH = 240
TOKEN_SIZE = (360, 480)  # (W, H) of the saved portrait: ED = 90 px


def token_size_for(eye_distance: float) -> tuple[int, int]:
    """(W, H) of the portrait for eyes ``eye_distance`` px apart in the source: ``TOKEN_SIZE``
    or smaller (never upscaled), W a multiple of 3 so H = 4/3·W is whole."""
    width = min(TOKEN_SIZE[0], 3 * math.floor(eye_distance / TOKEN_EYE_DISTANCE / 3))
    return width, round(width / TOKEN_RATIO)


def token_eyes(size: tuple[int, int]) -> tuple[Point, Point]:
    """Where the token geometry puts the eye centres in a portrait of ``size`` (W, H)."""
    width = size[0]
    y = TOKEN_EYE_Y * width
    return (TOKEN_EYE_X[0] * width, y), (TOKEN_EYE_X[1] * width, y)


@dataclass(frozen=True)
class TokenPlacement:
    """The similarity transform from the source frame to the portrait, and whether it fits."""

    matrix: np.ndarray  # 2×3, source → portrait
    size: tuple[int, int]  # (W, H) of the portrait
    corners: tuple[Point, ...]  # the portrait's corners in source pixels
    fits: bool  # every corner inside the source frame: no pixel would be invented
    roll_deg: float  # the eye line's angle in the source (positive: clockwise on screen)

    def margins(self, frame_size: tuple[int, int]) -> tuple[float, float, float, float]:
        """How far (px) the portrait's corners stay inside the frame: left, top, right,
        bottom; negative where it sticks out."""
        width, height = frame_size
        xs = [x for x, _ in self.corners]
        ys = [y for _, y in self.corners]
        return min(xs), min(ys), width - 1 - max(xs), height - 1 - max(ys)


def token_transform(
    eyes: tuple[Point, Point], frame_size: tuple[int, int], size: tuple[int, int] | None = None
) -> TokenPlacement:
    """The placement of the token portrait for eye centres ``eyes`` (image-left eye first) in a
    frame of ``frame_size`` (width, height)."""
    (lx, ly), (rx, ry) = eyes
    distance = math.hypot(rx - lx, ry - ly)
    out = size or token_size_for(distance)
    (tlx, tly), (trx, _) = token_eyes(out)
    angle = math.atan2(ry - ly, rx - lx)
    scale = (trx - tlx) / distance
    cos, sin = scale * math.cos(-angle), scale * math.sin(-angle)
    # rotate by -angle about the source's left eye, scale, then move it onto the token's.
    matrix = np.array(
        [[cos, -sin, tlx - (cos * lx - sin * ly)], [sin, cos, tly - (sin * lx + cos * ly)]],
        dtype=np.float64,
    )
    inverse = cv2.invertAffineTransform(matrix)
    width, height = out
    corners = tuple(
        (float(inverse[0] @ (x, y, 1.0)), float(inverse[1] @ (x, y, 1.0)))
        for x, y in ((0, 0), (width - 1, 0), (0, height - 1), (width - 1, height - 1))
    )
    fw, fh = frame_size
    fits = all(0 <= x <= fw - 1 and 0 <= y <= fh - 1 for x, y in corners)
    return TokenPlacement(matrix, out, corners, fits, math.degrees(angle))


def token_portrait(image: Image, eyes: tuple[Point, Point]) -> tuple[Image, tuple[Point, Point]]:
    """Cut the token portrait out of ``image``; returns it and its eye centres (which are the
    token geometry's, up to rounding). ValueError if the portrait does not fit in the frame.

    Downscaling is done by ``cv2.resize`` with INTER_AREA on the bounding region first (a
    warp alone would alias fine detail such as hair), then the remaining rotation by a warp
    whose every output pixel has a source pixel (checked by the corners)."""
    height, width = image.shape[:2]
    placement = token_transform(eyes, (width, height))
    if not placement.fits:
        raise ValueError(f"token portrait sticks out of the frame: corners {placement.corners}")
    xs = [x for x, _ in placement.corners]
    ys = [y for _, y in placement.corners]
    x0, y0 = max(0, math.floor(min(xs))), max(0, math.floor(min(ys)))
    x1, y1 = min(width, math.ceil(max(xs)) + 1), min(height, math.ceil(max(ys)) + 1)
    region = image[y0:y1, x0:x1]
    matrix = placement.matrix.copy()
    matrix[:, 2] += matrix[:, :2] @ (x0, y0)  # the same transform, from region pixels
    scale = math.hypot(matrix[0, 0], matrix[1, 0])
    if scale < 0.95:
        small = cv2.resize(region, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        sx, sy = small.shape[1] / region.shape[1], small.shape[0] / region.shape[0]
        matrix = matrix @ np.array([[1 / sx, 0, 0], [0, 1 / sy, 0], [0, 0, 1]])
        region = small
    portrait = cv2.warpAffine(
        region,
        matrix,
        placement.size,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,  # unreachable: the corners were checked to be inside
    )
    return np.asarray(portrait, np.uint8), token_eyes(placement.size)
