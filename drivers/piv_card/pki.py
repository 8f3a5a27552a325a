"""A throw-away PKI for the virtual officer card: test CAs, officer certificates and CRLs.

Generated with ``cryptography`` at run time (never shipped as secrets): the demo and the tests
make a CA (and intermediates), issue officer certificates whose subject carries the officer
fields that ``bts_desk.card.identity`` reads (CN name, serialNumber officer number, OU 关区代码)
with the extensions a real officer certificate has (digitalSignature, clientAuth, AKI), and
give the officer's private key to the card emulator. Keys: ECC P-256, P-384 or RSA-2048, the
PIV algorithms 0x11, 0x14 and 0x07. Broken variants (a leaf marked CA, a leaf without
digitalSignature, an expired CA, an SM2 key) exist so the tests can attack the desk with them.
Pure Python, any thread.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KeyKind = Literal["p256", "p384", "rsa2048"]
OfficerKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

# DER of the curve OIDs: prime256v1 (1.2.840.10045.3.1.7) and SM2 (1.2.156.10197.1.301) have
# the same length, so an SM2 test certificate is a P-256 one with the curve swapped, re-signed.
_P256_CURVE_OID = bytes.fromhex("06082a8648ce3d030107")
_SM2_CURVE_OID = bytes.fromhex("06082a811ccf5501822d")
_ECDSA_SHA256_ALG = bytes.fromhex("300a06082a8648ce3d040302")


def generate_key(kind: KeyKind = "p256") -> OfficerKey:
    if kind == "rsa2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP384R1() if kind == "p384" else ec.SECP256R1())


@dataclass(frozen=True)
class TestCa:
    key: ec.EllipticCurvePrivateKey = field(repr=False)
    certificate: x509.Certificate

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True)
class OfficerCredentials:
    """What goes onto a virtual card: the officer's key and certificate."""

    key: OfficerKey = field(repr=False)
    certificate: x509.Certificate

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)


def _key_usage(*, digital_signature: bool = False, cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def make_ca(
    common_name: str = "BTS Test Officer CA",
    days: int = 3650,
    *,
    issuer: TestCa | None = None,
    not_before: dt.datetime | None = None,
) -> TestCa:
    """A root CA (``issuer=None``) or an intermediate issued by ``issuer``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.certificate.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(
            x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0),
            critical=True,
        )
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False
        )
    cert = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    return TestCa(key=key, certificate=cert)


def issue_officer(
    ca: TestCa,
    name: str,
    officer_id: str,
    customs_code: str,
    *,
    not_before: dt.datetime | None = None,
    days: int = 730,
    key_kind: KeyKind = "p256",
    key: OfficerKey | None = None,
    ca_flag: bool = False,
    digital_signature: bool = True,
    client_auth: bool = True,
) -> OfficerCredentials:
    """An officer certificate and its key. ``ca_flag``/``digital_signature=False``/
    ``client_auth=False`` make the broken variants the desk must refuse."""
    key = key or generate_key(key_kind)
    start = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "China Customs"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, customs_code),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, officer_id),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client_auth else ExtendedKeyUsageOID.EMAIL_PROTECTION
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca_flag, path_length=None), critical=True)
        .add_extension(
            _key_usage(digital_signature=digital_signature, cert_sign=not digital_signature),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), False
        )
        .sign(ca.key, hashes.SHA256())
    )
    return OfficerCredentials(key=key, certificate=cert)


def make_crl(
    ca: TestCa,
    revoked_serials: list[int],
    *,
    this_update: dt.datetime | None = None,
    days: int = 7,
    signer: TestCa | None = None,
) -> bytes:
    """A DER CRL of ``ca`` listing ``revoked_serials`` (``signer``: sign with another key, to
    make a forged one)."""
    now = this_update or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(now)
        .next_update(now + dt.timedelta(days=days))
    )
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(now - dt.timedelta(minutes=1))
            .build()
        )
    crl = builder.sign((signer or ca).key, hashes.SHA256())
    return crl.public_bytes(serialization.Encoding.DER)


def _der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = (n.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + n.to_bytes(size, "big") + content


def sm2_officer_certificate(ca: TestCa, name: str, officer_id: str, customs_code: str) -> bytes:
    """DER of an officer certificate whose key is on the SM2 curve (国密), signed by ``ca``.

    ``cryptography`` cannot make SM2 keys, so this takes a P-256 certificate, puts the SM2
    curve OID into its key (the point is not on SM2; nothing can use it anyway) and signs the
    new TBS with the CA key: a well-formed certificate that a desk must refuse clearly."""
    base = issue_officer(ca, name, officer_id, customs_code)
    tbs = base.certificate.tbs_certificate_bytes
    assert tbs.count(_P256_CURVE_OID) == 1
    tbs = tbs.replace(_P256_CURVE_OID, _SM2_CURVE_OID)
    signature = ca.key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    return _der(0x30, tbs + _ECDSA_SHA256_ALG + _der(0x03, b"\x00" + signature))
