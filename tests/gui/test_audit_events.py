"""The officer's session at the desk lands in the audit log (issue 11, finding 5).

Real stack: pyscard → pcscd → vpcd → the virtual PIV card; the bridge's events go through
``AuditFeed`` into the desk's encrypted store, and the chain still verifies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from pcsc_stack import CardFactory
from pytestqt.qtbot import QtBot

from bts_desk.card.monitor import PresenceMonitor
from bts_desk.card.piv import PivProfile
from bts_desk.card.session import OfficerSession, SessionState
from bts_desk.domain import BordererFilter
from bts_desk.drivers.piv_card import pki
from bts_desk.drivers.piv_card.pki import OfficerCredentials
from bts_desk.store.audit import AuditAction, query_audit, verify
from bts_desk.store.db import Database
from bts_desk.ui.audit_feed import AuditFeed
from bts_desk.ui.card_session import CardSessionBridge

pytestmark = pytest.mark.pcscd
PIN = "123456"


@pytest.fixture
def bridge(qtbot: QtBot, pcscd: list[str], test_ca: pki.TestCa) -> Iterator[CardSessionBridge]:
    b = CardSessionBridge(
        OfficerSession(PivProfile(), [test_ca.certificate]), PresenceMonitor(interval_s=0.25)
    )
    yield b
    b.close()


def _try(qtbot: QtBot, run: Callable[..., None], pin: str) -> None:
    done: list[object] = []
    run(pin, done.append, done.append)
    qtbot.waitUntil(lambda: bool(done), timeout=5000)


def test_login_wrong_pin_lock_unlock_search_logout_are_recorded(
    qtbot: QtBot,
    bridge: CardSessionBridge,
    virtual_cards: CardFactory,
    officer_credentials: Callable[..., OfficerCredentials],
    db: Database,
) -> None:
    feed = AuditFeed(db, "desk-7")
    bridge.session_changed.connect(feed.session_event)
    bridge.attempt_failed.connect(feed.attempt_failed)
    card = virtual_cards(officer_credentials())
    _try(qtbot, bridge.login, "000000")
    _try(qtbot, bridge.login, PIN)
    assert bridge.state is SessionState.LOGGED_IN
    feed.search(bridge.officer, BordererFilter(name="440306198503020120"))
    card.remove()
    qtbot.waitUntil(lambda: bridge.state is SessionState.LOCKED, timeout=3000)
    card.insert()
    qtbot.waitUntil(
        lambda: bridge.presence is not None and bridge.presence.card_reader is not None,
        timeout=3000,
    )
    _try(qtbot, bridge.unlock, "999999")
    _try(qtbot, bridge.unlock, PIN)
    bridge.logout()
    expected = [
        AuditAction.WRONG_PIN, AuditAction.LOGIN, AuditAction.SEARCH, AuditAction.LOCK,
        AuditAction.WRONG_PIN, AuditAction.UNLOCK, AuditAction.LOGOUT,
    ]  # fmt: skip
    qtbot.waitUntil(lambda: len(query_audit(db)) >= len(expected), timeout=5000)
    entries = list(reversed(query_audit(db)))
    assert [e.action for e in entries] == expected
    assert all(e.officer_id == "GY860901" and e.desk_id == "desk-7" for e in entries)
    assert entries[0].detail == "PIN 错误，还可尝试 2 次"
    assert entries[4].detail == "PIN 错误，还可尝试 2 次"  # a good PIN reset the counter
    assert "440*****120" in entries[2].detail and "198503020" not in entries[2].detail
    assert entries[3].detail == "拔卡锁定"
    assert verify(db).ok
