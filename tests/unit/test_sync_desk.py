"""Assembling the desk's sync from settings and following the card session (no network)."""

from __future__ import annotations

from bts_desk.card.session import Reason, SessionEvent, SessionState
from bts_desk.config import Settings
from bts_desk.domain import Officer
from bts_desk.drivers.piv_card.pki import issue_officer, make_ca
from bts_desk.store.crypto import DeskKey
from bts_desk.store.db import Database
from bts_desk.sync.desk import DeskSync
from bts_desk.sync.outbox import Backoff


def test_no_url_means_an_offline_desk(settings: Settings, db: Database) -> None:
    assert DeskSync.from_settings(settings, db, DeskKey.generate()) is None


def test_card_session_events_drive_who_may_upload(settings: Settings, db: Database) -> None:
    settings = settings.replace("sync", url="http://127.0.0.1:9")
    sync = DeskSync.from_settings(settings, db, DeskKey.generate())
    assert sync is not None
    cred = issue_officer(make_ca(), "李明", "GZ1001", "5301")
    officer = Officer("GZ1001", "李明", "5301", cred.der)
    signed: list[bytes] = []

    def sign(challenge: bytes) -> bytes:
        signed.append(challenge)
        return b"sig"

    for state, expected in [
        (SessionState.LOGGED_IN, {"GZ1001"}),
        (SessionState.LOCKED, set()),
        (SessionState.LOGGED_IN, {"GZ1001"}),
        (SessionState.LOGGED_OUT, set()),
    ]:
        sync.follow_card_session(SessionEvent(state, Reason.LOGIN, officer), sign)
        assert sync.tokens.officers() == expected
    assert signed == []  # nothing is signed until the worker needs a token
    sync.stop()


def test_backoff_grows_and_is_capped() -> None:
    backoff = Backoff(base_s=10, max_s=100, jitter=0.0)
    assert [backoff.delay(n) for n in (1, 2, 3, 4, 5, 9)] == [10, 20, 40, 80, 100, 100]
    jittery = Backoff(base_s=10, max_s=100, jitter=0.5)
    assert all(5 <= jittery.delay(1) <= 15 for _ in range(50))
