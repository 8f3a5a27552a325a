"""The biometric bundle of an enrollment: fingers and face packed into one byte string.

This is the plaintext that ``store.crypto`` seals into ``enrollment.payload``. A small JSON
header (finger numbers, qualities, offsets) followed by the raw template/PNG/JPEG bytes, so
nothing is inflated by base64 at rest. Pure functions, any thread. Never log the result.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from typing import Any

from bts_desk.domain import FaceCapture, FingerCapture, FingerPosition
from bts_desk.errors import StoreError

_MAGIC = b"BTSB1"
_HEADER_LEN = struct.Struct(">I")


def pack(fingers: tuple[FingerCapture, ...], face: FaceCapture | None) -> bytes:
    blobs: list[bytes] = []
    offset = 0

    def place(data: bytes) -> list[int]:
        nonlocal offset
        blobs.append(data)
        span = [offset, len(data)]
        offset += len(data)
        return span

    header: dict[str, Any] = {
        "fingers": [
            {
                "finger_no": f.finger_no,
                "position": int(f.position),
                "press_quality": list(f.press_quality),
                "geometry": [f.width, f.height, f.bits_per_pixel, f.dpi],
                "template_format": f.template_format,
                "template": place(f.template),
                "image_png": place(f.image_png),
            }
            for f in fingers
        ],
        "face": None if face is None else {"quality": dict(face.quality), "jpeg": place(face.jpeg)},
    }
    head = json.dumps(header, separators=(",", ":")).encode()
    return _MAGIC + _HEADER_LEN.pack(len(head)) + head + b"".join(blobs)


def unpack(data: bytes) -> tuple[tuple[FingerCapture, ...], FaceCapture | None]:
    """Inverse of ``pack``. Raises StoreError on anything malformed."""
    try:
        if not data.startswith(_MAGIC):
            raise ValueError("bad magic")
        start = len(_MAGIC)
        (head_len,) = _HEADER_LEN.unpack_from(data, start)
        start += _HEADER_LEN.size
        header = json.loads(data[start : start + head_len])
        body = memoryview(data)[start + head_len :]

        def take(span: list[int]) -> bytes:
            at, size = int(span[0]), int(span[1])
            if at < 0 or size < 0 or at + size > len(body):
                raise ValueError("span outside the bundle")
            return bytes(body[at : at + size])

        fingers = tuple(_finger(f, take) for f in header["fingers"])
        raw_face = header["face"]
        face = (
            None
            if raw_face is None
            else FaceCapture(
                jpeg=take(raw_face["jpeg"]),
                quality={str(k): float(v) for k, v in raw_face["quality"].items()},
            )
        )
    except (ValueError, KeyError, TypeError, IndexError, struct.error) as exc:
        raise StoreError(
            "本地采集数据格式错误，无法读取", f"biometric bundle is malformed: {exc}"
        ) from exc
    return fingers, face


def _finger(f: dict[str, Any], take: Callable[[list[int]], bytes]) -> FingerCapture:
    """One finger of the header (bundles written before the geometry was kept have none)."""
    width, height, bits, dpi = (int(v) for v in f.get("geometry", (0, 0, 0, 0)))
    return FingerCapture(
        finger_no=int(f["finger_no"]),
        template=take(f["template"]),
        image_png=take(f["image_png"]),
        press_quality=tuple(float(q) for q in f["press_quality"]),
        width=width,
        height=height,
        bits_per_pixel=bits,
        dpi=dpi,
        template_format=str(f.get("template_format", "")),
        position=FingerPosition.from_code(int(f.get("position", 0))),
    )
