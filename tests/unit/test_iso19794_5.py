"""ISO/IEC 19794-5:2005 face image records: the writer against the field tables, the round
trip, and the refusals with their codes."""

from __future__ import annotations

import dataclasses

import pytest
from biometric_fixtures import face_source, portrait_jpeg

from bts_desk.biometrics import builder, iso19794_5
from bts_desk.biometrics.errors import RecordError, RecordErrorCode

E = RecordErrorCode


def test_headers_match_the_standard_byte_by_byte() -> None:
    source = face_source()
    data = builder.face_record(source)
    jpeg = source.jpeg
    block = 20 + 2 * 8 + 12 + len(jpeg)
    expected = (
        b"FAC\x00"  # format identifier
        + b"010\x00"  # version
        + (14 + block).to_bytes(4, "big")  # length of record
        + bytes.fromhex("0001")  # one facial image
        # facial information block
        + block.to_bytes(4, "big")
        + bytes.fromhex("0002")  # two feature points
        + bytes.fromhex("00 00 00")  # gender, eye colour, hair colour: unspecified
        + bytes.fromhex("000000")  # feature mask: unspecified
        + bytes.fromhex("0000")  # expression: unspecified
        + bytes.fromhex("00 00 59")  # yaw, pitch unspecified; roll -4° → -2 + 91 = 89
        + bytes.fromhex("00 00 00")  # pose uncertainty: unspecified
        # feature points: type 1 (2D), code 12.1 / 12.2, x, y, reserved
        + bytes.fromhex("01 C1 00E1 00D8 0000")  # subject's left eye centre (225, 216)
        + bytes.fromhex("01 C2 0087 00D8 0000")  # subject's right eye centre (135, 216)
        # image information
        + bytes.fromhex("02")  # token frontal
        + bytes.fromhex("00")  # JPEG
        + bytes.fromhex("0168 01E0")  # 360 × 480
        + bytes.fromhex("01")  # 24-bit RGB
        + bytes.fromhex("06")  # video frame, digital camera
        + bytes.fromhex("0000")  # device type unspecified
        + bytes.fromhex("0000")  # quality unspecified
        + jpeg
    )
    assert data == expected


def test_round_trip_field_by_field() -> None:
    record = iso19794_5.parse(builder.face_record(face_source()))
    (face,) = record.faces
    assert (face.width, face.height) == (360, 480)
    assert face.image_type is iso19794_5.FaceImageType.TOKEN_FRONTAL
    assert face.data_type is iso19794_5.ImageDataType.JPEG
    assert face.eye(iso19794_5.LEFT_EYE_CENTRE) == (225, 216)
    assert face.eye(iso19794_5.RIGHT_EYE_CENTRE) == (135, 216)
    assert [p.label for p in face.feature_points] == ["12.1", "12.2"]
    assert face.pose == iso19794_5.Pose(None, None, -4.0)
    assert face.source_type == iso19794_5.SourceType.VIDEO_FRAME_DIGITAL
    assert face.colour_space == iso19794_5.ColourSpace.RGB24
    assert (face.gender, face.eye_colour, face.hair_colour, face.expression) == (0, 0, 0, 0)
    assert face.image == face_source().jpeg
    assert iso19794_5.parse(iso19794_5.encode(record)) == record


def test_token_geometry_of_a_360_wide_portrait() -> None:
    left, right = iso19794_5.token_eyes(360)
    assert (left.x, left.y, right.x, right.y) == (225, 216, 135, 216)
    assert 216 / 480 == 0.45  # the eye line at 0.45 of the height


def test_without_eye_centres_the_portrait_is_full_frontal_without_points() -> None:
    (face,) = iso19794_5.parse(builder.face_record(face_source(eyes=False))).faces
    assert face.image_type is iso19794_5.FaceImageType.FULL_FRONTAL
    assert face.feature_points == ()


def _valid() -> bytearray:
    return bytearray(builder.face_record(face_source()))


def _refused(data: bytes | bytearray, code: RecordErrorCode, **kwargs: int) -> None:
    with pytest.raises(RecordError) as caught:
        iso19794_5.parse(bytes(data), **kwargs)
    assert caught.value.code is code, caught.value.detail


def _patch(offset: int, value: bytes) -> bytearray:
    data = _valid()
    data[offset : offset + len(value)] = value
    return data


@pytest.mark.parametrize("cut", [0, 13, 14, 30, 40, 60, 100])
def test_truncated_records_are_refused(cut: int) -> None:
    _refused(_valid()[:cut], E.FAC_TRUNCATED)


def test_oversized_and_trailing_bytes_are_refused() -> None:
    data = _valid()
    _refused(data, E.FAC_OVERSIZED, max_bytes=len(data) - 1)
    _refused(data + b"\x00", E.FAC_LENGTH)


@pytest.mark.parametrize(
    ("offset", "value", "code"),
    [
        (0, b"FIR\x00", E.FAC_FORMAT),
        (4, b"030\x00", E.FAC_VERSION),
        (12, b"\x00\x00", E.FAC_FIELD),  # no facial image
        (12, b"\x00\x02", E.FAC_TRUNCATED),  # two announced, one present
        (18, b"\x00\x41", E.FAC_FIELD),  # 65 feature points
        (18, b"\x00\x03", E.FAC_FIELD),  # a third point read from the image information
        (20, b"\x04", E.FAC_FIELD),  # gender 4
        (21, b"\x08", E.FAC_FIELD),  # eye colour 8
        (23, b"\x10\x00\x00", E.FAC_RESERVED),  # reserved feature mask bit
        (26, b"\x00\x08", E.FAC_FIELD),  # expression 8
        (28, b"\xb6", E.FAC_FIELD),  # yaw code 182
        (34, b"\x02", E.FAC_FIELD),  # feature point type 2
        (35, b"\xc0", E.FAC_FIELD),  # feature point 12.0
        (36, b"\x01\x68", E.FAC_INCONSISTENT),  # x = 360, outside a 360-wide image
        (38, b"\x01\xe0", E.FAC_INCONSISTENT),  # y = 480
        (40, b"\x00\x01", E.FAC_RESERVED),
        (43, b"\xc1", E.FAC_INCONSISTENT),  # the same point twice
        (50, b"\x03", E.FAC_FIELD),  # face image type 3
        (51, b"\x02", E.FAC_FIELD),  # image data type 2
        (52, b"\x01\x69", E.IMAGE_DIMENSIONS),  # width 361
        (54, b"\x00\x00", E.IMAGE_TOO_LARGE),
        (56, b"\x05", E.FAC_FIELD),  # colour space 5
        (57, b"\x08", E.FAC_FIELD),  # source type 8
        (62, b"\x00", E.IMAGE_CORRUPT),  # JPEG SOI
    ],
)
def test_inconsistent_fields_are_refused_with_their_code(
    offset: int, value: bytes, code: RecordErrorCode
) -> None:
    _refused(_patch(offset, value), code)


def test_length_fields_that_disagree_are_refused() -> None:
    data = _valid()
    total = len(data)
    _refused(_patch(8, (total + 1).to_bytes(4, "big")), E.FAC_TRUNCATED)
    _refused(_patch(8, (total - 1).to_bytes(4, "big")), E.FAC_LENGTH)
    _refused(_patch(14, (20 + 16 + 12).to_bytes(4, "big")), E.FAC_LENGTH)
    _refused(_patch(14, (total - 14 + 1).to_bytes(4, "big")), E.FAC_TRUNCATED)


@pytest.mark.parametrize("damage", ["cut", "no_frame"])
def test_a_damaged_jpeg_is_refused(damage: str) -> None:
    jpeg = portrait_jpeg()
    # (A stream cut inside its entropy-coded data *and* given a new EOI decodes with a
    # warning in libjpeg, grey-filled: the header and marker checks cannot see it.)
    broken = jpeg[: len(jpeg) // 2] if damage == "cut" else jpeg[:2] + jpeg[-2:]
    face = iso19794_5.FaceImage(width=360, height=480, image=broken)
    with pytest.raises(RecordError) as caught:
        iso19794_5.encode(iso19794_5.FaceImageRecord((face,)))
    assert caught.value.code is E.IMAGE_CORRUPT


def test_the_writer_refuses_an_impossible_pose() -> None:
    with pytest.raises(RecordError) as caught:
        builder.face_record(dataclasses.replace(face_source(), roll_deg=200.0))
    assert caught.value.code is E.SOURCE_INVALID
