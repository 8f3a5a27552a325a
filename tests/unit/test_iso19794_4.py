"""ISO/IEC 19794-4:2005 finger image records: the writer against the field tables, the round
trip, the image within the codec's tolerance, and every refusal with its code."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from biometric_fixtures import (
    finger_source,
    hand_made_finger_record,
    png,
    r30x_image,
)

from bts_desk.biometrics import builder, images, iso19794_4
from bts_desk.biometrics.errors import RecordError, RecordErrorCode
from bts_desk.domain import FingerPosition

E = RecordErrorCode


def _image_of(record: iso19794_4.FingerImageRecord) -> np.ndarray:
    view = record.views[0]
    return cv2.imdecode(np.frombuffer(view.image, np.uint8), cv2.IMREAD_UNCHANGED)


def test_headers_match_the_standard_byte_by_byte() -> None:
    source = finger_source(FingerPosition.RIGHT_INDEX)
    data = builder.finger_record(source)
    image = data[46:]
    assert data == hand_made_finger_record(image, width=256, height=288)
    assert data[:46].hex(" ") == (
        "46 49 52 00 30 31 30 00 "  # FIR\0 010\0
        + " ".join(f"{b:02x}" for b in (46 + len(image)).to_bytes(6, "big"))
        + " 00 00 00 14 01 01 01 f4 01 f4 01 f4 01 f4 08 05 00 00 "
        + " ".join(f"{b:02x}" for b in (14 + len(image)).to_bytes(4, "big"))
        + " 02 01 01 fe 00 01 00 01 20 00"
    )


def test_a_hand_made_record_parses_field_by_field() -> None:
    image = png(r30x_image(2))
    record = iso19794_4.parse(hand_made_finger_record(image, width=256, height=288))
    assert record.capture_device_id == 0
    assert record.acquisition_level == 20
    assert record.scale_units is iso19794_4.ScaleUnits.PPI
    assert record.scan == record.image_resolution == (500, 500)
    assert (record.pixel_depth, record.compression) == (8, iso19794_4.Compression.PNG)
    (view,) = record.views
    assert view.position is FingerPosition.RIGHT_INDEX
    assert (view.view_number, view.view_count, view.quality) == (1, 1, 254)
    assert view.impression is iso19794_4.Impression.LIVE_SCAN_PLAIN
    assert (view.width, view.height, view.image) == (256, 288, image)


@pytest.mark.parametrize(
    ("profile", "size", "dpi", "level"),
    [("r30x", (256, 288), 500, 20), ("r503", (192, 192), 508, 31)],
)
def test_round_trip_and_image_within_tolerance(
    profile: str, size: tuple[int, int], dpi: int, level: int
) -> None:
    source = finger_source(FingerPosition.LEFT_RING, finger=3, profile=profile)
    record = iso19794_4.parse(builder.finger_record(source))
    (view,) = record.views
    assert (view.width, view.height) == size
    assert view.position is FingerPosition.LEFT_RING
    assert record.image_resolution == (dpi, dpi) and record.acquisition_level == level
    original = cv2.imdecode(np.frombuffer(source.image_png, np.uint8), cv2.IMREAD_UNCHANGED)
    # PNG is lossless: the record's image is the module's image exactly (4-bpp levels ×17
    # are already spread over 8 bits; an 8-bit sensor's image is kept as it is).
    assert np.array_equal(_image_of(record), original)
    again = iso19794_4.encode(record)
    assert iso19794_4.parse(again) == record


def test_4bpp_images_are_spread_over_8_bits_within_half_a_level() -> None:
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, (288, 256), dtype=np.uint8)
    grey = images.to_8bit_grey(pixels, 4)
    assert set(np.unique(grey)) <= {17 * level for level in range(16)}
    assert grey.min() >= 0 and np.all(np.abs(grey.astype(int) - pixels.astype(int)) <= 17)
    assert np.array_equal(images.to_8bit_grey(grey, 4), grey)  # idempotent
    assert np.array_equal(images.to_8bit_grey(pixels, 8), pixels)


@pytest.mark.parametrize(
    ("dpi", "levels", "expected"),
    [(500, 16, 20), (500, 256, 31), (508, 100, 30), (1000, 256, 41), (200, 256, 10)],
)
def test_acquisition_level_follows_the_sensor(dpi: int, levels: int, expected: int) -> None:
    assert iso19794_4.acquisition_level(dpi, levels) == expected


def _valid() -> bytearray:
    return bytearray(builder.finger_record(finger_source()))


def _refused(data: bytes | bytearray, code: RecordErrorCode, **kwargs: int) -> None:
    with pytest.raises(RecordError) as caught:
        iso19794_4.parse(bytes(data), **kwargs)
    assert caught.value.code is code, caught.value.detail
    assert caught.value.user_message == "指纹图像记录格式不正确" or code.value.startswith("image")


@pytest.mark.parametrize("cut", [0, 5, 31, 32, 40, 45, 46, 1000])
def test_truncated_records_are_refused(cut: int) -> None:
    _refused(_valid()[:cut], E.FIR_TRUNCATED)


def test_oversized_and_trailing_bytes_are_refused() -> None:
    data = _valid()
    _refused(data, E.FIR_OVERSIZED, max_bytes=len(data) - 1)
    _refused(data + b"\x00", E.FIR_LENGTH)


def _patch(offset: int, value: bytes) -> bytearray:
    data = _valid()
    data[offset : offset + len(value)] = value
    return data


@pytest.mark.parametrize(
    ("offset", "value", "code"),
    [
        (0, b"FMR\x00", E.FIR_FORMAT),
        (4, b"020\x00", E.FIR_VERSION),
        (16, b"\x00\x15", E.FIR_FIELD),  # acquisition level 21
        (18, b"\x00", E.FIR_FIELD),  # no fingers
        (18, b"\x02", E.FIR_TRUNCATED),  # two fingers announced, one present
        (19, b"\x03", E.FIR_FIELD),  # scale units
        (20, b"\x03\xe9", E.FIR_FIELD),  # scan resolution 1001
        (24, b"\x01\xf5", E.FIR_INCONSISTENT),  # image resolution above scan resolution
        (28, b"\x00", E.FIR_FIELD),  # pixel depth 0
        (28, b"\x04", E.FIR_INCONSISTENT),  # 4-bit header, 8-bit PNG
        (29, b"\x02", E.FIR_COMPRESSION),  # WSQ
        (29, b"\x09", E.FIR_FIELD),
        (30, b"\x00\x01", E.FIR_RESERVED),
        (36, b"\x0b", E.FIR_FIELD),  # finger position 11
        (37, b"\x02", E.FIR_INCONSISTENT),  # view 1 of 2, only one present
        (38, b"\x02", E.FIR_FIELD),  # view 2 of 1
        (39, b"\x65", E.FIR_FIELD),  # quality 101
        (40, b"\x04", E.FIR_FIELD),  # impression 4
        (41, b"\x01\x01", E.IMAGE_DIMENSIONS),  # width 257, image 256
        (43, b"\x00\x00", E.IMAGE_TOO_LARGE),
        (45, b"\x01", E.FIR_RESERVED),
        (46, b"\x00", E.IMAGE_CORRUPT),  # PNG signature
    ],
)
def test_inconsistent_fields_are_refused_with_their_code(
    offset: int, value: bytes, code: RecordErrorCode
) -> None:
    _refused(_patch(offset, value), code)


def test_length_fields_that_disagree_are_refused() -> None:
    data = _valid()
    total = len(data)
    _refused(_patch(8, (total + 1).to_bytes(6, "big")), E.FIR_TRUNCATED)
    _refused(_patch(8, (total - 1).to_bytes(6, "big")), E.FIR_LENGTH)
    _refused(_patch(32, (14).to_bytes(4, "big")), E.FIR_LENGTH)
    _refused(_patch(32, (total - 32 + 1).to_bytes(4, "big")), E.FIR_TRUNCATED)


def test_damaged_image_data_is_refused() -> None:
    data = _valid()
    data[len(data) // 2] ^= 0x55  # inside the IDAT stream: its CRC fails
    _refused(data, E.IMAGE_CORRUPT)


def test_the_writer_refuses_what_the_parser_would() -> None:
    source = finger_source()
    with pytest.raises(RecordError) as caught:
        builder.finger_record(dataclasses.replace(source, dpi=0))
    assert caught.value.code is E.SOURCE_INVALID
