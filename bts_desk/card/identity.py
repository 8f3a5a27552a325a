"""Officer identity from the card's authentication certificate (PIV key reference 9A).

Shared by the desk (login and unlock, offline too) and the sync service (officer session):
both validate the certificate's path to the CAs configured for the site and read the officer
from its subject:

- ``CN``            the officer's name
- ``serialNumber``  the officer number
- ``OU``            the customs district code (关区代码) the officer belongs to

Path validation is ``cryptography.x509.verification`` (the Rust WebPKI-style verifier of the
pyca project): chain building through intermediates, CA basic constraints and key usage,
signature algorithms, validity of every certificate. The leaf rules an officer certificate
must meet (not a CA, digitalSignature, clientAuth when required, a supported key) are checked
first here, so each failure has its own message; when the library still refuses, the chain is
examined to say which CA is at fault (expired, not a CA, may not sign certificates).

Keys: ECC P-256 (signatures over SHA-256), P-384 (SHA-384) and RSA-2048 or larger (PKCS#1 v1.5
with SHA-256). SM2 (国密) keys are recognised and refused with a clear message (see
docs/sm2-design.md). Pure Python, no Qt, no I/O: safe on any thread.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bts_desk.domain import Officer
from bts_desk.errors import CardError

SM2_CURVE_OID = bytes.fromhex("06082a811ccf5501822d")  # 1.2.156.10197.1.301 (DER)
SM2_SIGNATURE_OIDS = {"1.2.156.10197.1.501", "1.2.156.10197.1.502"}  # SM3withSM2, SHA1withSM2
SUPPORTED_CURVES = {"secp256r1": hashes.SHA256, "secp384r1": hashes.SHA384}


@dataclass(frozen=True)
class CertificatePolicy:
    """What the site requires of an officer certificate (``[card]`` settings)."""

    require_client_auth: bool = True  # extended key usage clientAuth on the leaf
    clock_skew: dt.timedelta = dt.timedelta(minutes=5)  # tolerated desk clock error
    max_chain_depth: int = 4


class UnsupportedCertificateAlgorithmError(CardError):
    """The certificate's key (or signature) algorithm is not one the desk can verify."""

    def __init__(self, algorithm: str, detail: str) -> None:
        super().__init__(
            f"此卡证书算法暂不支持（{algorithm}），请联系发卡单位更换卡介质或等待系统升级", detail
        )
        self.algorithm = algorithm


class CertificateRejectedError(CardError):
    """The certificate fails the site's certificate policy (path, usage, validity)."""


def load_ca_certificates(pem: bytes) -> list[x509.Certificate]:
    """All certificates of a PEM bundle: roots and the intermediates that go with them."""
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError as exc:
        raise CardError(
            "证书颁发机构（CA）证书无效，请联系系统管理员", f"bad CA PEM: {exc}"
        ) from exc


def _subject_value(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str:
    values = cert.subject.get_attributes_for_oid(oid)
    return str(values[0].value) if values else ""


def _name(cert: x509.Certificate) -> str:
    return _subject_value(cert, NameOID.COMMON_NAME) or cert.subject.rfc4514_string()


def _extension(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def load_certificate(cert_der: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(cert_der)
    except ValueError as exc:
        raise CardError("卡内证书无法读取", f"officer certificate is not DER X.509: {exc}") from exc


def public_key_of(cert: x509.Certificate) -> ec.EllipticCurvePublicKey | rsa.RSAPublicKey:
    """The certificate's key if the desk supports it; UnsupportedCertificateAlgorithmError
    (SM2 named as such) otherwise, never cryptography's own exception."""
    subject = cert.subject.rfc4514_string()
    if cert.signature_algorithm_oid.dotted_string in SM2_SIGNATURE_OIDS:
        raise UnsupportedCertificateAlgorithmError("国密 SM2/SM3", f"{subject}: SM3withSM2 signed")
    try:
        key = cert.public_key()
    except (UnsupportedAlgorithm, ValueError) as exc:
        spki = cert.public_bytes(serialization.Encoding.DER)
        oid = cert.public_key_algorithm_oid.dotted_string
        algorithm = "国密 SM2" if SM2_CURVE_OID in spki else oid
        raise UnsupportedCertificateAlgorithmError(algorithm, f"{subject}: {exc}") from exc
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in SUPPORTED_CURVES:
            raise UnsupportedCertificateAlgorithmError(
                f"ECC {key.curve.name}", f"{subject}: curve {key.curve.name}"
            )
        return key
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise UnsupportedCertificateAlgorithmError(
                f"RSA-{key.key_size}", f"{subject}: RSA key of {key.key_size} bits"
            )
        return key
    raise UnsupportedCertificateAlgorithmError(type(key).__name__, f"{subject}: {type(key)}")


def _reject(message: str, detail: str) -> CertificateRejectedError:
    return CertificateRejectedError(message, detail)


def _check_validity(cert: x509.Certificate, now: dt.datetime, skew: dt.timedelta) -> bool:
    return cert.not_valid_before_utc - skew <= now <= cert.not_valid_after_utc + skew


def _check_leaf(cert: x509.Certificate, now: dt.datetime, policy: CertificatePolicy) -> None:
    """The officer-certificate rules, each with its own message."""
    subject = cert.subject.rfc4514_string()
    constraints = _extension(cert, x509.BasicConstraints)
    if isinstance(constraints, x509.BasicConstraints) and constraints.ca:
        raise _reject(
            "卡内证书是证书颁发机构（CA）证书，不能作为关员证书登录，请联系发卡单位",
            f"{subject}: leaf has basicConstraints CA:TRUE",
        )
    usage = _extension(cert, x509.KeyUsage)
    if not isinstance(usage, x509.KeyUsage) or not usage.digital_signature:
        raise _reject(
            "卡内证书不允许用于数字签名（缺少 digitalSignature 密钥用途），请联系发卡单位",
            f"{subject}: key usage {usage} lacks digitalSignature",
        )
    if policy.require_client_auth:
        extended = _extension(cert, x509.ExtendedKeyUsage)
        if not isinstance(extended, x509.ExtendedKeyUsage) or (
            ExtendedKeyUsageOID.CLIENT_AUTH not in extended
        ):
            raise _reject(
                "卡内证书不允许用于身份认证（缺少 clientAuth 扩展密钥用途），请联系发卡单位",
                f"{subject}: extended key usage {extended} lacks clientAuth",
            )
    if not _check_validity(cert, now, policy.clock_skew):
        raise _reject(
            "卡内证书已过期或尚未生效，请联系发卡单位",
            f"certificate valid {cert.not_valid_before_utc}..{cert.not_valid_after_utc}, now {now}",
        )


def _verifier(
    anchors: list[x509.Certificate], at: dt.datetime, policy: CertificatePolicy
) -> verification.ClientVerifier:
    agnostic = verification.Criticality.AGNOSTIC
    # The leaf rules above are ours (own messages, clientAuth configurable); officer
    # certificates carry no subjectAltName and AKI is not needed to build the path.
    ee_policy = (
        verification.ExtensionPolicy.webpki_defaults_ee()
        .may_be_present(x509.SubjectAlternativeName, agnostic, None)
        .may_be_present(x509.AuthorityKeyIdentifier, agnostic, None)
        .may_be_present(x509.ExtendedKeyUsage, agnostic, None)
    )
    return (
        verification.PolicyBuilder()
        .store(verification.Store(anchors))
        .time(at)
        .max_chain_depth(policy.max_chain_depth)
        .extension_policies(
            ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(), ee_policy=ee_policy
        )
        .build_client_verifier()
    )


def _issuer_chain(cert: x509.Certificate, pool: list[x509.Certificate]) -> list[x509.Certificate]:
    """The CAs above ``cert`` found in ``pool`` by signature (for the diagnosis only)."""
    chain: list[x509.Certificate] = []
    current = cert
    while len(chain) < 8:
        issuer = next((ca for ca in pool if ca not in chain and _signed_by(current, ca)), None)
        if issuer is None:
            break
        chain.append(issuer)
        if issuer.issuer == issuer.subject:
            break
        current = issuer
    return chain


def _diagnose(
    cert: x509.Certificate, chain: list[x509.Certificate], now: dt.datetime, skew: dt.timedelta
) -> CertificateRejectedError | None:
    """Which CA of ``chain`` breaks the path, in words; None when none is obviously at fault."""
    for ca in chain:
        name = _name(ca)
        if not _check_validity(ca, now, skew):
            return _reject(
                f"签发此卡证书的机构证书（{name}）已过期或尚未生效，请联系发卡单位",
                f"CA {ca.subject.rfc4514_string()} valid {ca.not_valid_before_utc}.."
                f"{ca.not_valid_after_utc}, now {now}",
            )
        constraints = _extension(ca, x509.BasicConstraints)
        if not isinstance(constraints, x509.BasicConstraints) or not constraints.ca:
            return _reject(
                f"签发此卡证书的机构证书（{name}）不是 CA 证书，请联系发卡单位",
                f"issuer {ca.subject.rfc4514_string()} lacks basicConstraints CA:TRUE",
            )
        usage = _extension(ca, x509.KeyUsage)
        if isinstance(usage, x509.KeyUsage) and not usage.key_cert_sign:
            return _reject(
                f"签发此卡证书的机构证书（{name}）无权签发证书，请联系发卡单位",
                f"issuer {ca.subject.rfc4514_string()} lacks keyCertSign",
            )
    return None


def validate_certificate(
    cert: x509.Certificate,
    cas: list[x509.Certificate],
    now: dt.datetime,
    policy: CertificatePolicy,
) -> list[x509.Certificate]:
    """The validated chain (leaf first) of ``cert`` up to one of ``cas``; CardError else.

    Every certificate of ``cas`` is a trust anchor (a site may trust its issuing CA directly);
    those not self-signed also serve as intermediates for a path to a root above them."""
    public_key_of(cert)
    _check_leaf(cert, now, policy)
    chain = _issuer_chain(cert, cas)
    if not chain:
        raise _reject(
            "卡内证书不是本系统认可的机构签发的，请联系发卡单位",
            f"certificate {cert.subject.rfc4514_string()} not issued by a trusted CA",
        )
    intermediates = [ca for ca in cas if ca.issuer != ca.subject]
    error: Exception | None = None
    for at in (now, now - policy.clock_skew, now + policy.clock_skew):
        try:
            verified = _verifier(cas, at, policy).verify(cert, intermediates)
        except verification.VerificationError as exc:
            error = error or exc
            continue
        for ca in verified.chain[1:]:  # the library does not check the anchor's own dates
            if not _check_validity(ca, now, policy.clock_skew):
                raise _diagnose(cert, [ca], now, policy.clock_skew) or _reject(
                    "卡内证书链验证失败，请联系发卡单位", f"CA {ca.subject} out of validity"
                )
        return verified.chain
    raise _diagnose(cert, chain, now, policy.clock_skew) or _reject(
        "卡内证书链验证失败，请联系发卡单位", f"path validation: {error}"
    )


def officer_from_certificate(
    cert_der: bytes,
    cas: list[x509.Certificate],
    now: dt.datetime | None = None,
    *,
    policy: CertificatePolicy | None = None,
) -> Officer:
    """Validate ``cert_der`` (see the module docstring) and return its officer.

    Raises CardError (safe to show) when the certificate is unreadable, of an unsupported
    algorithm, fails the officer-certificate rules or the path to a trusted CA, or lacks the
    officer fields."""
    cert = load_certificate(cert_der)
    validate_certificate(cert, cas, now or dt.datetime.now(dt.UTC), policy or CertificatePolicy())
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


def challenge_hash(cert_der: bytes) -> hashes.HashAlgorithm:
    """The hash the card signs a challenge with: SHA-384 for P-384 keys, SHA-256 otherwise."""
    key = public_key_of(load_certificate(cert_der))
    if isinstance(key, ec.EllipticCurvePublicKey):
        return SUPPORTED_CURVES[key.curve.name]()
    return hashes.SHA256()


def public_key_der(cert_der: bytes) -> bytes:
    """The SubjectPublicKeyInfo of a certificate (to compare the keys of two cards)."""
    return (
        load_certificate(cert_der)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def verify_challenge(cert_der: bytes, challenge: bytes, signature: bytes) -> bool:
    """True when ``signature`` over ``challenge`` was made by the certificate's key."""
    try:
        key = public_key_of(load_certificate(cert_der))
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, challenge, ec.ECDSA(SUPPORTED_CURVES[key.curve.name]()))
        else:
            key.verify(signature, challenge, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, CardError):
        return False
    return True
