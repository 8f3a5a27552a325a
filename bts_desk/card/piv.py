"""The PIV card profile (NIST SP 800-73-4): the reference officer card.

APDUs: SELECT the PIV application, VERIFY the card application PIN (key reference 80, PIN
padded with FF to 8 bytes), GET DATA of the PIV Authentication certificate (5FC105), and
GENERAL AUTHENTICATE with that key (9A) to sign a challenge, with the algorithm the
certificate's key names: ECC P-256 (0x11, the card signs the SHA-256 digest the desk sends),
ECC P-384 (0x14, a SHA-384 digest) or RSA-2048 (0x07, the desk sends the PKCS#1 v1.5 block of
the SHA-256 DigestInfo padded to 256 bytes and the card applies its private key to it; the
factory default of many PIV tokens).

Status words become profile-independent errors (``profile.py``): 63Cx → WrongPinError with x
tries, 6983 → PinBlockedError, 6A82 on SELECT → NoOfficerApplicationError. A PIN is presented
exactly once per call: retrying would burn tries. Worker threads only.
"""

from __future__ import annotations

import hashlib
import logging

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from bts_desk.card.identity import (
    UnsupportedCertificateAlgorithmError,
    load_certificate,
    public_key_of,
)
from bts_desk.card.pcsc import CardLink, Response
from bts_desk.card.profile import (
    NoOfficerApplicationError,
    PinBlockedError,
    WrongPinError,
    check_pin_format,
)
from bts_desk.errors import CardError

log = logging.getLogger(__name__)

PIV_AID = bytes.fromhex("A000000308000010000100")
TAG_PIV_AUTH_CERT = bytes.fromhex("5FC105")
KEY_PIV_AUTH = 0x9A
ALG_RSA_2048 = 0x07
ALG_ECC_P256 = 0x11
ALG_ECC_P384 = 0x14
PIN_KEY_REF = 0x80
# DigestInfo prefix of SHA-256 (RFC 8017 §9.2 note 1), for the RSA PKCS#1 v1.5 block.
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def _tlv(tag: bytes, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        return tag + bytes([n]) + value
    if n < 0x100:
        return tag + bytes([0x81, n]) + value
    return tag + bytes([0x82, n >> 8, n & 0xFF]) + value


def _find(data: bytes, tag: int) -> bytes | None:
    """The value of the first top-level TLV with one-byte ``tag`` in ``data`` (None if absent)."""
    i = 0
    while i + 2 <= len(data):
        current, first = data[i], data[i + 1]
        i += 2
        if first < 0x80:
            length = first
        else:
            count = first & 0x7F
            length = int.from_bytes(data[i : i + count], "big")
            i += count
        if current == tag:
            return data[i : i + length] if i + length <= len(data) else None
        i += length
    return None


def _card_error(response: Response, action: str) -> CardError:
    sw = response.sw
    detail = f"PIV {action}: SW {sw:04X}"
    if sw == 0x6983:
        return PinBlockedError(detail)
    if sw == 0x6982:
        return CardError("卡未通过 PIN 验证（可能已被其他程序重置），请重新登录", detail)
    if sw == 0x6A82:
        return CardError("卡内未找到关员证书，请联系发卡单位", detail)
    return CardError("卡返回错误，请重新插入卡介质后再试", detail)


class PivProfile:
    """PIV officer cards (see the module docstring). Stateless: one instance serves all links."""

    name = "piv"

    def open(self, link: CardLink) -> None:
        response = link.transmit(bytes([0x00, 0xA4, 0x04, 0x00, len(PIV_AID)]) + PIV_AID + b"\0")
        if response.sw == 0x6A82:
            raise NoOfficerApplicationError("SELECT PIV AID: SW 6A82 (application not found)")
        if not response.ok:
            raise _card_error(response, "SELECT")

    def read_certificate(self, link: CardLink) -> bytes:
        query = _tlv(b"\x5c", TAG_PIV_AUTH_CERT)
        response = link.transmit(bytes([0x00, 0xCB, 0x3F, 0xFF, len(query)]) + query + b"\0")
        if not response.ok:
            raise _card_error(response, "GET DATA 5FC105")
        container = _find(response.data, 0x53)
        cert_der = _find(container, 0x70) if container is not None else None
        if not cert_der:
            raise CardError(
                "卡内证书无法读取", f"GET DATA 5FC105: no 53/70 TLV in {len(response.data)} bytes"
            )
        cert_info = _find(container or b"", 0x71)
        if cert_info and cert_info[0] & 0x01:
            raise CardError("卡内证书为压缩格式，本系统不支持", "CertInfo says gzip-compressed")
        return cert_der

    def pin_tries_left(self, link: CardLink) -> int | None:
        response = link.transmit(bytes([0x00, 0x20, 0x00, PIN_KEY_REF]))
        if response.ok:
            return None
        if response.sw >> 4 == 0x63C:
            return response.sw & 0x0F
        raise _card_error(response, "VERIFY status")

    def verify_pin(self, link: CardLink, pin: str) -> None:
        check_pin_format(pin)
        apdu = bytearray([0x00, 0x20, 0x00, PIN_KEY_REF, 0x08])
        apdu += pin.encode("ascii").ljust(8, b"\xff")
        try:
            response = link.transmit(bytes(apdu), secret=True)
        finally:
            apdu[5:] = b"\0" * 8
        if response.ok:
            log.info("PIN verified on the card in %r", link.reader)
            return
        if response.sw >> 4 == 0x63C:
            tries = response.sw & 0x0F
            detail = f"VERIFY: SW {response.sw:04X} (wrong PIN, {tries} tries left)"
            log.warning("wrong PIN on the card in %r: %d tries left", link.reader, tries)
            if tries == 0:
                raise PinBlockedError(detail)
            raise WrongPinError(tries, detail)
        raise _card_error(response, "VERIFY")

    def sign_challenge(self, link: CardLink, challenge: bytes, certificate_der: bytes) -> bytes:
        algorithm, payload = challenge_input(certificate_der, challenge)
        template = _tlv(b"\x7c", _tlv(b"\x82", b"") + _tlv(b"\x81", payload))
        response = _send(link, 0x87, algorithm, KEY_PIV_AUTH, template)
        if not response.ok:
            raise _card_error(response, f"GENERAL AUTHENTICATE alg {algorithm:02X}")
        signature = _find(_find(response.data, 0x7C) or b"", 0x82)
        if not signature:
            raise CardError("卡签名失败", "GENERAL AUTHENTICATE: no 7C/82 in the response")
        return signature


def _send(link: CardLink, ins: int, p1: int, p2: int, data: bytes) -> Response:
    """One command with Le 00; data over 255 bytes goes by command chaining (CLA 10, ISO
    7816-4 §5.1.1), as an RSA-2048 template (266 bytes) needs over a short-APDU reader."""
    while len(data) > 255:
        part, data = data[:255], data[255:]
        response = link.transmit(bytes([0x10, ins, p1, p2, 255]) + part)
        if not response.ok:
            return response
    return link.transmit(bytes([0x00, ins, p1, p2, len(data)]) + data + b"\0")


def challenge_input(certificate_der: bytes, challenge: bytes) -> tuple[int, bytes]:
    """The PIV algorithm and the data GENERAL AUTHENTICATE signs for ``challenge``."""
    key = public_key_of(load_certificate(certificate_der))
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size != 2048:
            raise UnsupportedCertificateAlgorithmError(
                f"PIV RSA-{key.key_size}", f"PIV 9A holds RSA-2048 only, not {key.key_size}"
            )
        digest_info = SHA256_DIGEST_INFO + hashlib.sha256(challenge).digest()
        padding_len = 256 - 3 - len(digest_info)
        return ALG_RSA_2048, b"\x00\x01" + b"\xff" * padding_len + b"\x00" + digest_info
    assert isinstance(key, ec.EllipticCurvePublicKey)
    if key.curve.name == "secp384r1":
        return ALG_ECC_P384, hashlib.sha384(challenge).digest()
    return ALG_ECC_P256, hashlib.sha256(challenge).digest()
