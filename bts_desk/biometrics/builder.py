"""What the desk records per enrollment: its captures turned into standard records and one
CBEFF envelope.

Inputs are plain values (``FingerSource``, ``FaceSource``) so that any scanner family or camera
feeds the same code: geometry, bit depth and resolution come from the capture, never from
constants. Which press's image is kept: the *last* press (press 3), the one the module itself
matched against the two before it. The module holds only the image of its latest press, so
keeping the best one would mean uploading every press's image from the module (UpImage of a
256×288 4-bpp sensor: 36,864 bytes + packet framing, about 7.0 s on the wire at 57,600 baud,
3.5 s at 115,200): two more images per finger, 27.8 s more per enrollment at 57,600 baud,
13.9 s at 115,200 (13.9 s / 7.0 s for a 192×192 sensor; ``benchmarks/records_bench.py``). The
kept press's own quality figure goes into the CBEFF block. Pure functions; any thread (the
desk calls them on its sync worker, never on the GUI thread).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import cv2
import numpy as np

from bts_desk.biometrics import cbeff, images, iso19794_4, iso19794_5
from bts_desk.biometrics.errors import RecordError, RecordErrorCode
from bts_desk.domain import BioException, FingerPosition, exceptions_problem

CREATOR = "bts-desk"
FINGER_QUALITY_ALGORITHM = cbeff.RegistryId("bts-desk", "module-match-quality")
FACE_QUALITY_ALGORITHM = cbeff.RegistryId("bts-desk", "face-gate-pass")

E = RecordErrorCode


@dataclass(frozen=True)
class FingerSource:
    """One enrolled finger as the desk holds it."""

    position: FingerPosition
    image_png: bytes  # 8-bit grey PNG of the kept press, as the driver delivered it
    bits_per_pixel: int  # what the module really delivered (4 on the R30x; 0: not told)
    dpi: int  # the sensor's resolution (pixels per inch)
    template: bytes  # the module's own template (vendor block)
    module_family: str  # e.g. "Synochip R30x/AS608"
    template_format: str  # e.g. "R30x char file, 512 bytes"
    quality: float | None = None  # the kept press's figure, 0..100
    device: str = ""  # model and serial of the scanner


@dataclass(frozen=True)
class FaceSource:
    """The portrait of an enrollment."""

    jpeg: bytes
    eyes: tuple[tuple[int, int], tuple[int, int]] | None = None  # subject's (left, right) eye
    token: bool = False  # the crop meets the token frontal geometry
    roll_deg: float | None = None
    device: str = ""  # the camera's name


def finger_record(source: FingerSource, *, verify: bool = True) -> bytes:
    """The ISO/IEC 19794-4:2005 record of one finger: one view, live-scan plain, 8-bit grey
    PNG made from the image at the module's real bit depth (``bits_per_pixel`` 0: read from
    the image, see ``images.bits_in_use``). When the driver's PNG already is exactly that
    image its bytes are kept as they are: a driver that tells its bit depth hands over an 8-bit
    grey PNG already spread from it (``FingerCapture``'s contract; the R30x driver's nibbles
    ×17), so nothing is decoded or re-encoded on the upload path. Only an image of unknown
    depth, or one in another PNG layout, is decoded, requantized and encoded again."""
    if not 1 <= source.dpi <= iso19794_4.MAX_RESOLUTION_PPI:
        raise RecordError(E.SOURCE_INVALID, f"scanner resolution {source.dpi} dpi")
    bits = source.bits_per_pixel
    plain = _plain_grey_png(source.image_png)
    if bits and plain:  # the driver's PNG: 8-bit grey spread from its depth, by contract
        width, height, _, _ = images.png_size(source.image_png)
        data = source.image_png
    else:
        decoded = cv2.imdecode(np.frombuffer(source.image_png, np.uint8), cv2.IMREAD_UNCHANGED)
        if decoded is None or decoded.ndim != 2 or decoded.dtype != np.uint8:
            raise RecordError(E.SOURCE_INVALID, "the finger image is not an 8-bit grey PNG")
        pixels = np.asarray(decoded, dtype=np.uint8)
        bits = bits or images.bits_in_use(pixels)
        grey = images.to_8bit_grey(pixels, bits)
        height, width = grey.shape
        same = plain and (grey is pixels or np.array_equal(grey, pixels))
        data = source.image_png if same else images.encode_png(grey)
    view = iso19794_4.FingerView(position=source.position, width=width, height=height, image=data)
    record = iso19794_4.FingerImageRecord(
        views=(view,),
        resolution=source.dpi,
        pixel_depth=8,
        compression=iso19794_4.Compression.PNG,
        acquisition_level=iso19794_4.acquisition_level(source.dpi, 2**bits),
    )
    return iso19794_4.encode(record, verify=verify)


def _plain_grey_png(data: bytes) -> bool:
    """An 8-bit grey, non-interlaced PNG (what the record's compression 5 needs)."""
    return len(data) > 29 and data[12:16] == b"IHDR" and data[24:29] == b"\x08\x00\x00\x00\x00"


def face_record(source: FaceSource, *, verify: bool = True) -> bytes:
    """The ISO/IEC 19794-5:2005 record of the portrait: JPEG, RGB, a digital video frame;
    token frontal with the eye centres as feature points when the crop was placed from the
    eyes, full frontal (no feature points) when the eyes are not known."""
    width, height, components = images.jpeg_size(source.jpeg)
    points: tuple[iso19794_5.FeaturePoint, ...] = ()
    if source.eyes is not None:
        (lx, ly), (rx, ry) = source.eyes
        points = (
            iso19794_5.FeaturePoint(iso19794_5.LEFT_EYE_CENTRE, lx, ly),
            iso19794_5.FeaturePoint(iso19794_5.RIGHT_EYE_CENTRE, rx, ry),
        )
    token = source.token and source.eyes is not None
    face = iso19794_5.FaceImage(
        width=width,
        height=height,
        image=source.jpeg,
        image_type=(
            iso19794_5.FaceImageType.TOKEN_FRONTAL
            if token
            else iso19794_5.FaceImageType.FULL_FRONTAL
        ),
        feature_points=points,
        pose=iso19794_5.Pose(roll=source.roll_deg),
        source_type=iso19794_5.SourceType.VIDEO_FRAME_DIGITAL,
        colour_space=(
            iso19794_5.ColourSpace.GREY8 if components == 1 else iso19794_5.ColourSpace.RGB24
        ),
    )
    return iso19794_5.encode(iso19794_5.FaceImageRecord((face,)), verify=verify)


def _device(text: str) -> cbeff.RegistryId | None:
    if not text:
        return None
    name, _, serial = text.partition("#")
    return cbeff.RegistryId(name.strip()[: cbeff.MAX_TEXT] or "unknown", serial.strip() or "-")


def envelope(
    uuid: str,
    created: dt.datetime,
    fingers: tuple[FingerSource, ...],
    face: FaceSource | None,
    *,
    exceptions: tuple[BioException, ...] = (),
    verify: bool = True,
) -> bytes:
    """The enrollment's CBEFF envelope (XML): per finger its ISO record and its vendor block,
    then the face, then an exception entry per biometric that could not be captured (fingers
    by position, the face last). Positions must differ (the 补录 dialog already refuses the
    same finger). ``verify``: the whole envelope is parsed back before it is returned (once:
    the records inside are not also checked one by one)."""
    if len({f.position for f in fingers}) != len(fingers):
        raise RecordError(E.SOURCE_INVALID, "two fingers with the same position")
    problem = exceptions_problem({f.position for f in fingers}, face is not None, exceptions)
    if problem is not None:
        raise RecordError(E.SOURCE_INVALID, problem)
    blocks: list[cbeff.DataBlock] = []
    for finger in fingers:
        quality = (
            None
            if finger.quality is None
            else cbeff.Quality(FINGER_QUALITY_ALGORITHM, max(0, min(100, round(finger.quality))))
        )
        device = _device(finger.device)
        blocks.append(
            cbeff.DataBlock(
                kind=cbeff.BlockKind.FINGER_IMAGE,
                data=finger_record(finger, verify=False),
                created=created,
                position=finger.position,
                quality=quality,
                capture_device=device,
            )
        )
        blocks.append(
            cbeff.DataBlock(
                kind=cbeff.BlockKind.VENDOR_TEMPLATE,
                data=finger.template,
                created=created,
                position=finger.position,
                capture_device=device,
                product=cbeff.RegistryId(finger.module_family, finger.template_format),
            )
        )
    if face is not None:
        blocks.append(
            cbeff.DataBlock(
                kind=cbeff.BlockKind.FACE_IMAGE,
                data=face_record(face, verify=False),
                created=created,
                quality=cbeff.Quality(FACE_QUALITY_ALGORITHM, 100),
                capture_device=_device(face.device),
            )
        )
    ordered = sorted(exceptions, key=lambda x: (x.position is None, int(x.position or 0)))
    blocks.extend(cbeff.exception_block(x, created) for x in ordered)
    return cbeff.encode(cbeff.Envelope(uuid, created, CREATOR, tuple(blocks)), verify=verify)
