"""Officer identity from the card's PIV Authentication certificate (key reference 9A).

Shared by the desk (login, offline too) and the sync service (officer session): both check
the certificate against the CA configured for the site and read the officer from its subject:

- ``CN``            the officer's name
- ``serialNumber``  the officer number
- ``OU``            the customs district code (关区代码) the officer belongs to

A challenge is signed by the card's key with ECDSA P-256 over SHA-256 (PIV algorithm 0x11) or
RSA PKCS#1 v1.5 with SHA-256 (PIV algorithms 0x07/0x06); ``verify_challenge`` accepts both.
Pure Python, no Qt, no I/O: safe on any thread.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from bts_desk.domain import Officer
from bts_desk.errors import CardError


def load_ca_certificates(pem: bytes) -> list[x509.Certificate]:
    """All certificates of a PEM bundle (a site may trust more than one issuing CA)."""
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise CardError(
            "证书颁发机构（CA）证书无效，请联系系统管理员", f"bad CA PEM: {exc}"
        ) from exc


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _subject_value(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str:
    values = cert.subject.get_attributes_for_oid(oid)
    return str(values[0].value) if values else ""


def officer_from_certificate(
    cert_der: bytes, cas: list[x509.Certificate], now: dt.datetime | None = None
) -> Officer:
    """Check ``cert_der`` against the trusted CAs and its validity; return the officer.

    Raises CardError (safe to show) when the certificate is unreadable, not issued by a
    trusted CA, expired or not yet valid, or lacks the officer fields."""
    try:
        cert = x509.load_der_x509_certificate(cert_der)
    except ValueError as exc:
        raise CardError("卡内证书无法读取", f"officer certificate is not DER X.509: {exc}") from exc
    if not any(_signed_by(cert, ca) for ca in cas):
        raise CardError(
            "卡内证书不是本系统认可的机构签发的，请联系发卡单位",
            f"certificate {cert.subject.rfc4514_string()} not issued by a trusted CA",
        )
    now = now or dt.datetime.now(dt.UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise CardError(
            "卡内证书已过期或尚未生效，请联系发卡单位",
            f"certificate valid {cert.not_valid_before_utc}..{cert.not_valid_after_utc}, now {now}",
        )
    officer = Officer(
        officer_id=_subject_value(cert, NameOID.SERIAL_NUMBER),
        name=_subject_value(cert, NameOID.COMMON_NAME),
        customs_code=_subject_value(cert, NameOID.ORGANIZATIONAL_UNIT_NAME),
        certificate_der=cert_der,
    )
    if not (officer.officer_id and officer.name and officer.customs_code):
        raise CardError(
            "卡内证书缺少关员信息（姓名、关员编号或关区代码）",
            f"certificate subject {cert.subject.rfc4514_string()} lacks CN/serialNumber/OU",
        )
    return officer


def verify_challenge(cert_der: bytes, challenge: bytes, signature: bytes) -> bool:
    """True when ``signature`` over ``challenge`` was made by the certificate's key."""
    try:
        key = x509.load_der_x509_certificate(cert_der).public_key()
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, challenge, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, challenge, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True
