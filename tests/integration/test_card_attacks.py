"""The officer card tried as an attacker would (issue 11, findings 1 and 3), over the real stack:
pyscard → pcscd → vpcd → the virtual PIV card.

A certificate is public: anyone can read a real officer's from his card without the PIN and put
it on a card of their own, with their own key and PIN. Such a card must open nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pcsc_stack import CardFactory, Events, reader_name, wait_card_state

from bts_desk.card.identity import verify_challenge
from bts_desk.card.monitor import PresenceMonitor
from bts_desk.card.piv import PivProfile
from bts_desk.card.profile import KeyMismatchError
from bts_desk.card.revocation import CertificateRevokedError, RevocationStore
from bts_desk.card.session import OfficerSession, Reason, SessionState
from bts_desk.config import Settings
from bts_desk.drivers.piv_card import pki
from bts_desk.drivers.piv_card.pki import OfficerCredentials
from bts_desk.errors import CardError

pytestmark = pytest.mark.pcscd

PIN = "123456"
THIEF_PIN = "999999"
KEY_MISMATCH = "卡片密钥验证失败"


@pytest.fixture
def monitor(pcscd: list[str]) -> Iterator[PresenceMonitor]:
    m = PresenceMonitor(interval_s=0.25)
    m.start()
    yield m
    m.stop()


@pytest.fixture
def make_session(
    test_ca: pki.TestCa, monitor: PresenceMonitor
) -> Iterator[Callable[..., OfficerSession]]:
    made: list[tuple[OfficerSession, Callable[[], None]]] = []

    def make(revocation: RevocationStore | None = None) -> OfficerSession:
        session = OfficerSession(PivProfile(), [test_ca.certificate], revocation=revocation)
        made.append((session, monitor.add_tick_listener(session.on_tick)))
        return session

    yield make
    for session, unsubscribe in made:
        unsubscribe()
        session.logout()


def copied(real: OfficerCredentials, key_kind: pki.KeyKind = "p256") -> OfficerCredentials:
    """The thief's card: the real officer's certificate, the thief's own key."""
    return OfficerCredentials(key=pki.generate_key(key_kind), certificate=real.certificate)


@pytest.mark.parametrize("thief_key", ["p256", "rsa2048"], ids=["same-algorithm", "rsa-key"])
def test_copied_certificate_with_another_key_cannot_log_in(
    make_session: Callable[..., OfficerSession],
    virtual_cards: CardFactory,
    officer_credentials: Callable[..., OfficerCredentials],
    thief_key: pki.KeyKind,
) -> None:
    session = make_session()
    events = Events()
    session.add_listener(events)
    virtual_cards(copied(officer_credentials(), thief_key), THIEF_PIN)
    with pytest.raises(KeyMismatchError) as error:
        session.login(THIEF_PIN)
    assert error.value.user_message.startswith(KEY_MISMATCH)
    assert session.state is SessionState.LOGGED_OUT
    assert session.officer is None
    assert events.seen == []  # no LOGGED_IN, not even for a moment


def test_copied_certificate_cannot_unlock_the_real_officers_session(
    make_session: Callable[..., OfficerSession],
    virtual_cards: CardFactory,
    officer_credentials: Callable[..., OfficerCredentials],
) -> None:
    session = make_session()
    events = Events()
    session.add_listener(events)
    real = officer_credentials()
    card = virtual_cards(real)
    officer = session.login(PIN)
    card.remove()
    events.wait(SessionState.LOCKED)
    wait_card_state(reader_name(0), present=False)
    thief = virtual_cards(copied(real), THIEF_PIN)
    assert session.examine_card() == officer  # it looks like his card…
    with pytest.raises(KeyMismatchError) as error:
        session.unlock(THIEF_PIN)  # …but cannot prove it
    assert error.value.user_message.startswith(KEY_MISMATCH)
    assert session.state is SessionState.LOCKED
    with pytest.raises(CardError):
        session.sign_challenge(b"enrollment upload")
    thief.remove()
    wait_card_state(reader_name(0), present=False)
    card.insert()
    wait_card_state(reader_name(0), present=True)
    assert session.unlock(PIN) == officer  # the real card still unlocks


@pytest.mark.parametrize("kind", ["p256", "p384", "rsa2048"])
def test_each_piv_algorithm_logs_in_and_signs(
    make_session: Callable[..., OfficerSession],
    virtual_cards: CardFactory,
    test_ca: pki.TestCa,
    kind: pki.KeyKind,
) -> None:
    credentials = pki.issue_officer(test_ca, "李海关", "GY860901", "8609", key_kind=kind)
    virtual_cards(credentials)
    session = make_session()
    officer = session.login(PIN)
    challenge = b"sync service challenge"
    assert verify_challenge(officer.certificate_der, challenge, session.sign_challenge(challenge))


@pytest.mark.parametrize(
    ("make_der", "message"),
    [
        (lambda ca: pki.issue_officer(ca, "甲", "GY1", "8609", ca_flag=True).der, "CA）证书"),
        (
            lambda ca: pki.issue_officer(ca, "乙", "GY2", "8609", digital_signature=False).der,
            "digitalSignature",
        ),
        (lambda ca: pki.sm2_officer_certificate(ca, "丙", "GY3", "8609"), "此卡证书算法暂不支持"),
    ],
    ids=["leaf-ca-true", "no-digital-signature", "sm2"],
)
def test_bad_certificates_are_refused_before_the_pin(
    make_session: Callable[..., OfficerSession],
    virtual_cards: CardFactory,
    test_ca: pki.TestCa,
    make_der: Callable[[pki.TestCa], bytes],
    message: str,
) -> None:
    from cryptography import x509

    der = make_der(test_ca)
    if b"\x2a\x81\x1c\xcf\x55\x01\x82\x2d" in der:  # SM2: the emulator needs some key
        certificate = pki.issue_officer(test_ca, "x", "x", "x").certificate
        card = virtual_cards(OfficerCredentials(pki.generate_key(), certificate))
        with card.locked() as applet:
            applet.certificate_der = der
    else:
        certificate = x509.load_der_x509_certificate(der)
        card = virtual_cards(OfficerCredentials(pki.generate_key(), certificate))
    with pytest.raises(CardError) as error:
        make_session().login(PIN)
    assert message in error.value.user_message
    with card.locked() as applet:
        assert applet.tries_left == 3  # refused before the PIN was sent


def test_card_issued_by_an_expired_ca_is_refused(
    pcscd: list[str], virtual_cards: CardFactory, monitor: PresenceMonitor
) -> None:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    expired = pki.make_ca("Expired Officer CA", days=300, not_before=old)
    virtual_cards(pki.issue_officer(expired, "丁", "GY4", "8609"))
    session = OfficerSession(PivProfile(), [expired.certificate])
    with pytest.raises(CardError) as error:
        session.login(PIN)
    assert "（Expired Officer CA）已过期" in error.value.user_message


def test_revoked_card_is_refused_and_an_open_session_locks_at_the_refresh(
    make_session: Callable[..., OfficerSession],
    virtual_cards: CardFactory,
    officer_credentials: Callable[..., OfficerCredentials],
    test_ca: pki.TestCa,
) -> None:
    credentials = officer_credentials()
    virtual_cards(credentials)
    revocation = RevocationStore([test_ca.certificate])
    session = make_session(revocation)
    events = Events()
    session.add_listener(events)
    session.login(PIN)
    # The sync worker fetches a CRL listing this card while the officer works.
    revocation.update_from_der(pki.make_crl(test_ca, [credentials.certificate.serial_number]))
    assert events.wait(SessionState.LOCKED).reason is Reason.REVOKED
    with pytest.raises(CertificateRevokedError) as error:
        session.unlock(PIN)
    assert error.value.user_message == "此卡证书已被吊销，不能登录，请联系发卡单位"
    session.logout()
    with pytest.raises(CertificateRevokedError):
        session.login(PIN)


def test_configured_crl_file_refuses_and_locks(
    monitor: PresenceMonitor,
    virtual_cards: CardFactory,
    officer_credentials: Callable[..., OfficerCredentials],
    test_ca: pki.TestCa,
    tmp_path: Path,
) -> None:
    """``[card] crl`` from the machine-wide config: read at start, re-read when IT replaces it."""
    revoked, kept = officer_credentials(), officer_credentials("王关员", "GY860902")
    crl = tmp_path / "officers.crl"
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    crl.write_bytes(pki.make_crl(test_ca, [revoked.certificate.serial_number], this_update=old))
    settings = Settings().replace(
        "card", ca_cert=str(_write(tmp_path / "ca.pem", test_ca.pem)), crl=str(crl)
    )
    settings = settings.replace("paths", data_dir=str(tmp_path / "data"))
    session = OfficerSession.from_settings(settings)
    session.CRL_FILE_CHECK_S = 0.2
    unsubscribe = monitor.add_tick_listener(session.on_tick)
    try:
        card = virtual_cards(revoked)
        with pytest.raises(CertificateRevokedError):
            session.login(PIN)
        card.remove()
        wait_card_state(reader_name(0), present=False)
        virtual_cards(kept)
        events = Events()
        session.add_listener(events)
        session.login(PIN)
        crl.write_bytes(pki.make_crl(test_ca, [kept.certificate.serial_number]))
        assert events.wait(SessionState.LOCKED, timeout=3).reason is Reason.REVOKED
    finally:
        unsubscribe()
        session.logout()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
