"""Synthetic enrollments of realistic size for the demo, the sync benchmark and the tests.

Two fingers (a template and an 8-bit greyscale PNG of a ridge-like pattern, of the sizes an
R307 module gives: ``SAMPLE_SENSOR``, recorded in each FingerCapture as a real one is) and a
~30 KB JPEG portrait stand-in: the sizes and formats a real 补录 produces, so upload and
storage figures mean something. Images are made with OpenCV (no Qt); any thread.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid as uuidlib
from dataclasses import dataclass

import cv2
import numpy as np

from bts_desk.domain import EnrollmentDraft, FaceCapture, FingerCapture, Officer


@dataclass(frozen=True)
class SampleSensor:
    """The scanner a sample enrollment pretends to come from (drivers/r30x/profiles.py R307)."""

    width: int = 256
    height: int = 288
    bits_per_pixel: int = 4
    dpi: int = 500
    template_bytes: int = 512
    template_format: str = "synochip-r30x-char"


SAMPLE_SENSOR = SampleSensor()


@functools.cache
def _finger_png(finger_no: int) -> bytes:
    sensor = SAMPLE_SENSOR
    yy, xx = np.mgrid[0 : sensor.height, 0 : sensor.width].astype(np.float32)
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
    """A char file of the sample sensor's size: header byte 0x03, then pseudo-minutiae."""
    size = SAMPLE_SENSOR.template_bytes
    body = np.random.default_rng(seed).integers(0, 256, size - 1, dtype=np.uint8)
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
            width=SAMPLE_SENSOR.width,
            height=SAMPLE_SENSOR.height,
            bits_per_pixel=SAMPLE_SENSOR.bits_per_pixel,
            dpi=SAMPLE_SENSOR.dpi,
            template_format=SAMPLE_SENSOR.template_format,
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
