"""Every kind of bad upload gets its own 4xx and Chinese reason from the sync service, never a
500 (the ``svc`` fixture also fails the test if any request reached the unexpected-error
handler), and nothing of it is stored. Real HTTP, SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import copy
import logging
import uuid as uuidlib
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select
from sync_service_stack import (
    RECORD_CANCELLED,
    RECORD_SUSPENDED,
    RECORD_UNSYNCED,
    SVC_RECORDS,
    ApiClient,
    SvcPki,
    draft_body,
    refusal,
)

from bts_desk.service.local import LocalService
from bts_desk.service.models import ServerEnrollment
from bts_desk.sync import wire

Body = dict[str, Any]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def png_bytes(image: np.ndarray) -> bytes:
    return bytes(cv2.imencode(".png", image)[1].tobytes())


def set_finger(key: str, value: Any) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        body["fingers"][0][key] = value

    return change


def set_face(key: str, value: Any) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        body["face"][key] = value

    return change


def set_field(key: str, value: Any) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        body[key] = value

    return change


def drop(key: str) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        del body[key]

    return change


def jpeg_segments(jpeg: bytes) -> list[tuple[int, bytes]]:
    """(marker, whole segment) from after SOI up to SOS; the rest is returned as marker 0."""
    out, pos = [], 2
    while jpeg[pos + 1] != 0xDA:
        length = int.from_bytes(jpeg[pos + 2 : pos + 4], "big")
        out.append((jpeg[pos + 1], jpeg[pos : pos + 2 + length]))
        pos += 2 + length
    out.append((0, jpeg[pos:]))
    return out


def without_quant_tables(body: Body) -> None:
    jpeg = base64.b64decode(body["face"]["jpeg"])
    kept = b"".join(seg for marker, seg in jpeg_segments(jpeg) if marker != 0xDB)
    body["face"]["jpeg"] = b64(jpeg[:2] + kept)


def jpeg_zero_width(body: Body) -> None:
    jpeg = base64.b64decode(body["face"]["jpeg"])
    segments = [
        seg[:7] + b"\x00\x00" + seg[9:] if marker == 0xC0 else seg
        for marker, seg in jpeg_segments(jpeg)
    ]
    body["face"]["jpeg"] = b64(jpeg[:2] + b"".join(segments))


def truncate(kind: str) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        holder = body["face"] if kind == "jpeg" else body["fingers"][0]
        key = "jpeg" if kind == "jpeg" else "image_png"
        data = base64.b64decode(holder[key])
        holder[key] = b64(data[: len(data) // 2])

    return change


def png_broken_crc(body: Body) -> None:
    data = bytearray(base64.b64decode(body["fingers"][0]["image_png"]))
    data[40] ^= 0xFF  # inside the first IDAT chunk: its CRC no longer matches
    body["fingers"][0]["image_png"] = b64(bytes(data))


SIXTEEN_BIT = png_bytes(np.zeros((288, 256), np.uint16))
HUGE_CLAIM = png_bytes(np.zeros((4000, 8), np.uint8))  # small file, 4000 pixels tall

CASES: dict[str, tuple[Callable[[Body], None], int, str]] = {
    "borderer_id missing": (drop("borderer_id"), 422, wire.E_BAD_FIELD),
    "borderer_id text": (set_field("borderer_id", "10"), 422, wire.E_BAD_FIELD),
    "borderer_id zero": (set_field("borderer_id", 0), 422, wire.E_BAD_FIELD),
    "officer_id missing": (drop("officer_id"), 422, wire.E_BAD_FIELD),
    "desk_id too long": (set_field("desk_id", "d" * 65), 422, wire.E_BAD_FIELD),
    "desk_id empty": (set_field("desk_id", " "), 422, wire.E_BAD_FIELD),
    "captured_at naive": (set_field("captured_at", "2026-11-24T10:00:00"), 422, wire.E_BAD_FIELD),
    "captured_at garbage": (set_field("captured_at", "yesterday"), 422, wire.E_BAD_FIELD),
    "fingers not a list": (set_field("fingers", {"1": 2}), 422, wire.E_BAD_FIELD),
    "nothing captured": (
        lambda b: b.update(fingers=[], face=None),
        422,
        wire.E_BAD_FINGERS,
    ),
    "finger number 3": (set_finger("finger_no", 3), 422, wire.E_BAD_FINGERS),
    "finger number true": (set_finger("finger_no", True), 422, wire.E_BAD_FINGERS),
    "same finger twice": (
        lambda b: b["fingers"][1].update(finger_no=b["fingers"][0]["finger_no"]),
        422,
        wire.E_BAD_FINGERS,
    ),
    "template empty": (set_finger("template", ""), 422, wire.E_BAD_TEMPLATE),
    "template over 4096 bytes": (
        set_finger("template", b64(bytes(wire.MAX_TEMPLATE_BYTES + 1))),
        413,
        wire.E_TOO_LARGE,
    ),
    "template not base64": (set_finger("template", "@@@@" * 171), 422, wire.E_BAD_BASE64),
    "template with newline": (
        set_finger("template", b64(bytes(512))[:40] + "\n" + b64(bytes(512))[40:]),
        422,
        wire.E_BAD_BASE64,
    ),
    "template not text": (set_finger("template", 512), 422, wire.E_BAD_FIELD),
    "png not an image": (set_finger("image_png", b64(b"hello" * 100)), 422, wire.E_BAD_IMAGE),
    "png is a jpeg": (
        lambda b: b["fingers"][0].update(image_png=b["face"]["jpeg"]),
        422,
        wire.E_BAD_IMAGE,
    ),
    "png truncated": (truncate("png"), 422, wire.E_BAD_IMAGE),
    "png bad crc": (png_broken_crc, 422, wire.E_BAD_IMAGE),
    "png 16-bit": (set_finger("image_png", b64(SIXTEEN_BIT)), 422, wire.E_BAD_IMAGE),
    "png claims 4000 px": (set_finger("image_png", b64(HUGE_CLAIM)), 422, wire.E_BAD_IMAGE),
    "png over the size limit": (
        set_finger("image_png", b64(bytes(wire.MAX_PNG_BYTES + 1))),
        413,
        wire.E_TOO_LARGE,
    ),
    "press quality 150": (set_finger("press_quality", [150.0]), 422, wire.E_BAD_FIELD),
    "press quality text": (set_finger("press_quality", ["good"]), 422, wire.E_BAD_FIELD),
    "press quality NaN": (set_finger("press_quality", "NaN"), 422, wire.E_BAD_FIELD),
    "too many presses": (set_finger("press_quality", [50.0] * 11), 422, wire.E_BAD_FIELD),
    "face not an object": (set_field("face", "jpeg"), 422, wire.E_BAD_FIELD),
    "jpeg not an image": (
        set_face("jpeg", b64(b"\xff\xd8\xff" + bytes(900))),
        422,
        wire.E_BAD_IMAGE,
    ),
    "jpeg is a png": (
        lambda b: b["face"].update(jpeg=b["fingers"][0]["image_png"]),
        422,
        wire.E_BAD_IMAGE,
    ),
    "jpeg truncated": (truncate("jpeg"), 422, wire.E_BAD_IMAGE),
    "jpeg without quantisation tables": (without_quant_tables, 422, wire.E_BAD_IMAGE),
    "jpeg zero width": (jpeg_zero_width, 422, wire.E_BAD_IMAGE),
    "jpeg over the size limit": (
        set_face("jpeg", b64(bytes(wire.MAX_JPEG_BYTES + 1))),
        413,
        wire.E_TOO_LARGE,
    ),
    "face quality text": (set_face("quality", {"sharpness": "high"}), 422, wire.E_BAD_FIELD),
    "record missing": (set_field("borderer_id", SVC_RECORDS + 100), 404, wire.E_RECORD_MISSING),
    "record suspended": (
        set_field("borderer_id", RECORD_SUSPENDED),
        422,
        wire.E_RECORD_NOT_NORMAL,
    ),
    "record cancelled": (
        set_field("borderer_id", RECORD_CANCELLED),
        422,
        wire.E_RECORD_NOT_NORMAL,
    ),
    "record not synced": (set_field("borderer_id", RECORD_UNSYNCED), 422, wire.E_RECORD_NOT_NORMAL),
}


@pytest.fixture
def base(svc_pki: SvcPki) -> Body:
    return draft_body(10, svc_pki.officer_a)[1]


def test_each_bad_body_gets_its_status_and_reason(
    api: ApiClient, svc_pki: SvcPki, svc: LocalService, base: Body, caplog: pytest.LogCaptureFixture
) -> None:
    """All cases against one service (one start per database keeps this quick); the service's
    log holds the reasons but no biometric bytes."""
    caplog.set_level(logging.DEBUG)
    token = api.login(svc_pki.officer_a)
    wrong = []
    for name, (change, status, code) in CASES.items():
        body = copy.deepcopy(base)
        change(body)
        response = api.put(token, str(uuidlib.uuid4()), body)
        got = refusal(response) if response.status_code >= 400 else (response.status_code, "")
        if got != (status, code):
            wrong.append((name, got, (status, code)))
    assert wrong == [], "\n".join(map(str, wrong))
    with svc.app.state.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(ServerEnrollment)).scalar_one() == 0
    assert api.put(token, str(uuidlib.uuid4()), base).status_code == 201  # the base is fine
    assert "bad_template" in caplog.text and "fingers.0.template" in caplog.text
    for secret in (base["fingers"][0]["template"], base["fingers"][1]["image_png"]):
        assert secret[100:140] not in caplog.text


@pytest.mark.parametrize("size", [1, 511, 513, wire.MAX_TEMPLATE_BYTES])
def test_templates_of_any_module_size_are_accepted(
    api: ApiClient, svc_pki: SvcPki, base: Body, size: int
) -> None:
    """Scanner models differ in template size and format: 1..4096 bytes travel."""
    token = api.login(svc_pki.officer_a)
    set_finger("template", b64(bytes(range(256)) * (size // 256) + bytes(size % 256)))(base)
    assert api.put(token, str(uuidlib.uuid4()), base).status_code == 201


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"{not json", 400, wire.E_BAD_JSON),
        (b"\xff\xfe\x00", 400, wire.E_BAD_JSON),
        (b"[" * 100_000, 400, wire.E_BAD_JSON),
        (b"[1, 2]", 422, wire.E_BAD_FIELD),
        (b"null", 422, wire.E_BAD_FIELD),
        (b"", 400, wire.E_BAD_JSON),
    ],
)
def test_not_an_enrollment_object(
    api: ApiClient, svc_pki: SvcPki, raw: bytes, status: int, code: str
) -> None:
    token = api.login(svc_pki.officer_a)
    assert refusal(api.put(token, str(uuidlib.uuid4()), raw)) == (status, code)


@pytest.mark.parametrize("uuid", ["not-a-uuid", "12345", "{" + "0" * 32 + "}", "0" * 32])
def test_uuid_must_be_in_the_hyphenated_form(
    api: ApiClient, svc_pki: SvcPki, base: Body, uuid: str
) -> None:
    token = api.login(svc_pki.officer_a)
    assert refusal(api.put(token, uuid, base)) == (400, wire.E_BAD_UUID)


def test_uuid_case_does_not_make_a_second_copy(api: ApiClient, svc_pki: SvcPki, base: Body) -> None:
    token = api.login(svc_pki.officer_a)
    lower = str(uuidlib.uuid4())
    first = api.put(token, lower.upper(), base)
    assert (first.status_code, first.json()["uuid"]) == (201, lower)
    assert api.put(token, lower, base).status_code == 200


def test_an_oversized_body_is_refused_before_parsing(
    api: ApiClient, svc_pki: SvcPki, base: Body
) -> None:
    token = api.login(svc_pki.officer_a)
    raw = b'{"pad": "' + b"x" * wire.MAX_ENROLLMENT_BODY + b'"}'
    assert refusal(api.put(token, str(uuidlib.uuid4()), raw)) == (413, wire.E_TOO_LARGE)

    def chunks() -> Any:  # no Content-Length: the cap applies while streaming
        for _ in range(wire.MAX_ENROLLMENT_BODY // 65536 + 2):
            yield b" " * 65536

    streamed = api.http.put(
        api.url + wire.PATH_ENROLLMENT.format(uuid=uuidlib.uuid4()),
        data=chunks(),
        headers={"Content-Type": "application/json", **api.auth(token)},
        timeout=30,
    )
    assert refusal(streamed) == (413, wire.E_TOO_LARGE)
