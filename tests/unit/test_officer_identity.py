from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from bts_desk.card.identity import load_ca_certificates, officer_from_certificate, verify_challenge
from bts_desk.drivers.piv_card.pki import issue_officer, make_ca
from bts_desk.errors import CardError


def test_officer_fields_come_from_a_trusted_certificate() -> None:
    ca = make_ca()
    creds = issue_officer(ca, "李海关", "GY0001", "8609")
    officer = officer_from_certificate(creds.der, load_ca_certificates(ca.pem))
    assert (officer.name, officer.officer_id, officer.customs_code) == ("李海关", "GY0001", "8609")


def test_certificate_of_another_ca_is_refused() -> None:
    trusted, rogue = make_ca(), make_ca("Rogue CA")
    creds = issue_officer(rogue, "冒名", "X1", "8609")
    with pytest.raises(CardError) as info:
        officer_from_certificate(creds.der, [trusted.certificate])
    assert "认可" in info.value.user_message


def test_expired_certificate_is_refused() -> None:
    ca = make_ca()
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=1000)
    creds = issue_officer(ca, "旧卡", "X2", "8609", not_before=old, days=30)
    with pytest.raises(CardError):
        officer_from_certificate(creds.der, [ca.certificate])


def test_challenge_signature_checks_the_key() -> None:
    ca = make_ca()
    creds = issue_officer(ca, "李海关", "GY0001", "8609")
    challenge = b"nonce-123"
    signature = creds.key.sign(challenge, ec.ECDSA(hashes.SHA256()))
    assert verify_challenge(creds.der, challenge, signature)
    assert not verify_challenge(creds.der, b"other", signature)
    other = issue_officer(ca, "王", "GY0002", "8609")
    assert not verify_challenge(other.der, challenge, signature)
