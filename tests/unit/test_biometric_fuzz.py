"""Fuzzing the record parsers (hypothesis): whatever bytes arrive, each parser returns a record
or raises its own ``RecordError``, never anything else (no IndexError, struct.error,
UnicodeError, MemoryError, cv2.error...)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable

from biometric_fixtures import face_source, finger_source
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bts_desk.biometrics import builder, cbeff, iso19794_4, iso19794_5
from bts_desk.biometrics.errors import RecordError
from bts_desk.domain import FingerPosition

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def _finger() -> bytes:
    return builder.finger_record(finger_source())


@functools.cache
def _face() -> bytes:
    return builder.face_record(face_source())


@functools.cache
def _envelope() -> bytes:
    import datetime as dt

    fingers = (finger_source(), finger_source(FingerPosition.LEFT_THUMB, finger=2))
    return builder.envelope(
        "0f8e6a52-3c1d-4a8b-9e2f-7d6c5b4a3921", dt.datetime.now(dt.UTC), fingers, face_source()
    )


@st.composite
def mutated(draw: st.DrawFn, base: bytes, head: int) -> bytes:
    """A valid record with a few bytes changed (mostly in its headers), cut, or extended."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 6))):
        limit = head if draw(st.booleans()) else len(data) - 1
        at = draw(st.integers(0, max(0, min(limit, len(data) - 1))))
        if data:
            data[at] = draw(st.integers(0, 255))
    match draw(st.sampled_from(["keep", "cut", "extend"])):
        case "cut":
            del data[draw(st.integers(0, len(data))) :]
        case "extend":
            data += draw(st.binary(max_size=64))
    return bytes(data)


def _only_record_errors(parse: Callable[[bytes], object], data: bytes) -> None:
    with contextlib.suppress(RecordError):
        parse(data)


@FUZZ
@given(st.binary(max_size=200))
def test_finger_parser_on_random_bytes(data: bytes) -> None:
    _only_record_errors(iso19794_4.parse, b"FIR\x00010\x00" + data)
    _only_record_errors(iso19794_4.parse, data)


@FUZZ
@given(st.data())
def test_finger_parser_on_mutated_records(data: st.DataObject) -> None:
    _only_record_errors(iso19794_4.parse, data.draw(mutated(_finger(), 46)))


@FUZZ
@given(st.binary(max_size=200))
def test_face_parser_on_random_bytes(data: bytes) -> None:
    _only_record_errors(iso19794_5.parse, b"FAC\x00010\x00" + data)


@FUZZ
@given(st.data())
def test_face_parser_on_mutated_records(data: st.DataObject) -> None:
    _only_record_errors(iso19794_5.parse, data.draw(mutated(_face(), 62)))


@FUZZ
@given(st.data())
def test_envelope_parser_on_mutated_envelopes(data: st.DataObject) -> None:
    _only_record_errors(cbeff.parse, data.draw(mutated(_envelope(), 1400)))


@FUZZ
@given(st.text(max_size=300))
def test_envelope_parser_on_random_text(text: str) -> None:
    _only_record_errors(cbeff.parse, text.encode("utf-8", "surrogatepass"))
    wrapped = f'<BIR xmlns="{cbeff.NAMESPACE}">{text}</BIR>'
    _only_record_errors(cbeff.parse, wrapped.encode("utf-8", "surrogatepass"))
