"""The shared sync wire format: round trips, the idempotency hash, strict decoding."""

from __future__ import annotations

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
        image_png=st.binary(max_size=64),
        press_quality=st.lists(st.floats(0, 100), max_size=3).map(tuple),
    ),
    max_size=2,
    unique_by=lambda f: f.finger_no,
)
faces = st.none() | st.builds(
    FaceCapture,
    jpeg=st.binary(max_size=64),
    quality=st.dictionaries(st.text(max_size=8), st.floats(-1e6, 1e6), max_size=3),
)
texts = st.text(min_size=1, max_size=20).filter(str.strip)
enrollments = st.builds(
    wire.WireEnrollment,
    borderer_id=st.integers(1, 2**53),
    officer_id=texts,
    desk_id=texts,
    captured_at=st.datetimes(timezones=st.just(dt.UTC)),
    fingers=fingers.map(tuple),
    face=faces,
    scanner_model=st.text(max_size=20),
    scanner_serial=st.text(max_size=20),
    camera_name=st.text(max_size=20),
).filter(lambda e: e.fingers or e.face is not None)


@settings(max_examples=150, deadline=None)
@given(enrollments)
def test_enrollment_round_trips_through_json(enrollment: wire.WireEnrollment) -> None:
    text = json.dumps(wire.encode_enrollment(enrollment))
    decoded = wire.decode_enrollment(json.loads(text))
    assert decoded == enrollment
    assert wire.enrollment_body_sha256(decoded) == wire.enrollment_body_sha256(enrollment)


def test_a_draft_encodes_to_what_the_service_decodes() -> None:
    draft = sample_draft(7, OFFICER)
    decoded = wire.decode_enrollment(json.loads(json.dumps(wire.encode_enrollment(draft))))
    assert decoded == wire.enrollment_from_draft(draft)
    assert decoded.officer_id == "GY0001" and decoded.has_face and decoded.has_finger


def test_hash_ignores_spelling_but_not_content() -> None:
    body = wire.encode_enrollment(sample_draft(7, OFFICER, seed=1))
    same = json.loads(json.dumps(dict(reversed(list(body.items())))))
    same["fingers"][0]["press_quality"] = [
        int(q) if q == int(q) else q for q in same["fingers"][0]["press_quality"]
    ]
    local = dt.datetime.fromisoformat(body["captured_at"]).astimezone(
        dt.timezone(dt.timedelta(hours=8))
    )
    same["captured_at"] = local.isoformat()  # the same instant in UTC+8
    digest = wire.enrollment_body_sha256(wire.decode_enrollment(body))
    assert wire.enrollment_body_sha256(wire.decode_enrollment(same)) == digest
    other = dict(body, camera_name="another camera")
    assert wire.enrollment_body_sha256(wire.decode_enrollment(other)) != digest


@pytest.mark.parametrize(
    "value",
    ["QUJD\n", "QUJ", "QU=D", "QUJD====", "QUJD!", " QUJD", 12, None, "QUJDx"],
)
def test_base64_is_strict(value: Any) -> None:
    with pytest.raises(wire.WireError) as info:
        wire.b64decode(value, "x")
    assert info.value.code in (wire.E_BAD_BASE64, wire.E_BAD_FIELD)
    assert wire.b64decode("QUJD", "x") == b"ABC"


def test_base64_size_limit_is_exact() -> None:
    assert wire.b64decode(wire.b64encode(bytes(10)), "x", max_bytes=10) == bytes(10)
    with pytest.raises(wire.WireError) as info:
        wire.b64decode(wire.b64encode(bytes(11)), "x", max_bytes=10)
    assert (info.value.code, info.value.status) == (wire.E_TOO_LARGE, 413)


def _record(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": 1,
        "customs_code": "8609",
        "name": "潘国生",
        "gender": "M",
        "id_number": "440306198503020128",
        "address": "广东省深圳市",
        "id_valid_from": dt.date(2019, 12, 13),
        "id_valid_to": dt.date(2039, 12, 13),
        "state": "normal",
        "data_source": "服务应用系统",
        "valid_to": dt.date(2023, 4, 25),
        "has_face": 1,
        "has_finger": 0,
        "enabled": True,
        "synced": True,
        "last_op_date": None,
        "revision": 9,
    }
    record.update(changes)
    return record


def test_borderer_round_trip() -> None:
    item = json.loads(json.dumps(wire.encode_borderer(_record())))
    assert item["has_face"] is True and item["last_op_date"] is None
    decoded = wire.decode_borderer(item)
    assert decoded == _record(has_face=True, has_finger=False)


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
    ],
)
def test_borderer_decoding_refuses_odd_items(change: dict[str, Any]) -> None:
    item = dict(wire.encode_borderer(_record()), **change)
    with pytest.raises(wire.WireError):
        wire.decode_borderer(item)


def test_pull_page_and_batch_results_shape() -> None:
    page = {"items": [wire.encode_borderer(_record())], "next_cursor": 9, "has_more": False}
    assert wire.decode_pull_page(page).next_cursor == 9
    for bad in ({"items": []}, {"items": {}, "next_cursor": 1, "has_more": False}, []):
        with pytest.raises(wire.WireError):
            wire.decode_pull_page(bad)
    with pytest.raises(wire.WireError):
        wire.decode_batch_results({"results": [{"uuid": 1}]})
    assert wire.decode_error({"detail": "Not Found"}) is None
    assert wire.decode_error(wire.error_body("x", "原因")) == wire.ErrorDetail("x", "原因")
