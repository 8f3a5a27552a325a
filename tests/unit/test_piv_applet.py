"""The virtual PIV card's applet, APDU by APDU (pure logic, no PC/SC)."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

from bts_desk.drivers.piv_card.applet import ATR, PivApplet, parse_tlv
from bts_desk.drivers.piv_card.pki import issue_officer, make_ca

SELECT = bytes.fromhex("00A4040009A00000030800001000") + b"\x00"
GET_CERT = bytes.fromhex("00CB3FFF055C035FC10500")
VERIFY_STATUS = bytes.fromhex("0020008000")


def verify(pin: str) -> bytes:
    return bytes.fromhex("0020008008") + pin.encode().ljust(8, b"\xff")


@pytest.fixture(scope="module")
def applet_args() -> dict[str, object]:
    credentials = issue_officer(make_ca(), "李海关", "GY860901", "8609")
    return {"pin": "123456", "certificate_der": credentials.der, "key": credentials.key}


@pytest.fixture
def applet(applet_args: dict[str, object]) -> PivApplet:
    card = PivApplet(**applet_args)  # type: ignore[arg-type]
    assert card.process(SELECT)[-2:] == b"\x90\x00"
    return card


def test_atr_checksum_is_valid() -> None:
    check = 0
    for byte in ATR[1:]:
        check ^= byte
    assert check == 0


def test_select_answers_the_application_template(applet: PivApplet) -> None:
    response = applet.process(SELECT)
    assert response[-2:] == b"\x90\x00"
    assert parse_tlv(response[:-2])[0][0] == 0x61


def test_commands_before_select_and_without_piv_app(applet_args: dict[str, object]) -> None:
    fresh = PivApplet(**applet_args)  # type: ignore[arg-type]
    assert fresh.process(VERIFY_STATUS) == b"\x6d\x00"
    no_piv = PivApplet(**applet_args, has_piv=False)  # type: ignore[arg-type]
    assert no_piv.process(SELECT) == b"\x6a\x82"


def test_verify_counts_down_blocks_and_reset_clears_security(applet: PivApplet) -> None:
    assert applet.process(VERIFY_STATUS) == b"\x63\xc3"
    assert applet.process(verify("000000")) == b"\x63\xc2"
    assert applet.process(verify("123456")) == b"\x90\x00"
    assert applet.tries_left == 3
    assert applet.process(VERIFY_STATUS) == b"\x90\x00"
    applet.power_off()
    applet.process(SELECT)
    assert applet.process(VERIFY_STATUS) == b"\x63\xc3"
    for expected in (b"\x63\xc2", b"\x63\xc1", b"\x63\xc0"):
        assert applet.process(verify("999999")) == expected
    assert applet.process(verify("123456")) == b"\x69\x83"
    assert applet.process(VERIFY_STATUS) == b"\x69\x83"


def test_certificate_comes_in_pieces_with_get_response(
    applet: PivApplet, applet_args: dict[str, object]
) -> None:
    first = applet.process(GET_CERT)
    assert first[-2] == 0x61 and len(first) == 258
    data = bytearray(first[:-2])
    response = first
    while response[-2] == 0x61:
        response = applet.process(bytes([0x00, 0xC0, 0x00, 0x00, response[-1]]))
        data += response[:-2]
    assert response[-2:] == b"\x90\x00"
    container = dict(parse_tlv(bytes(data)))[0x53]
    assert dict(parse_tlv(container))[0x70] == applet_args["certificate_der"]
    assert applet.process(bytes.fromhex("00C0000000")) == b"\x69\x85"  # nothing pending


def test_general_authenticate_needs_the_pin_and_signs_the_digest(applet: PivApplet) -> None:
    digest = hashlib.sha256(b"challenge").digest()
    template = b"\x7c\x24\x82\x00\x81\x20" + digest
    apdu = bytes([0x00, 0x87, 0x11, 0x9A, len(template)]) + template + b"\x00"
    assert applet.process(apdu) == b"\x69\x82"
    applet.process(verify("123456"))
    response = applet.process(apdu)
    assert response[-2:] == b"\x90\x00"
    signature = dict(parse_tlv(dict(parse_tlv(response[:-2]))[0x7C]))[0x82]
    assert applet.key is not None
    applet.key.public_key().verify(signature, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    wrong_key = bytes([0x00, 0x87, 0x11, 0x9C, len(template)]) + template
    assert applet.process(wrong_key) == b"\x6a\x88"
    assert applet.process(bytes([0x00, 0x87, 0x11, 0x9A, 2]) + b"\x7c\x00") == b"\x6a\x80"


def test_malformed_apdus(applet: PivApplet) -> None:
    assert applet.process(b"\x00\xa4") == b"\x67\x00"
    assert applet.process(bytes.fromhex("00A4040005A000")) == b"\x67\x00"  # Lc too long
    assert applet.process(bytes.fromhex("80CA000000")) == b"\x6e\x00"
    assert applet.process(bytes.fromhex("00B0000000")) == b"\x6d\x00"
