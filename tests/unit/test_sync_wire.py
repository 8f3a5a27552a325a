"""The shared sync wire models: round trips, the idempotency hash, strict decoding, limits."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bts_desk.domain import FaceCapture, FingerCapture, Officer
from bts_desk.sync import wire
from bts_desk.sync.samples import sample_draft

OFFICER = Officer("GY0001", "李海关", "8609")

fingers = st.lists(
    st.builds(
        FingerCapture,
        finger_no=st.sampled_from([1, 2]),
        template=st.binary(min_size=1, max_size=wire.MAX_TEMPLATE_BYTES),
        image_png=st.binary(min_size=1, max_size=64),
        press_quality=st.lists(st.floats(0, 100), max_size=3).map(tuple),
        width=st.integers(0, 4096),
        height=st.integers(0, 4096),
        bits_per_pixel=st.sampled_from([0, 4, 8]),
        dpi=st.integers(0, 1000),
        template_format=st.sampled_from(["", "synochip-r30x-char", "libfprint-fpprint"]),
    ),
    max_size=2,
    unique_by=lambda f: f.finger_no,
)
faces = st.none() | st.builds(
    FaceCapture,
    jpeg=st.binary(min_size=1, max_size=64),
    quality=st.dictionaries(st.text(max_size=8), st.floats(-1e6, 1e6), max_size=3),
)
printable = st.characters(min_codepoint=0x20, exclude_characters="\x7f", exclude_categories=["Cs"])
texts = st.text(printable, min_size=1).filter(lambda t: t.strip(" ") != "")
enrollments = (
    st.fixed_dictionaries(
        dict(
            borderer_id=st.integers(1, 2**53),
            officer_id=texts.map(lambda t: t[:32]).filter(lambda t: t.strip(" ") != ""),
            desk_id=texts.map(lambda t: t[:64]).filter(lambda t: t.strip(" ") != ""),
            captured_at=st.datetimes(timezones=st.just(dt.UTC)),
            fingers=fingers.map(lambda fs: [wire.FingerBody.from_capture(f) for f in fs]),
            face=faces.map(lambda f: None if f is None else wire.FaceBody.from_capture(f)),
            scanner_model=st.text(printable, max_size=20),
        )
    )
    .filter(lambda e: e["fingers"] or e["face"] is not None)
    .map(lambda e: wire.EnrollmentBody(**e))
)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_enrollment_round_trips_through_json(data: st.DataObject) -> None:
    enrollment = data.draw(enrollments)
    text = enrollment.model_dump_json()
    decoded = wire.decode(wire.EnrollmentBody, text)
    assert decoded == enrollment
    assert decoded.body_sha256() == enrollment.body_sha256()
    again = wire.decode(wire.EnrollmentBody, json.loads(text))  # FastAPI's way: parsed first
    assert again == enrollment


def test_a_draft_encodes_to_what_the_service_decodes() -> None:
    draft = sample_draft(7, OFFICER)
    body = wire.EnrollmentBody.from_draft(draft)
    decoded = wire.decode(wire.EnrollmentBody, body.model_dump_json())
    assert decoded.officer_id == "GY0001" and decoded.has_face and decoded.has_finger
    assert tuple(f.to_capture() for f in decoded.fingers) == draft.fingers
    assert decoded.face is not None and decoded.face.to_capture() == draft.face


def test_every_field_of_the_domain_captures_travels() -> None:
    """A field added to FingerCapture/FaceCapture must be added to the wire models too."""
    assert {f.name for f in dataclasses.fields(FingerCapture)} == set(wire.FingerBody.model_fields)
    assert {f.name for f in dataclasses.fields(FaceCapture)} == set(wire.FaceBody.model_fields)


def test_hash_ignores_spelling_but_not_content() -> None:
    body = wire.EnrollmentBody.from_draft(sample_draft(7, OFFICER, seed=1)).model_dump(mode="json")
    same = json.loads(json.dumps(dict(reversed(list(body.items())))))
    same["fingers"][0]["press_quality"] = [
        int(q) if q == int(q) else q for q in same["fingers"][0]["press_quality"]
    ]
    local = dt.datetime.fromisoformat(body["captured_at"]).astimezone(
        dt.timezone(dt.timedelta(hours=8))
    )
    same["captured_at"] = local.isoformat()  # the same instant in UTC+8
    digest = wire.decode(wire.EnrollmentBody, body).body_sha256()
    assert wire.decode(wire.EnrollmentBody, same).body_sha256() == digest
    other = dict(body, camera_name="another camera")
    assert wire.decode(wire.EnrollmentBody, other).body_sha256() != digest


def _finger(**changes: Any) -> dict[str, Any]:
    return {"finger_no": 1, "template": "QUJD", "image_png": "QUJD", **changes}


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("QUJD\n", wire.E_BAD_BASE64),
        ("QUJ", wire.E_BAD_BASE64),
        ("QU=D", wire.E_BAD_BASE64),
        ("QUJD====", wire.E_BAD_BASE64),
        ("QUJD!", wire.E_BAD_BASE64),
        (" QUJD", wire.E_BAD_BASE64),
        (12, wire.E_BAD_FIELD),
        (None, wire.E_BAD_FIELD),
        ("", wire.E_BAD_TEMPLATE),
    ],
)
def test_base64_is_strict(value: Any, code: str) -> None:
    with pytest.raises(wire.WireError) as info:
        wire.decode(wire.FingerBody, _finger(template=value))
    assert info.value.code == code
    assert wire.decode(wire.FingerBody, _finger()).template == b"ABC"


def test_base64_size_limit_is_exact() -> None:
    top = wire.b64encode(bytes(wire.MAX_TEMPLATE_BYTES))
    assert len(wire.decode(wire.FingerBody, _finger(template=top)).template) == 4096
    over = wire.b64encode(bytes(wire.MAX_TEMPLATE_BYTES + 1))
    with pytest.raises(wire.WireError) as info:
        wire.decode(wire.FingerBody, _finger(template=over))
    assert (info.value.code, info.value.status) == (wire.E_TOO_LARGE, 413)


@pytest.mark.parametrize(
    "change",
    [
        {"finger_no": 3},
        {"finger_no": True},
        {"press_quality": [True]},
        {"press_quality": ["50"]},
        {"press_quality": [100.5]},
        {"press_quality": [1.0] * 11},
        {"extra": 1},
    ],
)
def test_finger_fields_are_checked(change: dict[str, Any]) -> None:
    with pytest.raises(wire.WireError) as info:
        wire.decode(wire.FingerBody, _finger(**change))
    assert info.value.status == 422 and info.value.user_message


def _record(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": 1,
        "customs_code": "8609",
        "name": "潘国生",
        "gender": "M",
        "id_number": "440306198503020128",
        "address": "广东省深圳市",
        "id_valid_from": "2019-12-13",
        "id_valid_to": "2039-12-13",
        "state": "normal",
        "data_source": "服务应用系统",
        "valid_to": "2023-04-25",
        "has_face": True,
        "has_finger": False,
        "enabled": True,
        "synced": True,
        "last_op_date": None,
        "revision": 9,
    }
    record.update(changes)
    return record


def _page(*items: dict[str, Any]) -> bytes:
    return json.dumps({"items": list(items), "next_cursor": 9, "has_more": False}).encode()


def test_pulled_records_decode_to_store_ready_dicts() -> None:
    page = wire.decode(wire.PullPage, _page(_record()))
    item = page.items[0]
    assert item["id_valid_from"] == dt.date(2019, 12, 13) and item["last_op_date"] is None
    assert set(item) == set(wire.BORDERER_FIELDS) and page.next_cursor == 9


@pytest.mark.parametrize(
    "change",
    [
        {"gender": "X"},
        {"state": "gone"},
        {"revision": "9"},
        {"id": True},
        {"has_face": 1},
        {"valid_to": "2023-02-30"},
        {"name": None},
        {"surprise": 1},
    ],
)
def test_pull_decoding_refuses_odd_items(change: dict[str, Any]) -> None:
    with pytest.raises(wire.WireError):
        wire.decode(wire.PullPage, _page(_record(**change)))


def test_answers_and_errors_shape() -> None:
    for bad in (b'{"items": []}', b'{"items": {}, "next_cursor": 1, "has_more": false}', b"[]"):
        with pytest.raises(wire.WireError):
            wire.decode(wire.PullPage, bad)
    with pytest.raises(wire.WireError):
        wire.decode(wire.BatchAnswer, b'{"results": [{"uuid": 1}]}')
    newer = b'{"uuid": "u", "status": "stored", "added_later": 1}'  # answers ignore new fields
    assert wire.decode(wire.PutAnswer, newer).status == "stored"
    assert wire.decode_error({"detail": "Not Found"}) is None
    assert wire.decode_error(wire.error_body("x", "原因")) == wire.ErrorDetail(
        code="x", message="原因"
    )
