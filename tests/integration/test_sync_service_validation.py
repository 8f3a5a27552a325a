"""Every kind of bad upload gets its own 4xx and Chinese reason from the sync service, never a
500 (the ``svc`` fixture also fails the test if any request reached the unexpected-error
handler), and nothing of it is stored. Real HTTP, SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import copy
import logging
import uuid as uuidlib
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

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

from bts_desk.biometrics import cbeff
from bts_desk.service.local import LocalService
from bts_desk.service.models import ServerEnrollment
from bts_desk.sync import wire

Body = dict[str, Any]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def set_field(key: str, value: Any) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        body[key] = value

    return change


def drop(key: str) -> Callable[[Body], None]:
    def change(body: Body) -> None:
        del body[key]

    return change


NS = {"c": cbeff.NAMESPACE}


def xml(edit: Callable[[ET.Element], None]) -> Callable[[Body], None]:
    """Edit the envelope's XML as elements (the BIRs in order: finger 1, its vendor block,
    finger 2, its vendor block, face)."""

    def change(body: Body) -> None:
        root = ET.fromstring(body["biometrics"].encode())
        edit(root)
        body["biometrics"] = ET.tostring(
            root, encoding="unicode", default_namespace=cbeff.NAMESPACE
        )

    return change


def blocks(root: ET.Element) -> list[ET.Element]:
    return root.findall("c:BIR", NS)


def record(index: int, damage: Callable[[bytearray], bytes | bytearray]) -> Callable[[Body], None]:
    """Damage the record (BDB) of block ``index``."""

    def edit(root: ET.Element) -> None:
        bdb = blocks(root)[index].find("c:BDB", NS)
        assert bdb is not None and bdb.text
        bdb.text = b64(bytes(damage(bytearray(base64.b64decode(bdb.text)))))

    return xml(edit)


def text_of(index: int, path: str, value: str) -> Callable[[Body], None]:
    def edit(root: ET.Element) -> None:
        node = blocks(root)[index].find(path, NS)
        assert node is not None
        node.text = value

    return xml(edit)


def patch(at: int, value: bytes) -> Callable[[bytearray], bytearray]:
    def damage(data: bytearray) -> bytearray:
        data[at : at + len(value)] = value
        return data

    return damage


def cut(data: bytearray) -> bytes:
    return bytes(data[: len(data) // 2])


def png_crc(data: bytearray) -> bytearray:
    data[46 + 40] ^= 0xFF  # inside the PNG's first IDAT chunk: its CRC no longer matches
    return data


def face_jpeg_cut(data: bytearray) -> bytes:
    return bytes(data[: len(data) - 2000])  # record length then disagrees too


def same_finger_twice(root: ET.Element) -> None:
    root.append(copy.deepcopy(blocks(root)[0]))


def no_blocks(root: ET.Element) -> None:
    for block in blocks(root):
        root.remove(block)


def index_of_another(root: ET.Element) -> None:
    node = root.find("c:BIRInfo/c:Index", NS)
    assert node is not None
    node.text = str(uuidlib.uuid4())


CASES: dict[str, tuple[Callable[[Body], None], int, str]] = {
    "borderer_id missing": (drop("borderer_id"), 422, wire.E_BAD_FIELD),
    "borderer_id text": (set_field("borderer_id", "10"), 422, wire.E_BAD_FIELD),
    "borderer_id zero": (set_field("borderer_id", 0), 422, wire.E_BAD_FIELD),
    "officer_id missing": (drop("officer_id"), 422, wire.E_BAD_FIELD),
    "desk_id too long": (set_field("desk_id", "d" * 65), 422, wire.E_BAD_FIELD),
    "desk_id empty": (set_field("desk_id", " "), 422, wire.E_BAD_FIELD),
    "captured_at naive": (set_field("captured_at", "2026-11-24T10:00:00"), 422, wire.E_BAD_FIELD),
    "captured_at garbage": (set_field("captured_at", "yesterday"), 422, wire.E_BAD_FIELD),
    "old payload fields": (set_field("fingers", []), 422, wire.E_BAD_FIELD),
    "biometrics missing": (drop("biometrics"), 422, wire.E_BAD_FIELD),
    "biometrics not text": (set_field("biometrics", 12), 422, wire.E_BAD_FIELD),
    "biometrics not xml": (set_field("biometrics", "hello"), 422, wire.E_BAD_FIELD),
    "biometrics over the size limit": (
        set_field("biometrics", "<" + "x" * wire.MAX_CBEFF_CHARS),
        413,
        wire.E_TOO_LARGE,
    ),
    "envelope not well-formed": (set_field("biometrics", "<BIR"), 422, "cbeff.malformed_xml"),
    "envelope with entities": (
        set_field("biometrics", '<!DOCTYPE a [<!ENTITY b "c">]><BIR/>'),
        422,
        "cbeff.malformed_xml",
    ),
    "envelope of another enrollment": (xml(index_of_another), 422, "cbeff.inconsistent"),
    "nothing captured": (xml(no_blocks), 422, "cbeff.block_count"),
    "same finger twice": (xml(same_finger_twice), 422, "cbeff.duplicate_position"),
    "minutiae format": (text_of(0, "c:BDBInfo/c:Format/c:Type", "2"), 422, "cbeff.unknown_format"),
    "subtype not the record's finger": (
        text_of(0, "c:BDBInfo/c:Subtype", "Left Thumb"),
        422,
        "cbeff.inconsistent",
    ),
    "quality 101": (text_of(0, "c:BDBInfo/c:Quality/c:Score", "101"), 422, "cbeff.field_invalid"),
    "record not base64": (text_of(0, "c:BDB", "@@@@"), 422, "cbeff.bad_base64"),
    "vendor template over 16 KiB": (
        text_of(1, "c:BDB", b64(bytes(cbeff.MAX_VENDOR_BYTES + 1))),
        422,
        "cbeff.oversized",
    ),
    "finger record truncated": (record(0, cut), 422, "fir.truncated"),
    "finger record version 020": (record(0, patch(4, b"020\x00")), 422, "fir.version"),
    "finger position 11": (record(0, patch(36, b"\x0b")), 422, "fir.field_out_of_range"),
    "finger record WSQ": (record(0, patch(29, b"\x02")), 422, "fir.compression_unsupported"),
    "finger image bad crc": (record(0, png_crc), 422, "image.corrupt"),
    "finger width not the image's": (
        record(0, patch(41, b"\x00\x10")),
        422,
        "image.dimensions_mismatch",
    ),
    "finger claims 8191 px": (record(0, patch(43, b"\x1f\xff")), 422, "image.too_large"),
    "face record truncated": (record(4, face_jpeg_cut), 422, "fac.truncated"),
    "face record version": (record(4, patch(4, b"011\x00")), 422, "fac.version"),
    "face image type 7": (record(4, patch(34, b"\x07")), 422, "fac.field_out_of_range"),
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
def based(svc_pki: SvcPki) -> tuple[str, Body]:
    return draft_body(10, svc_pki.officer_a)


@pytest.fixture
def base(based: tuple[str, Body]) -> Body:
    return based[1]


def test_each_bad_body_gets_its_status_and_reason(
    api: ApiClient,
    svc_pki: SvcPki,
    svc: LocalService,
    based: tuple[str, Body],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """All cases against one service (one start per database keeps this quick); the service's
    log holds the reasons but no biometric bytes."""
    caplog.set_level(logging.DEBUG)
    token = api.login(svc_pki.officer_a)
    uuid, base = based
    wrong = []
    for name, (change, status, code) in CASES.items():
        body = copy.deepcopy(base)
        change(body)
        response = api.put(token, uuid, body)
        got = refusal(response) if response.status_code >= 400 else (response.status_code, "")
        if got != (status, code):
            wrong.append((name, got, (status, code)))
    assert wrong == [], "\n".join(map(str, wrong))
    with svc.app.state.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(ServerEnrollment)).scalar_one() == 0
    assert api.put(token, uuid, base).status_code == 201  # the base is fine
    assert "fir.truncated" in caplog.text and "finger record 1" in caplog.text
    parsed = cbeff.parse(base["biometrics"].encode())
    for block in parsed.envelope.blocks:
        secret = b64(block.data)
        assert secret[100:140] not in caplog.text


@pytest.mark.parametrize("size", [1, 511, 513, 1536, cbeff.MAX_VENDOR_BYTES])
def test_templates_of_any_module_size_are_accepted(
    api: ApiClient, svc_pki: SvcPki, based: tuple[str, Body], size: int
) -> None:
    """Scanner models differ in template size and format: the vendor block takes them all."""
    token = api.login(svc_pki.officer_a)
    uuid, base = based
    template = bytes(range(256)) * (size // 256) + bytes(size % 256)
    text_of(1, "c:BDB", b64(template))(base)
    assert api.put(token, uuid, base).status_code == 201


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


def test_uuid_case_does_not_make_a_second_copy(
    api: ApiClient, svc_pki: SvcPki, based: tuple[str, Body]
) -> None:
    token = api.login(svc_pki.officer_a)
    lower, base = based
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
