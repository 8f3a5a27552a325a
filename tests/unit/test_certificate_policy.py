"""Officer certificate validation and revocation, tried as an attacker would (issue 11, 3).

Each refused certificate has its own message; none raises anything but a CardError."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509

from bts_desk.card.identity import (
    CertificatePolicy,
    CertificateRejectedError,
    UnsupportedCertificateAlgorithmError,
    officer_from_certificate,
)
from bts_desk.card.revocation import CertificateRevokedError, CrlError, RevocationStore
from bts_desk.drivers.piv_card import pki
from bts_desk.errors import CardError

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def root() -> pki.TestCa:
    return pki.make_ca("Policy Root CA")


def officer(ca: pki.TestCa, **options: object) -> bytes:
    return pki.issue_officer(ca, "李海关", "GY860901", "8609", **options).der  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["p256", "p384", "rsa2048"])
def test_supported_keys_are_accepted(root: pki.TestCa, kind: pki.KeyKind) -> None:
    found = officer_from_certificate(officer(root, key_kind=kind), [root.certificate])
    assert found.officer_id == "GY860901"


def test_path_through_an_intermediate(root: pki.TestCa) -> None:
    issuing = pki.make_ca("Issuing CA", issuer=root)
    der = officer(issuing)
    assert officer_from_certificate(der, [root.certificate, issuing.certificate]).name == "李海关"
    with pytest.raises(CardError, match="not issued by a trusted CA"):
        officer_from_certificate(der, [root.certificate])  # the intermediate is not known


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ca_flag": True}, "卡内证书是证书颁发机构（CA）证书"),
        ({"digital_signature": False}, "缺少 digitalSignature"),
        ({"client_auth": False}, "缺少 clientAuth"),
        ({"not_before": NOW - dt.timedelta(days=100), "days": 30}, "卡内证书已过期或尚未生效"),
    ],
    ids=["leaf-ca-true", "no-digital-signature", "no-client-auth", "expired-leaf"],
)
def test_bad_leaves_are_refused_each_with_its_message(
    root: pki.TestCa, options: dict[str, object], message: str
) -> None:
    with pytest.raises(CertificateRejectedError) as error:
        officer_from_certificate(officer(root, **options), [root.certificate])
    assert message in error.value.user_message


def test_client_auth_requirement_is_configurable(root: pki.TestCa) -> None:
    der = officer(root, client_auth=False)
    relaxed = CertificatePolicy(require_client_auth=False)
    assert officer_from_certificate(der, [root.certificate], policy=relaxed).name == "李海关"


@pytest.mark.parametrize("intermediate", [False, True], ids=["expired-root", "expired-issuing"])
def test_certificate_of_an_expired_ca_is_refused(root: pki.TestCa, intermediate: bool) -> None:
    old = NOW - dt.timedelta(days=400)
    expired = pki.make_ca(
        "Expired CA", days=300, not_before=old, issuer=root if intermediate else None
    )
    der = officer(expired)  # issued now, by a CA that has expired
    trusted = [root.certificate, expired.certificate] if intermediate else [expired.certificate]
    with pytest.raises(CertificateRejectedError) as error:
        officer_from_certificate(der, trusted)
    assert error.value.user_message.startswith("签发此卡证书的机构证书（Expired CA）已过期")


def test_clock_skew_is_tolerated_within_the_setting(root: pki.TestCa) -> None:
    now = dt.datetime.now(dt.UTC)  # not NOW: a slow run must not let the 2 minutes pass
    der = officer(root, not_before=now + dt.timedelta(minutes=2))  # desk clock 2 min behind
    assert officer_from_certificate(der, [root.certificate]).officer_id == "GY860901"
    strict = CertificatePolicy(clock_skew=dt.timedelta(seconds=30))
    with pytest.raises(CertificateRejectedError, match="certificate valid"):
        officer_from_certificate(der, [root.certificate], policy=strict)


def test_sm2_certificate_is_refused_clearly(root: pki.TestCa) -> None:
    der = pki.sm2_officer_certificate(root, "国密卡", "GY000002", "8609")
    with pytest.raises(UnsupportedCertificateAlgorithmError) as error:
        officer_from_certificate(der, [root.certificate])
    assert error.value.user_message.startswith("此卡证书算法暂不支持（国密 SM2）")


def test_garbage_is_a_card_error_not_a_traceback(root: pki.TestCa) -> None:
    with pytest.raises(CardError, match="DER"):
        officer_from_certificate(b"\x30\x03\x02\x01\x01", [root.certificate])


# --- revocation -----------------------------------------------------------------------------


def _cert(der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)


def test_crl_from_the_service_revokes_and_is_cached(root: pki.TestCa, tmp_path: Path) -> None:
    victim, other = _cert(officer(root)), _cert(officer(root))
    cache = tmp_path / "card-crl.der"
    store = RevocationStore([root.certificate], cache_file=cache)
    changes: list[int] = []
    store.add_listener(lambda: changes.append(1))
    store.check(victim)  # no CRL yet: nothing revoked
    assert store.update_from_der(pki.make_crl(root, [victim.serial_number]))
    with pytest.raises(CertificateRevokedError) as error:
        store.check(victim)
    assert error.value.user_message == "此卡证书已被吊销，不能登录，请联系发卡单位"
    store.check(other)
    assert changes == [1]
    # A restarted, offline desk still knows.
    again = RevocationStore([root.certificate], cache_file=cache)
    again.load()
    with pytest.raises(CertificateRevokedError):
        again.check(victim)


def test_forged_stale_or_older_crls_are_not_taken(root: pki.TestCa) -> None:
    victim = _cert(officer(root))
    store = RevocationStore([root.certificate])
    forger = pki.make_ca(root.certificate.subject.rfc4514_string().removeprefix("CN="))
    with pytest.raises(CrlError, match="no trusted CA"):
        store.update_from_der(pki.make_crl(root, [victim.serial_number], signer=forger))
    stale = pki.make_crl(root, [], this_update=NOW - dt.timedelta(days=30), days=7)
    with pytest.raises(CrlError) as error:
        store.update_from_der(stale)
    assert "已过期" in error.value.user_message
    with pytest.raises(CrlError, match="bad CRL"):
        store.update_from_der(b"not a crl")
    assert store.update_from_der(pki.make_crl(root, [victim.serial_number]))
    older = pki.make_crl(root, [], this_update=NOW - dt.timedelta(hours=1))
    assert not store.update_from_der(older)  # an older CRL never un-revokes
    with pytest.raises(CertificateRevokedError):
        store.check(victim)


def test_configured_crl_file_is_reread_when_it_changes(root: pki.TestCa, tmp_path: Path) -> None:
    victim = _cert(officer(root))
    crl_file = tmp_path / "officers.crl"
    crl_file.write_bytes(pki.make_crl(root, [], this_update=NOW - dt.timedelta(hours=2)))
    store = RevocationStore([root.certificate], crl_file=crl_file)
    store.load()
    store.check(victim)
    assert not store.refresh_file()  # unchanged: only a stat
    crl_file.write_bytes(pki.make_crl(root, [victim.serial_number]))
    assert store.refresh_file()
    with pytest.raises(CertificateRevokedError):
        store.check(victim)


def test_unreadable_configured_crl_is_reported_for_it(root: pki.TestCa, tmp_path: Path) -> None:
    store = RevocationStore([root.certificate], crl_file=tmp_path / "missing.crl")
    with pytest.raises(CrlError) as error:
        store.load()
    assert "系统管理员" in error.value.user_message
