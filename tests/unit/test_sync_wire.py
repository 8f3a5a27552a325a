"""The shared sync wire models: round trips, the idempotency hash, strict decoding, limits."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Annotated, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict

from bts_desk.biometrics import cbeff
from bts_desk.domain import FingerPosition, Officer
from bts_desk.sync import wire
from bts_desk.sync.samples import sample_draft
from bts_desk.sync.wire.types import Base64

OFFICER = Officer("GY0001", "李海关", "8609")

printable = st.characters(min_codepoint=0x20, exclude_characters="\x7f", exclude_categories=["Cs"])
texts = st.text(printable, min_size=1).filter(lambda t: t.strip(" ") != "")
enrollments = st.fixed_dictionaries(
    dict(
        borderer_id=st.integers(1, 2**53),
        officer_id=texts.map(lambda t: t[:32]).filter(lambda t: t.strip(" ") != ""),
        desk_id=texts.map(lambda t: t[:64]).filter(lambda t: t.strip(" ") != ""),
        captured_at=st.datetimes(timezones=st.just(dt.UTC)),
        biometrics=st.text(max_size=200).map(lambda t: "<" + t),
        scanner_model=st.text(printable, max_size=20),
    )
).map(lambda e: wire.EnrollmentBody(**e))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_enrollment_round_trips_through_json(data: st.DataObject) -> None:
    enrollment = data.draw(enrollments)
    text = enrollment.model_dump_json()
    decoded = wire.decode(wire.EnrollmentBody, text)
    assert decoded == enrollment
    assert decoded.body_sha256() == enrollment.body_sha256() == _sha_in_one_piece(enrollment)
    again = wire.decode(wire.EnrollmentBody, json.loads(text))  # FastAPI's way: parsed first
    assert again == enrollment


def test_a_draft_encodes_to_what_the_service_decodes() -> None:
    draft = sample_draft(7, OFFICER)
    body = wire.EnrollmentBody.from_draft(draft)
    decoded = wire.decode(wire.EnrollmentBody, body.model_dump_json())
    assert decoded.officer_id == "GY0001"
    parsed = cbeff.parse(decoded.biometrics.encode())
    assert parsed.envelope.index == draft.uuid
    assert set(parsed.fingers) == {FingerPosition.RIGHT_INDEX, FingerPosition.LEFT_INDEX}
    assert parsed.face is not None
    templates = {p: b.data for p, b in parsed.vendor.items()}
    assert templates == {
        FingerPosition.RIGHT_INDEX: draft.fingers[0].template,
        FingerPosition.LEFT_INDEX: draft.fingers[1].template,
    }
    assert parsed.face.faces[0].image == draft.face.jpeg  # type: ignore[union-attr]


def _sha_in_one_piece(body: wire.EnrollmentBody) -> str:
    """The idempotency hash as defined (and as stored by earlier versions): the canonical JSON
    of the whole body at once; ``body_sha256`` hashes it in pieces."""
    fields = body.model_dump()
    fields["captured_at"] = fields["captured_at"].astimezone(dt.UTC).isoformat()
    return hashlib.sha256(wire.canonical_json(fields)).hexdigest()


@pytest.mark.parametrize(
    "envelope",
    ["", "<a>\n</a>\n", '<a x="1">\\</a>', "<a>é\t</a>", "<\x00bts-envelope\x00>", "<\u2028>"],
)
def test_the_hash_in_pieces_is_the_hash_of_the_whole_body(envelope: str) -> None:
    body = wire.EnrollmentBody.from_draft(sample_draft(7, OFFICER, seed=2))
    assert body.body_sha256() == _sha_in_one_piece(body)
    odd = body.model_copy(update={"biometrics": body.biometrics + envelope})
    assert odd.body_sha256() == _sha_in_one_piece(odd)
    named = body.model_copy(update={"scanner_model": "\x00bts-envelope\x00"})
    assert named.body_sha256() == _sha_in_one_piece(named)


def test_the_envelope_of_a_draft_is_deterministic() -> None:
    """A retried upload must carry the same body (the service's idempotency hash)."""
    draft = sample_draft(7, OFFICER, seed=3)
    first = wire.EnrollmentBody.from_draft(draft)
    assert wire.EnrollmentBody.from_draft(draft).body_sha256() == first.body_sha256()


def test_hash_ignores_spelling_but_not_content() -> None:
    body = wire.EnrollmentBody.from_draft(sample_draft(7, OFFICER, seed=1)).model_dump(mode="json")
    same = json.loads(json.dumps(dict(reversed(list(body.items())))))
    local = dt.datetime.fromisoformat(body["captured_at"]).astimezone(
        dt.timezone(dt.timedelta(hours=8))
    )
    same["captured_at"] = local.isoformat()  # the same instant in UTC+8
    digest = wire.decode(wire.EnrollmentBody, body).body_sha256()
    assert wire.decode(wire.EnrollmentBody, same).body_sha256() == digest
    other = dict(body, camera_name="another camera")
    assert wire.decode(wire.EnrollmentBody, other).body_sha256() != digest
    changed = dict(body, biometrics=body["biometrics"].replace("<Score>", "<Score>1", 1))
    assert wire.decode(wire.EnrollmentBody, changed).body_sha256() != digest


@pytest.mark.parametrize(
    ("value", "code", "status"),
    [
        (12, wire.E_BAD_FIELD, 422),
        (None, wire.E_BAD_FIELD, 422),
        ("", wire.E_BAD_FIELD, 422),
        ("not xml", wire.E_BAD_FIELD, 422),
        ("<" + "x" * wire.MAX_CBEFF_CHARS, wire.E_TOO_LARGE, 413),
    ],
)
def test_the_envelope_field_is_checked(value: Any, code: str, status: int) -> None:
    body = wire.EnrollmentBody.from_draft(sample_draft(7, OFFICER)).model_dump(mode="json")
    with pytest.raises(wire.WireError) as info:
        wire.decode(wire.EnrollmentBody, dict(body, biometrics=value))
    assert (info.value.code, info.value.status) == (code, status)


def test_the_old_payload_fields_are_refused() -> None:
    body = wire.EnrollmentBody.from_draft(sample_draft(7, OFFICER)).model_dump(mode="json")
    with pytest.raises(wire.WireError) as info:
        wire.decode(wire.EnrollmentBody, dict(body, fingers=[]))
    assert info.value.code == wire.E_BAD_FIELD


class _Blob(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: Annotated[bytes, Base64(1, wire.MAX_TEMPLATE_BYTES, short_code=wire.E_BAD_TEMPLATE)]


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
        wire.decode(_Blob, {"data": value})
    assert info.value.code == code
    assert wire.decode(_Blob, {"data": "QUJD"}).data == b"ABC"


def test_base64_size_limit_is_exact() -> None:
    top = wire.b64encode(bytes(wire.MAX_TEMPLATE_BYTES))
    assert len(wire.decode(_Blob, {"data": top}).data) == 4096
    over = wire.b64encode(bytes(wire.MAX_TEMPLATE_BYTES + 1))
    with pytest.raises(wire.WireError) as info:
        wire.decode(_Blob, {"data": over})
    assert (info.value.code, info.value.status) == (wire.E_TOO_LARGE, 413)


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


@pytest.mark.parametrize("has_more", [False, True])
def test_a_page_built_from_serialised_templates_is_the_models_own_json(has_more: bool) -> None:
    items = [
        wire.decode(wire.PullPage, _page(_record(id=n, revision=n, last_op_date=d))).items[0]
        for n, d in ((3, None), (4, "2024-02-29"))
    ]
    templates = [
        wire.TemplateItem(
            borderer_id=n,
            position=p,
            template_format="0x0012",
            module_family="华为指纹",
            enrollment_uuid=f"2f1c1f7e-5e1b-4c64-9d1e-00000000000{n}",
            captured_at=dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))),
            template=bytes([n, p, 0, 255]),
        )
        for n in (3, 4)
        for p in (1, 6)
    ]
    parts = [wire.template_items_json(templates[:2]), b"", wire.template_items_json(templates[2:])]
    exceptions = [
        wire.ExceptionItem(
            borderer_id=4,
            position=p,
            reason=reason,
            note=note,
            enrollment_uuid="2f1c1f7e-5e1b-4c64-9d1e-000000000004",
            captured_at=dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.UTC),
        )
        for p, reason, note in ((0, "cannot_pose", ""), (7, "other", "烫伤"))
    ]
    item_parts = [wire.borderer_item_json(i) for i in items]
    built = wire.pull_page_json(item_parts, 4, has_more, parts, exceptions)
    model = wire.PullPage(
        items=items,
        next_cursor=4,
        has_more=has_more,
        templates=templates,
        exceptions=exceptions,
    )
    assert built == model.model_dump_json().encode()
    assert wire.decode(wire.PullPage, built) == model
    empty = wire.PullPage(items=[], next_cursor=0, has_more=False)
    assert wire.pull_page_json([], 0, False, []) == empty.model_dump_json().encode()


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
