"""Biometric exceptions (补录 无法采集 / 无法拍照): the domain's rules and their exception
entries in the CBEFF envelope, written by the builder and refused by the parser when forged."""

from __future__ import annotations

import base64
import datetime as dt
import json
import xml.etree.ElementTree as ET

import pytest
from biometric_fixtures import face_source, finger_source

from bts_desk.biometrics import builder, cbeff
from bts_desk.biometrics.errors import RecordError, RecordErrorCode
from bts_desk.domain import (
    MAX_EXCEPTION_NOTE,
    BioException,
    BioFlag,
    ExceptionReason,
    FingerPosition,
    exceptions_problem,
)

E = RecordErrorCode
R = ExceptionReason
P = FingerPosition
WHEN = dt.datetime(2026, 12, 1, 10, 30, tzinfo=dt.UTC)
UUID = "7d0f3c52-3c1d-4a8b-9e2f-7d6c5b4a3921"
NS = {"c": cbeff.NAMESPACE}


def test_reasons_fit_their_biometric_and_other_needs_bounded_text() -> None:
    assert BioException(P.LEFT_INDEX, R.BANDAGED).problem() is None
    assert BioException(None, R.CANNOT_POSE).problem() is None
    assert BioException(P.LEFT_INDEX, R.OTHER, "烫伤结痂").problem() is None
    assert BioException(P.LEFT_INDEX, R.CANNOT_POSE).problem()  # a face reason for a finger
    assert BioException(None, R.MISSING).problem()  # a finger reason for the face
    assert BioException(P.LEFT_INDEX, R.OTHER).problem()  # 其他 without its text
    assert BioException(P.LEFT_INDEX, R.OTHER, "  ").problem()
    assert BioException(P.LEFT_INDEX, R.MISSING, "text").problem()  # text only with 其他
    assert BioException(P.LEFT_INDEX, R.OTHER, "长" * MAX_EXCEPTION_NOTE).problem() is None
    assert BioException(P.LEFT_INDEX, R.OTHER, "长" * (MAX_EXCEPTION_NOTE + 1)).problem()
    assert BioException(P.LEFT_INDEX, R.OTHER, "a\nb").problem()
    assert BioException(P.UNKNOWN, R.MISSING).problem()


def test_at_least_one_capture_or_every_biometric_recorded_as_impossible() -> None:
    finger = BioException(P.RIGHT_INDEX, R.MISSING)
    face = BioException(None, R.CANNOT_POSE)
    assert exceptions_problem({P.LEFT_INDEX}, False, (finger,)) is None
    assert exceptions_problem(set(), True, (finger,)) is None
    assert exceptions_problem(set(), False, (finger, face)) is None  # 都没有, with reasons
    assert exceptions_problem(set(), False, ()) is not None
    assert exceptions_problem(set(), False, (finger,)) is not None  # the face not accounted for
    assert exceptions_problem(set(), False, (face,)) is not None  # no finger accounted for
    assert exceptions_problem({P.RIGHT_INDEX}, False, (finger,)) is not None  # captured anyway
    assert exceptions_problem(set(), True, (finger, face)) is not None  # photo and 无法拍照
    assert exceptions_problem({P.LEFT_INDEX}, False, (finger, finger)) is not None
    assert BioFlag.of(False, False) is BioFlag.NONE


def _one_finger_and_an_exception() -> bytes:
    fingers = (finger_source(P.RIGHT_INDEX, finger=1),)
    exceptions = (BioException(P.LEFT_INDEX, R.OTHER, "指尖烫伤"),)
    return builder.envelope(UUID, WHEN, fingers, None, exceptions=exceptions)


def test_exception_entries_round_trip_beside_a_finger() -> None:
    parsed = cbeff.parse(_one_finger_and_an_exception())
    assert set(parsed.fingers) == {P.RIGHT_INDEX} and parsed.face is None
    assert parsed.exceptions == (BioException(P.LEFT_INDEX, R.OTHER, "指尖烫伤"),)
    block = parsed.envelope.blocks[-1]
    assert block.kind is cbeff.BlockKind.EXCEPTION and block.modality is cbeff.Modality.FINGER
    root = ET.fromstring(_one_finger_and_an_exception())
    info = root.findall("c:BIR", NS)[-1].find("c:BDBInfo", NS)
    assert info is not None
    assert info.findtext("c:Format/c:Organization", namespaces=NS) == cbeff.VENDOR_FORMAT_OWNER
    assert info.findtext("c:Format/c:Type", namespaces=NS) == cbeff.EXCEPTION_FORMAT_TYPE
    assert info.findtext("c:Subtype", namespaces=NS) == "Left IndexFinger"


def test_an_envelope_of_exceptions_only() -> None:
    exceptions = (
        BioException(None, R.BANDAGED),
        BioException(P.LEFT_INDEX, R.MISSING),
        BioException(P.RIGHT_INDEX, R.DAMAGED),
    )
    data = builder.envelope(UUID, WHEN, (), None, exceptions=exceptions)
    parsed = cbeff.parse(data)
    assert not parsed.fingers and parsed.face is None
    # fingers by position, the face last: the same draft always gives the same bytes
    assert [x.position for x in parsed.exceptions] == [P.RIGHT_INDEX, P.LEFT_INDEX, None]
    assert parsed.envelope.blocks[-1].modality is cbeff.Modality.FACE
    with pytest.raises(RecordError) as caught:
        builder.envelope(UUID, WHEN, (), None, exceptions=exceptions[1:])
    assert caught.value.code is E.SOURCE_INVALID
    with pytest.raises(RecordError):  # a photo and 无法拍照 at once
        builder.envelope(UUID, WHEN, (), face_source(), exceptions=exceptions)


def _with_content(data: bytes, content: bytes) -> bytes:
    """The envelope with its last exception entry's BDB replaced (a forged upload)."""
    old = base64.b64encode(
        json.dumps(
            {"note": "指尖烫伤", "reason": "other"},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
    )
    assert old in data
    return data.replace(old, base64.b64encode(content))


@pytest.mark.parametrize(
    "content",
    [
        b'{"note":"","reason":"amputated"}',  # not one of the reasons
        b'{"note":"","reason":"cannot_pose"}',  # a face reason on a finger
        b'{"note":"","reason":"other"}',  # 其他 without text
        json.dumps({"note": "x" * 61, "reason": "other"}).encode(),  # text too long
        b'{"note":"a\\u0000b","reason":"other"}',  # a control character
        b'{"note":"","reason":"missing","extra":1}',  # a field the entry does not have
        b'{"reason":"missing"}',
        b'["missing"]',
        b'{"note":"","reason":5}',
        b"\xff\xfe",  # not UTF-8
        b'{"note":"' + b"x" * 600 + b'","reason":"other"}',  # over the entry's byte bound
    ],
)
def test_forged_exception_entries_are_refused(content: bytes) -> None:
    forged = _with_content(_one_finger_and_an_exception(), content)
    with pytest.raises(RecordError) as caught:
        cbeff.parse(forged)
    assert caught.value.code in (E.CBEFF_EXCEPTION, E.CBEFF_OVERSIZED)


def test_an_exception_for_a_captured_finger_or_without_its_finger_is_refused() -> None:
    data = _one_finger_and_an_exception()
    with pytest.raises(RecordError) as caught:  # the exception names the captured finger
        cbeff.parse(data.replace(b"Left IndexFinger", b"Right IndexFinger"))
    assert caught.value.code is E.CBEFF_EXCEPTION
    no_subtype = data.replace(b"<Subtype>Left IndexFinger</Subtype>", b"")
    with pytest.raises(RecordError) as caught:
        cbeff.parse(no_subtype)
    assert caught.value.code is E.CBEFF_EXCEPTION


def test_an_envelope_claiming_nothing_is_refused() -> None:
    """Only exceptions, but not for every biometric: the service must not take it."""
    only_face = builder.envelope(
        UUID,
        WHEN,
        (),
        None,
        exceptions=(BioException(None, R.BANDAGED), BioException(P.LEFT_INDEX, R.MISSING)),
    )
    root = ET.fromstring(only_face)
    first = root.findall("c:BIR", NS)[0]
    root.remove(first)  # drop the finger's entry
    forged = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    with pytest.raises(RecordError) as caught:
        cbeff.parse(forged)
    assert caught.value.code is E.CBEFF_EXCEPTION
