"""The desk's sync, assembled from the settings: client, officer tokens, worker.

    sync = DeskSync.from_settings(settings, db, key)   # None when no sync.url is configured
    sync.reporter.watch_devices(reader.status, ...)    # device lamps in the status reports
    sync.start()                                       # with the app (background threads)
    bridge.session_changed.connect(                    # the card session drives the tokens
        lambda event: sync.follow_card_session(event, bridge.session.sign_challenge))
    sync.saved()                                       # after save_enrollment: upload soon
    sync.stop()                                        # at exit

Qt-free; every method returns at once (the work happens on the worker's thread).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bts_desk.card.session import SessionEvent, SessionState
from bts_desk.config import Settings
from bts_desk.domain import Officer
from bts_desk.store.crypto import DeskKey
from bts_desk.store.db import Database
from bts_desk.sync.auth import CallableSigner, ChallengeSigner, TokenBroker
from bts_desk.sync.client import SyncClient
from bts_desk.sync.outbox import SyncWorker
from bts_desk.sync.reporter import StatusReporter

log = logging.getLogger(__name__)


@dataclass
class DeskSync:
    client: SyncClient
    tokens: TokenBroker
    worker: SyncWorker
    reporter: StatusReporter

    @classmethod
    def from_settings(cls, settings: Settings, db: Database, key: DeskKey) -> DeskSync | None:
        """The desk's sync for ``settings.sync`` (None: offline desk, the outbox keeps all)."""
        if not settings.sync.url:
            log.info("no sync.url configured: enrollments stay in the outbox")
            return None
        client = SyncClient(
            settings.sync.url,
            desk_id=settings.desk.id,
            timeout_s=settings.sync.timeout_s,
            ca_cert=settings.sync.ca_cert,
        )
        tokens = TokenBroker(client)
        worker = SyncWorker(db, client, tokens, key, interval_s=settings.sync.interval_s)
        reporter = StatusReporter(
            db,
            client,
            tokens,
            desk_id=settings.desk.id,
            district=settings.desk.customs_code,
            interval_s=settings.sync.report_interval_s,
        )
        return cls(client, tokens, worker, reporter)

    def start(self) -> None:
        self.worker.start()
        self.reporter.start()

    def stop(self) -> None:
        self.reporter.stop()
        self.worker.stop()
        self.client.close()

    def officer_logged_in(self, officer: Officer, sign: Callable[[bytes], bytes]) -> None:
        """The officer's card signs the service's challenges (``OfficerSession.sign_challenge``);
        their waiting uploads go now."""
        self.set_signer(CallableSigner(officer.certificate_der, sign))

    def set_signer(self, signer: ChallengeSigner | None) -> None:
        self.tokens.set_signer(signer)
        self.worker.wake()
        if signer is not None:
            self.reporter.wake()  # a report waiting for a login goes now

    def officer_logged_out(self) -> None:
        self.tokens.set_signer(None)

    def follow_card_session(self, event: SessionEvent, sign: Callable[[bytes], bytes]) -> None:
        """Feed the card session's events (``CardSessionBridge.session_changed``): uploads go
        with the logged-in officer's card; while locked or logged out they wait, showing
        "等待关员 X 登录后上传". ``sign`` is ``OfficerSession.sign_challenge``."""
        if event.state is SessionState.LOGGED_IN and event.officer is not None:
            self.officer_logged_in(event.officer, sign)
        else:
            self.officer_logged_out()

    def saved(self) -> None:
        """A 补录 was saved: upload it soon (the pass starts by publishing the new count)."""
        self.worker.wake()
