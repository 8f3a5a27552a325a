"""The desk's upload path: an ``EnrollmentDraft`` as its CBEFF envelope, with what older
captures cannot tell filled in as documented (``bts_desk.biometrics.enrollment``)."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from biometric_fixtures import png, r30x_image

from bts_desk.biometrics import builder, cbeff, iso19794_4, iso19794_5
from bts_desk.biometrics.enrollment import ASSUMED_DPI, envelope_of
from bts_desk.biometrics.errors import RecordError, RecordErrorCode
from bts_desk.domain import EnrollmentDraft, FingerCapture, FingerPosition, Officer
from bts_desk.sync.samples import sample_draft

OFFICER = Officer("GY0001", "李海关", "8609")


def _draft(**finger_changes: object) -> EnrollmentDraft:
    draft = sample_draft(3, OFFICER, seed=9)
    fingers = tuple(
        dataclasses.replace(f, image_png=png(r30x_image(f.finger_no)), **finger_changes)  # type: ignore[arg-type]
        for f in draft.fingers
    )
    return dataclasses.replace(draft, fingers=fingers)


def test_positions_geometry_and_vendor_blocks_come_from_the_captures() -> None:
    draft = _draft(bits_per_pixel=4, dpi=508, template_format="grow-r50x-char")
    fingers = (
        dataclasses.replace(draft.fingers[0], position=FingerPosition.RIGHT_MIDDLE),
        dataclasses.replace(draft.fingers[1], position=FingerPosition.LEFT_THUMB),
    )
    draft = dataclasses.replace(draft, fingers=fingers)
    parsed = cbeff.parse(envelope_of(draft))
    assert list(parsed.fingers) == [FingerPosition.RIGHT_MIDDLE, FingerPosition.LEFT_THUMB]
    record = parsed.fingers[FingerPosition.LEFT_THUMB]
    assert record.resolution == 508 and record.acquisition_level == 20
    vendor = parsed.vendor[FingerPosition.RIGHT_MIDDLE]
    assert vendor.product == cbeff.RegistryId(draft.scanner_model, "grow-r50x-char")
    assert vendor.data == draft.fingers[0].template
    first = parsed.envelope.blocks[0]
    assert first.quality is not None and first.quality.score == round(
        draft.fingers[0].press_quality[-1]
    )
    assert first.capture_device == cbeff.RegistryId(draft.scanner_model, draft.scanner_serial)
    assert parsed.envelope.created == draft.captured_at.replace(
        microsecond=draft.captured_at.microsecond // 1000 * 1000
    )  # milliseconds
    # the driver's PNG is kept byte for byte: nothing re-encoded on the upload path
    assert record.views[0].image == draft.fingers[1].image_png


def test_an_older_capture_is_filed_under_its_slot_and_read_off_its_image() -> None:
    # no position, depth, resolution or format: saved before they were kept
    draft = _draft(bits_per_pixel=0, dpi=0, template_format="")
    assert all(
        f.position is FingerPosition.UNKNOWN and f.bits_per_pixel == 0 for f in draft.fingers
    )
    parsed = cbeff.parse(envelope_of(draft))
    assert list(parsed.fingers) == [FingerPosition.RIGHT_INDEX, FingerPosition.LEFT_INDEX]
    record = parsed.fingers[FingerPosition.RIGHT_INDEX]
    assert record.resolution == ASSUMED_DPI
    assert record.acquisition_level == 20  # 16 grey levels found in the image: a 4-bpp sensor
    vendor = parsed.vendor[FingerPosition.RIGHT_INDEX]
    assert vendor.product is not None and vendor.product.type == "unknown"


def test_an_image_of_unknown_depth_is_read_off_its_levels() -> None:
    rng = np.random.default_rng(1)
    noisy = rng.integers(0, 256, (192, 192), dtype=np.uint8)  # all 256 levels: 8 bits
    source = builder.FingerSource(
        position=FingerPosition.RIGHT_RING,
        image_png=png(noisy),
        bits_per_pixel=0,
        dpi=500,
        template=b"\x01" * 10,
        module_family="test",
        template_format="test",
    )
    record = iso19794_4.parse(builder.finger_record(source))
    assert record.acquisition_level == 31  # 500 ppi, 256 levels
    assert record.views[0].image == source.image_png


def test_a_sixteen_bit_image_is_refused_as_a_source() -> None:
    ok, sixteen = cv2.imencode(".png", r30x_image(1).astype(np.uint16) * 257)
    assert ok
    source = builder.FingerSource(
        position=FingerPosition.RIGHT_RING,
        image_png=bytes(sixteen.tobytes()),
        bits_per_pixel=4,
        dpi=500,
        template=b"\x01",
        module_family="test",
        template_format="test",
    )
    with pytest.raises(RecordError) as caught:
        builder.finger_record(source)
    assert caught.value.code is RecordErrorCode.SOURCE_INVALID


def test_a_face_without_eye_centres_is_full_frontal_and_keeps_its_roll() -> None:
    draft = _draft()
    assert draft.face is not None
    face = dataclasses.replace(draft.face, quality={**draft.face.quality, "eye_tilt_deg": 6.0})
    parsed = cbeff.parse(envelope_of(dataclasses.replace(draft, face=face)))
    assert parsed.face is not None
    (image,) = parsed.face.faces
    assert image.image_type is iso19794_5.FaceImageType.FULL_FRONTAL
    assert image.feature_points == () and image.pose.roll == 6.0
    assert image.image == face.jpeg


def test_the_same_draft_gives_the_same_envelope() -> None:
    draft = _draft(position=FingerPosition.UNKNOWN)
    assert envelope_of(draft) == envelope_of(draft)
    assert isinstance(draft.fingers[0], FingerCapture)
