"""ISO/IEC 19794-5:2005 face image records: writer and strict parser.

Layout (big-endian), from the standard's clauses 5.4-5.8 as implemented by JMRTD
(``org.jmrtd.lds.iso19794.FaceInfo``/``FaceImageInfo``, the ICAO LDS DG2 reader) and the code
tables of NIST's BIOMDI (``biomdi.h``)::

    facial record header (14 bytes)
      0  4  format identifier   "FAC\\0"
      4  4  version number      "010\\0"
      8  4  length of record    whole record
     12  2  number of facial images
    per facial image: facial information block (20 bytes)
      0  4  facial record data length (this block + feature points + image information + data)
      4  2  number of feature points
      6  1  gender              0 unspecified, 1 male, 2 female, 3 unknown
      7  1  eye colour          0 unspecified … (Table 4), 0xFF unknown
      8  1  hair colour         0 unspecified … (Table 5), 0xFF unknown
      9  3  feature mask        bit 0 "features specified", glasses, moustache, …
     12  2  expression          0 unspecified, 1 neutral … 7; 0x8000.. vendor
     14  3  pose angle          yaw, pitch, roll: 0 unspecified, else (degrees / 2) + 91 ∈ 1..181
     17  3  pose angle uncertainty   0 unspecified, else 1..181
    feature point (8 bytes each)
      0  1  type                1 = 2D MPEG-4 feature point
      1  1  code                major (high nibble) . minor (low nibble), e.g. 12.1 → 0xC1
      2  2  horizontal position pixels from the left
      4  2  vertical position   pixels from the top
      6  2  reserved            0
    image information (12 bytes), then the image data
      0  1  face image type     0 basic, 1 full frontal, 2 token frontal
      1  1  image data type     0 JPEG, 1 JPEG 2000
      2  2  width               3  … height at 4
      6  1  image colour space  0 unspecified, 1 RGB24, 2 YUV422, 3 grey8, 4 other, 128.. vendor
      7  1  source type         0 unspecified … 2 digital still camera … 6 video frame digital
      8  2  device type         vendor; 0 unspecified
     10  2  quality             0 unspecified

The eye centres are the feature points 12.1 (the subject's left eye) and 12.2 (right eye), the
eye-centre points ISO/IEC 19794-5 adds to the MPEG-4 (ISO/IEC 14496-2) set; the token frontal
geometry places them from the image width (``token_eyes``).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from bts_desk.biometrics import images
from bts_desk.biometrics.errors import RecordError, RecordErrorCode

FORMAT_ID = b"FAC\x00"
VERSION = b"010\x00"
HEADER_BYTES = 14
INFO_BYTES = 20
POINT_BYTES = 8
IMAGE_INFO_BYTES = 12
MAX_RECORD_BYTES = 8 * 1024 * 1024
MAX_FACES = 4
MAX_POINTS = 64
FEATURE_POINT_2D = 1
LEFT_EYE_CENTRE = 0xC1  # feature point 12.1
RIGHT_EYE_CENTRE = 0xC2  # feature point 12.2

_HEADER = struct.Struct(">4s4sIH")
_INFO = struct.Struct(">IHBBB3sH3s3s")
_POINT = struct.Struct(">BBHHH")
_IMAGE_INFO = struct.Struct(">BBHHBBHH")

E = RecordErrorCode


class FaceImageType(enum.IntEnum):
    BASIC = 0
    FULL_FRONTAL = 1
    TOKEN_FRONTAL = 2


class ImageDataType(enum.IntEnum):
    JPEG = 0
    JPEG2000 = 1


class SourceType(enum.IntEnum):
    UNSPECIFIED = 0
    STATIC_PHOTO_UNKNOWN = 1
    STATIC_PHOTO_DIGITAL_CAMERA = 2
    STATIC_PHOTO_SCANNER = 3
    VIDEO_FRAME_UNKNOWN = 4
    VIDEO_FRAME_ANALOGUE = 5
    VIDEO_FRAME_DIGITAL = 6
    UNKNOWN = 7


class ColourSpace(enum.IntEnum):
    UNSPECIFIED = 0
    RGB24 = 1
    YUV422 = 2
    GREY8 = 3
    OTHER = 4


_GENDERS = range(4)
_EYE_COLOURS = {*range(8), 0xFF}
_HAIR_COLOURS = {*range(10), 0xFF}
_FEATURE_MASK_DEFINED = 0x000FFF


@dataclass(frozen=True)
class FeaturePoint:
    code: int  # major << 4 | minor
    x: int
    y: int
    kind: int = FEATURE_POINT_2D

    @property
    def label(self) -> str:
        return f"{self.code >> 4}.{self.code & 0x0F}"


@dataclass(frozen=True)
class Pose:
    """Pose angles in degrees (None: unspecified), as the encoded 1..181 steps of 2°."""

    yaw: float | None = None
    pitch: float | None = None
    roll: float | None = None

    def encode(self) -> bytes:
        return bytes(_angle_code(a) for a in (self.yaw, self.pitch, self.roll))

    @staticmethod
    def decode(raw: bytes) -> Pose:
        yaw, pitch, roll = (None if b == 0 else (b - 91) * 2.0 for b in raw)
        return Pose(yaw, pitch, roll)


def _angle_code(angle: float | None) -> int:
    if angle is None:
        return 0
    if not -180.0 <= angle <= 180.0:
        raise RecordError(E.SOURCE_INVALID, f"pose angle {angle}")
    return round(angle / 2.0) + 91


@dataclass(frozen=True)
class FaceImage:
    """One facial image with its information block."""

    width: int
    height: int
    image: bytes
    image_type: FaceImageType = FaceImageType.FULL_FRONTAL
    data_type: ImageDataType = ImageDataType.JPEG
    feature_points: tuple[FeaturePoint, ...] = ()
    pose: Pose = Pose()
    source_type: int = SourceType.VIDEO_FRAME_DIGITAL
    colour_space: int = ColourSpace.RGB24
    device_type: int = 0
    quality: int = 0
    gender: int = 0
    eye_colour: int = 0
    hair_colour: int = 0
    feature_mask: int = 0
    expression: int = 0
    pose_uncertainty: bytes = b"\x00\x00\x00"

    def eye(self, code: int) -> tuple[int, int] | None:
        for point in self.feature_points:
            if point.code == code:
                return point.x, point.y
        return None


@dataclass(frozen=True)
class FaceImageRecord:
    faces: tuple[FaceImage, ...]


def token_eyes(width: int) -> tuple[FeaturePoint, FeaturePoint]:
    """Eye centres of a token frontal image of this width (ISO/IEC 19794-5:2005, 8.3): eye
    line at 0.6·W from the top, eyes 0.25·W apart about the vertical centre line. The
    subject's left eye is on the image's right."""
    y = round(0.6 * width)
    return (
        FeaturePoint(LEFT_EYE_CENTRE, round(0.625 * width), y),
        FeaturePoint(RIGHT_EYE_CENTRE, round(0.375 * width), y),
    )


# --- writing ---------------------------------------------------------------------------------


def encode(record: FaceImageRecord, *, verify: bool = True) -> bytes:
    """The record's bytes; ``verify`` as for ``iso19794_4.encode``."""
    if not 1 <= len(record.faces) <= MAX_FACES:
        raise RecordError(E.SOURCE_INVALID, f"{len(record.faces)} facial images")
    blocks = [_encode_face(face) for face in record.faces]
    length = HEADER_BYTES + sum(len(b) for b in blocks)
    out = _HEADER.pack(FORMAT_ID, VERSION, length, len(blocks)) + b"".join(blocks)
    if verify:
        parse(out)
    return out


def _encode_face(face: FaceImage) -> bytes:
    points = b"".join(_POINT.pack(p.kind, p.code, p.x, p.y, 0) for p in face.feature_points)
    length = INFO_BYTES + len(points) + IMAGE_INFO_BYTES + len(face.image)
    info = _INFO.pack(
        length,
        len(face.feature_points),
        face.gender,
        face.eye_colour,
        face.hair_colour,
        face.feature_mask.to_bytes(3, "big"),
        face.expression,
        face.pose.encode(),
        face.pose_uncertainty,
    )
    image_info = _IMAGE_INFO.pack(
        face.image_type,
        face.data_type,
        face.width,
        face.height,
        face.colour_space,
        face.source_type,
        face.device_type,
        face.quality,
    )
    return info + points + image_info + face.image


# --- parsing ---------------------------------------------------------------------------------


def parse(data: bytes, *, max_bytes: int = MAX_RECORD_BYTES) -> FaceImageRecord:
    """The record in ``data``, every field checked; ``RecordError`` (``fac.*``/``image.*``)."""
    if len(data) > max_bytes:
        raise RecordError(E.FAC_OVERSIZED, f"{len(data)} bytes > {max_bytes}")
    if len(data) < HEADER_BYTES:
        raise RecordError(E.FAC_TRUNCATED, f"{len(data)} bytes, the header needs 14")
    fmt, version, length, count = _HEADER.unpack(data[:HEADER_BYTES])
    if fmt != FORMAT_ID:
        raise RecordError(E.FAC_FORMAT, f"format identifier {fmt!r}")
    if version != VERSION:
        raise RecordError(E.FAC_VERSION, f"version {version!r}, only 010 is read")
    if length > len(data):
        raise RecordError(E.FAC_TRUNCATED, f"record length {length}, {len(data)} bytes present")
    if length != len(data):
        raise RecordError(E.FAC_LENGTH, f"record length {length}, {len(data)} bytes given")
    if not 1 <= count <= MAX_FACES:
        raise RecordError(E.FAC_FIELD, f"number of facial images {count}, 1..{MAX_FACES}")
    faces = []
    pos = HEADER_BYTES
    for index in range(count):
        face, pos = _parse_face(data, pos, index)
        faces.append(face)
    if pos != len(data):
        raise RecordError(E.FAC_LENGTH, f"{len(data) - pos} bytes after the last facial image")
    return FaceImageRecord(tuple(faces))


def _parse_face(data: bytes, pos: int, index: int) -> tuple[FaceImage, int]:
    where = f"facial image {index + 1} at offset {pos}"
    if pos + INFO_BYTES > len(data):
        raise RecordError(E.FAC_TRUNCATED, f"{where}: information block cut short")
    (length, n_points, gender, eye, hair, mask, expression, pose, uncertainty) = _INFO.unpack(
        data[pos : pos + INFO_BYTES]
    )
    if n_points > MAX_POINTS:
        raise RecordError(E.FAC_FIELD, f"{where}: {n_points} feature points > {MAX_POINTS}")
    fixed = INFO_BYTES + n_points * POINT_BYTES + IMAGE_INFO_BYTES
    if length <= fixed:
        raise RecordError(E.FAC_LENGTH, f"{where}: length {length} leaves no image data")
    if pos + length > len(data):
        raise RecordError(E.FAC_TRUNCATED, f"{where}: length {length} runs past the record")
    _check_information(
        where,
        gender=gender,
        eye=eye,
        hair=hair,
        mask=int.from_bytes(mask, "big"),
        expression=expression,
    )
    if any(not (b == 0 or 1 <= b <= 181) for b in pose + uncertainty):
        raise RecordError(E.FAC_FIELD, f"{where}: pose angle or uncertainty outside 0..181")
    points = []
    at = pos + INFO_BYTES
    for _ in range(n_points):
        kind, code, x, y, reserved = _POINT.unpack(data[at : at + POINT_BYTES])
        if kind != FEATURE_POINT_2D or not (1 <= code >> 4 <= 15 and 1 <= code & 0x0F <= 15):
            raise RecordError(E.FAC_FIELD, f"{where}: feature point type {kind} code {code:#x}")
        if reserved != 0:
            raise RecordError(E.FAC_RESERVED, f"{where}: feature point reserved bytes")
        points.append(FeaturePoint(code, x, y, kind))
        at += POINT_BYTES
    image_type, data_type, width, height, colour, source, device, quality = _IMAGE_INFO.unpack(
        data[at : at + IMAGE_INFO_BYTES]
    )
    _check_image_information(where, image_type, data_type, colour, source)
    images.check_bounds(width, height, where)
    if any(p.x >= width or p.y >= height for p in points):
        raise RecordError(E.FAC_INCONSISTENT, f"{where}: a feature point lies outside the image")
    if len({p.code for p in points}) != len(points):
        raise RecordError(E.FAC_INCONSISTENT, f"{where}: a feature point code appears twice")
    image = data[at + IMAGE_INFO_BYTES : pos + length]
    _check_image(image, ImageDataType(data_type), width, height, where)
    face = FaceImage(
        width=width,
        height=height,
        image=image,
        image_type=FaceImageType(image_type),
        data_type=ImageDataType(data_type),
        feature_points=tuple(points),
        pose=Pose.decode(pose),
        source_type=source,
        colour_space=colour,
        device_type=device,
        quality=quality,
        gender=gender,
        eye_colour=eye,
        hair_colour=hair,
        feature_mask=int.from_bytes(mask, "big"),
        expression=expression,
        pose_uncertainty=uncertainty,
    )
    return face, pos + length


def _check_information(
    where: str, *, gender: int, eye: int, hair: int, mask: int, expression: int
) -> None:
    if gender not in _GENDERS or eye not in _EYE_COLOURS or hair not in _HAIR_COLOURS:
        raise RecordError(E.FAC_FIELD, f"{where}: gender {gender}, eye {eye}, hair {hair}")
    if mask & ~_FEATURE_MASK_DEFINED:
        raise RecordError(E.FAC_RESERVED, f"{where}: reserved feature mask bits {mask:#08x}")
    if not (expression <= 7 or expression >= 0x8000):
        raise RecordError(E.FAC_FIELD, f"{where}: expression {expression}")


def _check_image_information(
    where: str, image_type: int, data_type: int, colour: int, source: int
) -> None:
    if image_type not in {int(t) for t in FaceImageType}:
        raise RecordError(E.FAC_FIELD, f"{where}: face image type {image_type}")
    if data_type not in {int(t) for t in ImageDataType}:
        raise RecordError(E.FAC_FIELD, f"{where}: image data type {data_type}")
    if not (colour <= ColourSpace.OTHER or colour >= 128):
        raise RecordError(E.FAC_FIELD, f"{where}: colour space {colour}")
    if not (source <= SourceType.UNKNOWN or source >= 128):
        raise RecordError(E.FAC_FIELD, f"{where}: source type {source}")


def _check_image(
    image: bytes, data_type: ImageDataType, width: int, height: int, where: str
) -> None:
    if data_type is ImageDataType.JPEG:
        w, h, _ = images.jpeg_size(image)
    else:
        w, h, _ = images.j2k_size(image)
    if (w, h) != (width, height):
        raise RecordError(
            E.IMAGE_DIMENSIONS, f"{where}: image is {w}x{h}, header says {width}x{height}"
        )
    images.decode(image, (width, height), where, reduced=data_type is ImageDataType.JPEG)
