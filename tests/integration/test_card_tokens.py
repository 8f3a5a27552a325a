"""The card suite run twice over the same virtual PIV card (issue 17): once through the PIV
profile over PC/SC, once through OpenSC's PKCS#11 module (``opensc-pkcs11.so``), which reaches
the card through the same pcscd + vpcd. Login, wrong PIN, blocked, removal lock, unlock, the
sync challenge, a copied certificate, a token pulled mid-login."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from pcsc_stack import CardFactory, Events, reader_name, wait_card_state
from pkcs11_stack import OPENSC_MODULE

from bts_desk.card.identity import verify_challenge
from bts_desk.card.monitor import PresenceMonitor
from bts_desk.card.piv import PivProfile
from bts_desk.card.pkcs11 import Pkcs11TokenSource
from bts_desk.card.profile import KeyMismatchError, PinBlockedError, WrongPinError
from bts_desk.card.session import OfficerSession, Reason, SessionState
from bts_desk.drivers.piv_card import pki
from bts_desk.drivers.piv_card.pki import OfficerCredentials
from bts_desk.errors import CardError

pytestmark = pytest.mark.pcscd

PIN = "123456"


@pytest.fixture(params=["piv", "pkcs11"])
def session(
    request: pytest.FixtureRequest, pcscd: list[str], test_ca: pki.TestCa
) -> Iterator[OfficerSession]:
    source = Pkcs11TokenSource(OPENSC_MODULE) if request.param == "pkcs11" else None
    session = OfficerSession(source or PivProfile(), [test_ca.certificate])
    monitor = PresenceMonitor(interval_s=0.25)
    monitor.add_tick_listener(session.on_tick)
    monitor.start()
    yield session
    monitor.stop()
    session.logout()
    if source is not None:
        source.close()


def test_login_and_the_sync_challenge(
    session: OfficerSession,
    virtual_cards: CardFactory,
    officer_credentials: Callable[..., OfficerCredentials],
) -> None:
    virtual_cards(officer_credentials())
    officer = session.login(PIN)
    assert (officer.name, officer.officer_id) == ("李海关", "GY860901")
    assert session.token_location
    challenge = b"sync service challenge"
    assert verify_challenge(officer.certificate_der, challenge, session.sign_challenge(challenge))


def test_wrong_pin_then_blocked(
    session: OfficerSession,
    virtual_cards: CardFactory,
    officer_credentials: Callable[..., OfficerCredentials],
) -> None:
    card = virtual_cards(officer_credentials(), tries=2)
    with pytest.raises(WrongPinError) as wrong:
        session.login("654321")
    assert wrong.value.user_message.startswith("PIN 错误")
    with card.locked() as applet:
        assert applet.tries_left == 1  # presented once, never retried
    with pytest.raises(PinBlockedError) as blocked:
        session.login("000000")
    assert "发卡单位" in blocked.value.user_message
    with pytest.raises(PinBlockedError):
        session.login(PIN)
    assert session.state is SessionState.LOGGED_OUT


def test_removal_locks_and_the_same_card_unlocks(
    session: OfficerSession,
    virtual_cards: CardFactory,
    officer_credentials: Callable[..., OfficerCredentials],
) -> None:
    card = virtual_cards(officer_credentials())
    events = Events()
    session.add_listener(events)
    officer = session.login(PIN)
    pulled = time.monotonic()
    card.remove()
    assert events.wait(SessionState.LOCKED).reason is Reason.CARD_REMOVED
    print(f"{session.source.name}: locked {1000 * (time.monotonic() - pulled):.0f} ms after pull")
    assert time.monotonic() - pulled < 1.0
    with pytest.raises(CardError):
        session.sign_challenge(b"while locked")
    wait_card_state(reader_name(0), present=False)
    card.insert()
    wait_card_state(reader_name(0), present=True)
    assert session.unlock(PIN) == officer
    assert verify_challenge(officer.certificate_der, b"again", session.sign_challenge(b"again"))


def test_copied_certificate_is_refused(
    session: OfficerSession,
    virtual_cards: CardFactory,
    officer_credentials: Callable[..., OfficerCredentials],
) -> None:
    real = officer_credentials()
    virtual_cards(OfficerCredentials(key=pki.generate_key(), certificate=real.certificate))
    with pytest.raises(KeyMismatchError) as error:
        session.login(PIN)
    assert error.value.user_message.startswith("卡片密钥验证失败")
    assert session.state is SessionState.LOGGED_OUT


def test_token_pulled_mid_login(
    session: OfficerSession,
    virtual_cards: CardFactory,
    officer_credentials: Callable[..., OfficerCredentials],
) -> None:
    card = virtual_cards(officer_credentials())
    applet = card.applet
    original = applet.process

    def pull_at_verify(apdu: bytes) -> bytes:
        if len(apdu) > 5 and apdu[1] == 0x20:  # VERIFY with a PIN: the officer pulls the card
            card.remove()
        return original(apdu)

    applet.process = pull_at_verify  # type: ignore[method-assign]
    with pytest.raises(CardError) as error:
        session.login(PIN)
    assert session.state is SessionState.LOGGED_OUT
    assert "拔出" in error.value.user_message or "无响应" in error.value.user_message
    print(f"{session.source.name}: pulled mid-login → {error.value.user_message!r}")
