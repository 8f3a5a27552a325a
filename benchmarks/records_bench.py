"""Biometric records benchmark: bytes uploaded per enrollment, today's layout against the
CBEFF/ISO one (same captures), the cost of keeping the best press instead of the last in
seconds on the scanner's wire, and how long the desk takes to build an envelope and the
service to parse one.

Captures are the scanner emulator's: per module profile (R307 256×288, R503 192×192, both
4 bpp on the wire) two fingers' last presses as the driver hands them over (8-bit PNG of the
nibbles ×17), templates of the profile's size, and the sample portrait JPEG. Prints one
JSON line.

- ``bytes_old``: the JSON body of the layout before this change (per finger base64 template,
  base64 PNG, press figures and sensor geometry; the face's base64 JPEG and gate figures);
- ``bytes_new``: the JSON body now (``wire.EnrollmentBody``: the same fields around one CBEFF
  envelope holding two ISO/IEC 19794-4 records, two vendor blocks and one 19794-5 record);
- ``best_press_extra_wire_s``: uploading the two earlier presses' images too (what keeping
  the best press would need: the module holds only its last image), per enrollment, at 57,600
  and 115,200 baud, from the profile's image size and the protocol's packet framing;
- ``build_ms`` / ``parse_ms``: median desk build and service parse of one envelope.

    python benchmarks/records_bench.py
"""

from __future__ import annotations

import base64
import dataclasses
import json
import statistics
import time

import cv2
import numpy as np

from bts_desk.biometrics import cbeff
from bts_desk.biometrics.enrollment import envelope_of
from bts_desk.domain import EnrollmentDraft, FingerCapture, FingerPosition, Officer
from bts_desk.drivers.r30x import profiles
from bts_desk.drivers.r30x.fingerimage import press_image
from bts_desk.drivers.r30x.protocol import encode_packet, pack_image, unpack_image
from bts_desk.sync import wire
from bts_desk.sync.samples import sample_draft

OFFICER = Officer("GZ1001", "李明", "5301")
PACKET = 128  # data bytes per UpImage packet (the modules' default packet size)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _captures(profile: profiles.ModuleProfile) -> EnrollmentDraft:
    draft = sample_draft(1, OFFICER, seed=5)
    fingers = []
    for finger, position in ((1, FingerPosition.RIGHT_INDEX), (2, FingerPosition.LEFT_INDEX)):
        size = (profile.width, profile.height)
        sensed = press_image(finger, 3, size=size)
        pixels, bits = unpack_image(
            pack_image(sensed, profile.bits_per_pixel), profile.width, profile.height
        )
        png = bytes(cv2.imencode(".png", pixels)[1].tobytes())  # as the capture encodes it
        rng = np.random.default_rng(finger)
        template = bytes(rng.integers(0, 256, profile.template_bytes, dtype=np.uint8).tobytes())
        fingers.append(
            FingerCapture(
                finger_no=finger,
                template=template,
                image_png=png,
                press_quality=(81.0, 77.5, 90.25),
                width=profile.width,
                height=profile.height,
                bits_per_pixel=bits,
                dpi=profile.dpi,
                template_format=profile.template_format,
                position=position,
            )
        )
    return dataclasses.replace(draft, fingers=tuple(fingers), scanner_model=profile.name)


def _old_body(draft: EnrollmentDraft) -> int:
    assert draft.face is not None
    body = {
        "borderer_id": draft.borderer_id,
        "officer_id": draft.officer.officer_id,
        "desk_id": draft.desk_id,
        "captured_at": draft.captured_at.isoformat(),
        "fingers": [
            {
                "finger_no": f.finger_no,
                "template": _b64(f.template),
                "image_png": _b64(f.image_png),
                "press_quality": list(f.press_quality),
                "width": f.width,
                "height": f.height,
                "bits_per_pixel": f.bits_per_pixel,
                "dpi": f.dpi,
                "template_format": f.template_format,
            }
            for f in draft.fingers
        ],
        "face": {"jpeg": _b64(draft.face.jpeg), "quality": draft.face.quality},
        "scanner_model": draft.scanner_model,
        "scanner_serial": draft.scanner_serial,
        "camera_name": draft.camera_name,
    }
    return len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())


def _image_wire_s(profile: profiles.ModuleProfile, baud: int) -> float:
    """Seconds of one UpImage on the serial line: data packets plus the command and reply."""
    data = profile.image_bytes
    packets = -(-data // PACKET)
    framing = len(encode_packet(0x02, bytes(PACKET))) - PACKET
    total = data + packets * framing + 12 + 12  # + UpImage command and its reply packet
    return total * 10 / baud  # 8N1: ten bits a byte


def _median_ms(action: object, repeat: int = 15) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 2)


def main() -> None:
    cv2.setNumThreads(1)
    result: dict[str, object] = {}
    for key in ("r307", "r503"):
        profile = profiles.PROFILES[key]
        draft = _captures(profile)
        body = wire.EnrollmentBody.from_draft(draft)
        new = len(body.model_dump_json().encode())
        old = _old_body(draft)
        envelope = body.biometrics.encode()
        result[key] = {
            "image": f"{profile.width}x{profile.height}@{profile.bits_per_pixel}bpp",
            "bytes_old": old,
            "bytes_new": new,
            "new_over_old": round(new / old, 3),
            "best_press_extra_wire_s": {
                str(baud): round(2 * 2 * _image_wire_s(profile, baud), 1)
                for baud in (57_600, 115_200)
            },
            "build_ms": _median_ms(lambda d=draft: envelope_of(d)),
            "parse_ms": _median_ms(lambda e=envelope: cbeff.parse(e)),
        }
    print(json.dumps({"bench": "records", **result}, ensure_ascii=False))


if __name__ == "__main__":
    main()
