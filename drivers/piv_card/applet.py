"""The PIV card application of the virtual officer card: APDU in, R-APDU out.

A model of the parts of NIST SP 800-73-4 that the desk uses, with the behaviour of a real card
where it matters to the desk:

- SELECT the PIV AID (``A0 00 00 03 08`` …) → application property template, ``90 00``; a card
  made without the PIV application answers ``6A 82``.
- VERIFY the card application PIN (key reference ``80``): PIN padded with ``FF`` to 8 bytes;
  empty data asks for the status (``90 00`` when verified, else ``63 Cx`` with the tries left);
  a wrong PIN counts down and answers ``63 Cx``; at zero the PIN is blocked (``69 83``).
  ``P1 = FF`` resets the security status.
- Command chaining (CLA ``10``): the data of chained commands is joined before the last one
  (CLA ``00``) is processed, as a host sends an RSA-2048 template over short APDUs.
- GET DATA of the PIV Authentication certificate (tag ``5F C1 05``), answered in pieces of at
  most 256 bytes with ``61 xx`` and GET RESPONSE, as over a short-APDU link.
- GENERAL AUTHENTICATE with key ``9A``: the dynamic authentication template
  ``7C … 82 00 81 <data>`` → ``7C … 82 <signature>``. The algorithm byte must be the key's:
  ``11`` ECC P-256 (data: a 32-byte digest, answer: DER ECDSA), ``14`` ECC P-384 (a 48-byte
  digest), ``07`` RSA-2048 (data: the 256-byte PKCS#1 block the host padded, answer: the raw
  RSA private operation on it, as a real PIV card does); another algorithm answers ``6A 86``.
  Only after a successful VERIFY since the last power-on or reset (``69 82`` otherwise).

Pure logic, no I/O. Not thread-safe on its own: ``VirtualPivCard`` serialises calls under its
lock. The PIN is never logged here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa, utils

PIV_AID = bytes.fromhex("A000000308000010000100")
PIV_AID_PREFIX = PIV_AID[:5]
CERT_TAG_PIV_AUTH = bytes.fromhex("5FC105")
KEY_PIV_AUTH = 0x9A
ALG_RSA_2048 = 0x07
ALG_ECC_P256 = 0x11
ALG_ECC_P384 = 0x14
PIN_REF = 0x80

SW_OK = b"\x90\x00"
SW_WRONG_LENGTH = b"\x67\x00"
SW_SECURITY_NOT_SATISFIED = b"\x69\x82"
SW_PIN_BLOCKED = b"\x69\x83"
SW_CONDITIONS_NOT_SATISFIED = b"\x69\x85"
SW_WRONG_DATA = b"\x6a\x80"
SW_NOT_FOUND = b"\x6a\x82"
SW_WRONG_P1P2 = b"\x6a\x86"
SW_REF_NOT_FOUND = b"\x6a\x88"
SW_INS_NOT_SUPPORTED = b"\x6d\x00"
SW_CLA_NOT_SUPPORTED = b"\x6e\x00"

# ATR: T=0 and T=1 offered (TD1=80, TD2=01), historical bytes "BTS-PIV", TCK over T0..last.
_ATR_BODY = bytes([0x3B, 0x87, 0x80, 0x01]) + b"BTS-PIV"


def _tck(body: bytes) -> int:
    value = 0
    for byte in body[1:]:
        value ^= byte
    return value


ATR = _ATR_BODY + bytes([_tck(_ATR_BODY)])


def tlv(tag: bytes, value: bytes) -> bytes:
    """BER-TLV with the definite length forms PIV uses (up to 65535 bytes)."""
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    elif n < 0x100:
        length = bytes([0x81, n])
    else:
        length = bytes([0x82, n >> 8, n & 0xFF])
    return tag + length + value


def parse_tlv(data: bytes) -> list[tuple[int, bytes]]:
    """Top-level BER-TLV items as (tag, value); tags of one or two bytes. ValueError if bad."""
    items: list[tuple[int, bytes]] = []
    i = 0
    while i < len(data):
        tag = data[i]
        i += 1
        if tag & 0x1F == 0x1F:
            tag = (tag << 8) | data[i]
            i += 1
        if i >= len(data):
            raise ValueError("TLV truncated before length")
        first = data[i]
        i += 1
        if first < 0x80:
            length = first
        else:
            count = first & 0x7F
            if count not in (1, 2) or i + count > len(data):
                raise ValueError("bad TLV length")
            length = int.from_bytes(data[i : i + count], "big")
            i += count
        if i + length > len(data):
            raise ValueError("TLV value truncated")
        items.append((tag, data[i : i + length]))
        i += length
    return items


@dataclass
class PivApplet:
    """State of one virtual PIV card (see the module docstring)."""

    pin: str
    certificate_der: bytes
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = field(repr=False)
    max_tries: int = 3
    tries_left: int = 3
    has_piv: bool = True
    failing: bool = False  # a failing chip: answers every command with one meaningless byte
    selected: bool = False
    pin_verified: bool = False
    _pending: bytes = field(default=b"", repr=False)
    _chained: tuple[int, bytes] | None = field(default=None, repr=False)  # (INS, data so far)

    @property
    def blocked(self) -> bool:
        return self.tries_left <= 0

    def power_off(self) -> None:
        """Power off or reset: the security status and the selection are lost (SP 800-73-4)."""
        self.selected = False
        self.pin_verified = False
        self._pending = b""
        self._chained = None

    def process(self, apdu: bytes) -> bytes:
        """One command APDU → response APDU (data + SW1 SW2)."""
        if self.failing:
            return b"\x6f"
        data, le = _body(apdu[4:]) if len(apdu) >= 4 else (None, 0)
        if data is None or apdu[0] & 0xEF != 0x00:
            return SW_WRONG_LENGTH if data is None else SW_CLA_NOT_SUPPORTED
        cla, ins, p1, p2 = apdu[0], apdu[1], apdu[2], apdu[3]
        if ins == 0xC0:
            return self._get_response(p1, p2, data, le)
        self._pending = b""
        data = self._unchain(ins, data)
        if cla & 0x10:  # command chaining: more data follows in the next command
            self._chained = (ins, data)
            return SW_OK if len(data) <= 4096 else SW_WRONG_LENGTH
        handlers = {
            0xA4: self._select,
            0x20: self._verify,
            0xCB: self._get_data,
            0x87: self._general_authenticate,
        }
        handler = handlers.get(ins)
        if handler is None or (ins != 0xA4 and not self.selected):
            return SW_INS_NOT_SUPPORTED
        return handler(p1, p2, data, le)

    def _unchain(self, ins: int, data: bytes) -> bytes:
        """``data`` preceded by what chained commands of the same INS sent before it."""
        chained, self._chained = self._chained, None
        return chained[1] + data if chained is not None and chained[0] == ins else data

    def _select(self, p1: int, p2: int, data: bytes, le: int) -> bytes:
        if p1 != 0x04 or not data.startswith(PIV_AID_PREFIX) or not self.has_piv:
            self.selected = False
            return SW_NOT_FOUND
        self.selected = True
        pix = PIV_AID[5:]
        template = tlv(b"\x4f", pix) + tlv(b"\x79", tlv(b"\x4f", PIV_AID_PREFIX))
        return tlv(b"\x61", template) + SW_OK

    def _verify(self, p1: int, p2: int, data: bytes, le: int) -> bytes:
        if p2 != PIN_REF:
            return SW_REF_NOT_FOUND
        if p1 == 0xFF:
            self.pin_verified = False
            return SW_OK
        if p1 != 0x00:
            return SW_WRONG_P1P2
        if self.blocked:
            return SW_PIN_BLOCKED
        if not data:
            return SW_OK if self.pin_verified else bytes([0x63, 0xC0 | self.tries_left])
        return self._check_pin(data)

    def _check_pin(self, data: bytes) -> bytes:
        if len(data) != 8:
            return SW_WRONG_LENGTH
        if data == _pad_pin(self.pin):
            self.tries_left = self.max_tries
            self.pin_verified = True
            return SW_OK
        self.pin_verified = False
        self.tries_left -= 1
        return bytes([0x63, 0xC0 | self.tries_left])

    def _get_data(self, p1: int, p2: int, data: bytes, le: int) -> bytes:
        if (p1, p2) != (0x3F, 0xFF):
            return SW_WRONG_P1P2
        try:
            items = parse_tlv(data)
        except ValueError:
            return SW_WRONG_DATA
        if len(items) != 1 or items[0][0] != 0x5C:
            return SW_WRONG_DATA
        if items[0][1] != CERT_TAG_PIV_AUTH or not self.certificate_der:
            return SW_NOT_FOUND
        body = tlv(b"\x70", self.certificate_der) + tlv(b"\x71", b"\x00") + tlv(b"\xfe", b"")
        return self._respond(tlv(b"\x53", body), le)

    def _general_authenticate(self, p1: int, p2: int, data: bytes, le: int) -> bytes:
        if p2 != KEY_PIV_AUTH or self.key is None:
            return SW_REF_NOT_FOUND
        if p1 != key_algorithm(self.key):
            return SW_WRONG_P1P2
        if not self.pin_verified:
            return SW_SECURITY_NOT_SATISFIED
        payload = _challenge_payload(data)
        signature = _sign(self.key, payload) if payload is not None else None
        if signature is None:
            return SW_WRONG_DATA
        return self._respond(tlv(b"\x7c", tlv(b"\x82", signature)), le)

    def _respond(self, payload: bytes, le: int) -> bytes:
        """Send at most ``le`` bytes now; the rest waits for GET RESPONSE (``61 xx``)."""
        chunk, self._pending = payload[:le], payload[le:]
        if self._pending:
            remaining = len(self._pending)
            return chunk + bytes([0x61, remaining if remaining < 0x100 else 0x00])
        return chunk + SW_OK

    def _get_response(self, p1: int, p2: int, data: bytes, le: int) -> bytes:
        if not self._pending:
            return SW_CONDITIONS_NOT_SATISFIED
        return self._respond(self._pending, le)


def key_algorithm(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> int | None:
    """The PIV algorithm byte of ``key`` (None: not one a PIV card holds in 9A here)."""
    if isinstance(key, rsa.RSAPrivateKey):
        return ALG_RSA_2048 if key.key_size == 2048 else None
    return {"secp256r1": ALG_ECC_P256, "secp384r1": ALG_ECC_P384}.get(key.curve.name)


def _sign(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, payload: bytes) -> bytes | None:
    """What the card answers in tag 82 for ``payload``; None if it has the wrong size."""
    if isinstance(key, rsa.RSAPrivateKey):
        return _rsa_raw(key, payload)
    if len(payload) != key.curve.key_size // 8:
        return None
    hash_kind = hashes.SHA384() if key.curve.key_size == 384 else hashes.SHA256()
    return key.sign(payload, ec.ECDSA(utils.Prehashed(hash_kind)))


def _rsa_raw(key: rsa.RSAPrivateKey, block: bytes) -> bytes | None:
    """The RSA private operation on a 256-byte block (CRT); None if the block is not < n."""
    numbers = key.private_numbers()
    n = numbers.public_numbers.n
    m = int.from_bytes(block, "big")
    if len(block) != 256 or m >= n:
        return None
    s1 = pow(m, numbers.dmp1, numbers.p)
    s2 = pow(m, numbers.dmq1, numbers.q)
    s = s2 + numbers.q * ((numbers.iqmp * (s1 - s2)) % numbers.p)
    return s.to_bytes(256, "big")


def _challenge_payload(data: bytes) -> bytes | None:
    """The data of a template ``7C { 82 00, 81 <data> }``; None if malformed."""
    try:
        outer = parse_tlv(data)
        if len(outer) != 1 or outer[0][0] != 0x7C:
            return None
        inner = dict(parse_tlv(outer[0][1]))
    except ValueError:
        return None
    payload = inner.get(0x81)
    if 0x82 not in inner or not payload:
        return None
    return payload


def _pad_pin(pin: str) -> bytes:
    raw = pin.encode("ascii")
    return raw + b"\xff" * (8 - len(raw))


def _body(rest: bytes) -> tuple[bytes | None, int]:
    """Split a short APDU body into (data, Le); Le 0/absent means 256. (None, 0) if malformed."""
    if not rest:
        return b"", 256
    if len(rest) == 1:
        return b"", rest[0] or 256
    lc = rest[0]
    if lc == 0 or len(rest) not in (1 + lc, 2 + lc):
        return None, 0
    data = rest[1 : 1 + lc]
    le = rest[1 + lc] if len(rest) == 2 + lc else 256
    return data, le or 256
