"""Inputs of the biometric record tests: finger images as the scanner emulator's modules
deliver them (256×288 R30x at 4 bpp, 192×192 R503 at 508 dpi), a portrait JPEG, and a
finger record assembled byte by byte from the ISO/IEC 19794-4:2005 field tables (not by the
writer under test)."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from bts_desk.biometrics.builder import FaceSource, FingerSource
from bts_desk.domain import FingerPosition
from bts_desk.drivers.r30x.fingerimage import press_image
from bts_desk.drivers.r30x.protocol import pack_image, unpack_image

U8 = npt.NDArray[np.uint8]
R30X_FAMILY = "Synochip R30x/AS608"
R30X_TEMPLATE = "R30x char file (512 bytes)"


def r30x_image(finger: int) -> U8:
    """What the R30x driver hands over: the 4-bpp nibbles of press 3, ×17 to 8 bits."""
    return unpack_image(pack_image(press_image(finger, 3)), 256, 288)[0]


def r503_image(finger: int) -> U8:
    """A 192×192 sensor's image (the R503's array) cut from the same synthetic finger."""
    return press_image(finger, 3, size=(192, 192))


def png(pixels: U8) -> bytes:
    ok, data = cv2.imencode(".png", pixels)
    assert ok
    return bytes(data.tobytes())


def portrait_jpeg(width: int = 360, height: int = 480) -> bytes:
    image = np.full((height, width, 3), (190, 200, 210), np.uint8)
    cv2.ellipse(
        image, (width // 2, height // 2), (width // 3, height // 3), 0, 0, 360, (150, 170, 200), -1
    )
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return bytes(data.tobytes())


def finger_source(
    position: FingerPosition = FingerPosition.RIGHT_INDEX,
    *,
    finger: int = 1,
    profile: str = "r30x",
) -> FingerSource:
    if profile == "r30x":
        image, bpp, dpi = r30x_image(finger), 4, 500
    else:
        image, bpp, dpi = r503_image(finger), 8, 508
    return FingerSource(
        position=position,
        image_png=png(image),
        bits_per_pixel=bpp,
        dpi=dpi,
        template=bytes((finger * 37 + i) % 256 for i in range(512)),
        module_family=R30X_FAMILY if profile == "r30x" else "Synochip R503",
        template_format=R30X_TEMPLATE if profile == "r30x" else "R503 char file (1536 bytes)",
        quality=88.4,
        device="R307#0x0000ABCD",
    )


def face_source(*, eyes: bool = True) -> FaceSource:
    return FaceSource(
        jpeg=portrait_jpeg(),
        eyes=((225, 216), (135, 216)) if eyes else None,
        token=eyes,
        roll_deg=-4.0,
        device="demo camera",
    )


def hand_made_finger_record(image_png: bytes, *, width: int, height: int) -> bytes:
    """An ISO/IEC 19794-4:2005 record of one right index finger at 500 ppi, written field by
    field from the standard's tables."""
    finger_length = 14 + len(image_png)
    record_length = 32 + finger_length
    general = (
        b"FIR\x00"  # format identifier
        + b"010\x00"  # version
        + record_length.to_bytes(6, "big")  # record length
        + bytes.fromhex("0000")  # capture device ID: unreported
        + bytes.fromhex("0014")  # image acquisition level 20
        + bytes.fromhex("01")  # one finger
        + bytes.fromhex("01")  # scale units: pixels per inch
        + bytes.fromhex("01F4 01F4")  # scan resolution 500 × 500
        + bytes.fromhex("01F4 01F4")  # image resolution 500 × 500
        + bytes.fromhex("08")  # 8 bits per pixel
        + bytes.fromhex("05")  # compression: PNG
        + bytes.fromhex("0000")  # reserved
    )
    finger = (
        finger_length.to_bytes(4, "big")  # finger record length
        + bytes.fromhex("02")  # position: right index finger
        + bytes.fromhex("01")  # count of views
        + bytes.fromhex("01")  # view number
        + bytes.fromhex("FE")  # quality 254: undefined
        + bytes.fromhex("00")  # impression: live-scan plain
        + width.to_bytes(2, "big")  # horizontal line length
        + height.to_bytes(2, "big")  # vertical line length
        + bytes.fromhex("00")  # reserved
    )
    assert len(general) == 32 and len(finger) == 14
    return general + finger + image_png
