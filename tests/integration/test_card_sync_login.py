"""The card session signs the sync service's officer login, end to end.

pyscard → pcscd → vpcd → the virtual PIV card signs the challenge of the reference sync service
(on 127.0.0.1) through ``CallableSigner(officer.certificate_der, session.sign_challenge)``, the
wiring the app uses; the service checks the signature and the certificate against its CA.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pcsc_stack import CardFactory

from bts_desk.card.monitor import PresenceMonitor
from bts_desk.card.piv import PivProfile
from bts_desk.card.session import NotLoggedInError, OfficerSession, SessionState
from bts_desk.drivers.piv_card import pki
from bts_desk.service.local import LocalService, start_local_service
from bts_desk.sync.auth import CallableSigner, OfficerAuth
from bts_desk.sync.client import SyncClient

pytestmark = pytest.mark.pcscd


@pytest.fixture
def service(tmp_path: Path, test_ca: pki.TestCa) -> Iterator[LocalService]:
    svc = start_local_service(f"sqlite:///{tmp_path / 'service.db'}", test_ca.pem)
    yield svc
    svc.stop()


def test_card_signs_the_sync_officer_login(
    service: LocalService,
    test_ca: pki.TestCa,
    virtual_cards: CardFactory,
    officer_credentials: Callable[..., pki.OfficerCredentials],
) -> None:
    card = virtual_cards(officer_credentials())
    session = OfficerSession(PivProfile(), [test_ca.certificate])
    locked = threading.Event()
    session.add_listener(lambda e: locked.set() if e.state is SessionState.LOCKED else None)
    monitor = PresenceMonitor(interval_s=0.25)
    monitor.add_tick_listener(session.on_tick)
    monitor.start()
    client = SyncClient(service.url, desk_id="desk-test")
    try:
        officer = session.login("123456")
        auth = OfficerAuth(client, CallableSigner(officer.certificate_der, session.sign_challenge))
        assert auth.token()
        assert auth.officer_id == "GY860901"
        card.remove()  # pulled: no more signatures until the officer unlocks
        assert locked.wait(3)
        auth.invalidate()
        with pytest.raises(NotLoggedInError):
            auth.token()
    finally:
        client.close()
        monitor.stop()
        session.logout()
