"""Synthetic enrollments of realistic size for the demo, the sync benchmark and the tests.

Two fingers (a 512-byte R30x char file each and an 8-bit 256×288 greyscale PNG of a ridge-like
pattern) and a ~30 KB JPEG portrait stand-in: the same sizes and formats a real 补录 produces,
so upload and storage figures mean something. Images are made with OpenCV (no Qt); any thread.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid as uuidlib

import cv2
import numpy as np

from bts_desk.domain import EnrollmentDraft, FaceCapture, FingerCapture, Officer

TEMPLATE_BYTES = 512


@functools.cache
def _finger_png(finger_no: int) -> bytes:
    yy, xx = np.mgrid[0:288, 0:256].astype(np.float32)
    cx, cy = 128 + 9 * finger_no, 150 - 7 * finger_no
    radius = np.hypot(xx - cx, (yy - cy) * 0.8)
    ridges = 127 + 110 * np.sin(radius / (2.2 + 0.3 * finger_no))
    noise = np.random.default_rng(finger_no).normal(0, 5, ridges.shape)
    image = np.clip(ridges + noise, 0, 255).astype(np.uint8)
    ok, png = cv2.imencode(".png", image)
    assert ok
    return bytes(png.tobytes())


@functools.cache
def _face_jpeg() -> bytes:
    rng = np.random.default_rng(7)
    image = np.full((480, 360, 3), (200, 210, 220), np.uint8)
    cv2.ellipse(image, (180, 220), (110, 150), 0, 0, 360, (150, 170, 205), -1)
    noisy = cv2.add(image, rng.integers(0, 36, image.shape, dtype=np.uint8))
    ok, jpeg = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return bytes(jpeg.tobytes())


def sample_template(seed: int) -> bytes:
    """A 512-byte char file: header byte 0x03 as the R30x writes it, then pseudo-minutiae."""
    body = np.random.default_rng(seed).integers(0, 256, TEMPLATE_BYTES - 1, dtype=np.uint8)
    return b"\x03" + bytes(body.tobytes())


def sample_draft(
    borderer_id: int,
    officer: Officer,
    *,
    desk_id: str = "desk-test",
    with_face: bool = True,
    with_fingers: bool = True,
    seed: int | None = None,
    captured_at: dt.datetime | None = None,
) -> EnrollmentDraft:
    """A complete 补录 of ``borderer_id`` by ``officer`` with realistic biometric bytes."""
    made = uuidlib.uuid4()
    seed = made.int & 0xFFFFFFFF if seed is None else seed
    fingers = tuple(
        FingerCapture(
            finger_no=n,
            template=sample_template(seed * 2 + n),
            image_png=_finger_png(n),
            press_quality=(81.0 + n, 77.5, 90.25),
        )
        for n in ((1, 2) if with_fingers else ())
    )
    face = (
        FaceCapture(jpeg=_face_jpeg(), quality={"sharpness": 0.82, "brightness": 0.61})
        if with_face
        else None
    )
    return EnrollmentDraft(
        uuid=str(made),
        borderer_id=borderer_id,
        officer=officer,
        desk_id=desk_id,
        captured_at=captured_at or dt.datetime.now(dt.UTC),
        fingers=fingers,
        face=face,
        scanner_model="R307",
        scanner_serial="EMU-0001",
        camera_name="demo camera",
    )
