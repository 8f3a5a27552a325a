"""Checks that an uploaded fingerprint PNG and face JPEG really are what they claim.

The header is read first (signature, dimensions within ``wire.MAX_IMAGE_SIDE``) so that a
small file claiming a huge picture is refused before anything is allocated; then the image
is decoded in full with OpenCV, which catches corrupt or truncated data. Pure functions, any
thread (OpenCV releases the GIL while decoding).
"""

from __future__ import annotations

import struct

import cv2
import numpy as np

from bts_desk.sync import wire

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _bad(name: str, message: str, detail: str) -> wire.WireError:
    return wire.WireError(wire.E_BAD_IMAGE, message, f"{name}: {detail}")


def _check_side(name: str, width: int, height: int) -> None:
    if not (0 < width <= wire.MAX_IMAGE_SIDE and 0 < height <= wire.MAX_IMAGE_SIDE):
        raise _bad(name, "图像尺寸不合理", f"{width}x{height} pixels")


def _decode(name: str, data: bytes, what: str, flags: int) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    if image is None or image.size == 0:
        raise _bad(name, f"{what}无法解码", "decoder refused the data")
    return image


def check_png(data: bytes, name: str) -> None:
    """An 8-bit PNG (the fingerprint image) that decodes completely."""
    if len(data) < 33 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise _bad(name, "指纹图像不是 PNG 格式", "no PNG signature/IHDR")
    width, height, depth = struct.unpack(">IIB", data[16:25])
    _check_side(name, width, height)
    if depth != 8:
        raise _bad(name, "指纹图像应为 8 位灰度图", f"bit depth {depth}")
    if not data.endswith(b"IEND\xaeB`\x82"):
        raise _bad(name, "指纹图像数据不完整", "no IEND chunk at the end")
    _decode(name, data, "指纹图像", cv2.IMREAD_GRAYSCALE)


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the first SOF marker of a JPEG, or None if there is none."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if marker in _JPEG_SOF and pos + 9 <= len(data):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    return None


def check_jpeg(data: bytes, name: str) -> None:
    """A complete baseline/progressive JPEG (the face photo) that decodes."""
    if not data.startswith(b"\xff\xd8\xff"):
        raise _bad(name, "人脸照片不是 JPEG 格式", "no JPEG SOI marker")
    size = jpeg_size(data)
    if size is None:
        raise _bad(name, "人脸照片数据不完整", "no SOF marker")
    _check_side(name, *size)
    if not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise _bad(name, "人脸照片数据不完整", "no EOI marker at the end")
    # At 1/8 scale: the whole entropy-coded stream is still decoded (what catches bad data),
    # only the inverse DCT and colour conversion are cheaper.
    _decode(name, data, "人脸照片", cv2.IMREAD_REDUCED_GRAYSCALE_8)


def check_images(enrollment: wire.EnrollmentBody) -> None:
    """Every image of an upload; WireError(bad_image, 422) for the first bad one."""
    for index, finger in enumerate(enrollment.fingers):
        check_png(finger.image_png, f"fingers[{index}].image_png")
    if enrollment.face is not None:
        check_jpeg(enrollment.face.jpeg, "face.jpeg")
