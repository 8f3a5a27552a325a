"""The desk's status reporter: tells the service how this desk is doing, for IT's console.

One plain daemon thread beside the sync worker (Qt-free). It reports at start and then every
``interval_s`` (and soon after ``wake()``: an officer logged in), always with the logged-in
officer's token (``TokenBroker.any_auth``): while nobody is logged in, the report waits and is
built fresh — with the state of that moment — once somebody is. A failed send (offline, 5xx)
is retried at the next tick; the reporter never touches the outbox's own schedule.

What a report holds (``bts_desk.sync.wire.report``) is read here: outbox counts and refusal
reasons (SQL in the worker thread), device states from callables handed in by the desk's
wiring (``DeviceMonitor.status`` is cheap and thread-safe), the pull cursor and the audit
chain's head from ``sync_state`` (the head is a MAC, no content: the service anchors it so
that a rolled-back or rewritten log shows on IT's console). No officer, record or ID number
goes into it.
"""

from __future__ import annotations

import datetime as dt
import logging
import platform
import threading
from collections.abc import Callable

from sqlalchemy import func, select

from bts_desk import __version__
from bts_desk.devices.status import DeviceStatus
from bts_desk.domain import OutboxState
from bts_desk.errors import DeskError
from bts_desk.store import audit, sync_state
from bts_desk.store.db import Database
from bts_desk.store.models import EnrollmentRow, OutboxRow
from bts_desk.sync.auth import TokenBroker
from bts_desk.sync.client import SyncAuthError, SyncClient
from bts_desk.sync.wire.report import (
    MAX_REFUSAL_REASONS,
    DeskReport,
    DeskReportAck,
    DeviceReport,
    OutboxReport,
    RefusalCount,
)

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 300.0
_PENDING = (OutboxState.PENDING.value, OutboxState.SENDING.value)


def _os_name() -> str:
    return f"{platform.system()} {platform.release()} ({platform.machine()})"[:100]


def outbox_report(db: Database, present: set[str], now: dt.datetime) -> OutboxReport:
    """Counts of the outbox; ``present``: officers logged in now (their entries can go)."""
    with db.session() as session:
        pending_rows = session.execute(
            select(EnrollmentRow.officer_id, func.count(), func.min(OutboxRow.created_at))
            .join(EnrollmentRow, EnrollmentRow.uuid == OutboxRow.enrollment_uuid)
            .where(OutboxRow.state.in_(_PENDING))
            .group_by(EnrollmentRow.officer_id)
        ).all()
        refusal_rows = session.execute(
            select(OutboxRow.last_error, func.count())
            .where(OutboxRow.state == OutboxState.REFUSED.value)
            .group_by(OutboxRow.last_error)
            .order_by(func.count().desc())
        ).all()
    pending = sum(int(n) for _officer, n, _oldest in pending_rows)
    waiting = sum(int(n) for officer, n, _oldest in pending_rows if officer not in present)
    oldest = min((o for _officer, _n, o in pending_rows if o is not None), default=None)
    age = None
    if oldest is not None:
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=dt.UTC)
        age = max(0.0, (now - oldest).total_seconds())
    refusals = [
        RefusalCount(reason=(reason or "")[:200] or "未说明原因", count=int(n))
        for reason, n in refusal_rows[:MAX_REFUSAL_REASONS]
    ]
    return OutboxReport(
        pending=pending,
        refused=sum(int(n) for _reason, n in refusal_rows),
        waiting_for_officer=waiting,
        oldest_pending_age_s=age,
        refusals=refusals,
    )


def device_report(status: DeviceStatus) -> DeviceReport:
    """A device's panel state; the precise detail only when red (it is then the last error)."""
    return DeviceReport(
        kind=status.kind.value,
        ok=status.ok,
        summary=status.summary_zh[:200],
        driver=status.driver[:64],
        port=status.port[:200],
        model=status.model[:64],
        last_error="" if status.ok else status.detail[:500],
    )


class StatusReporter:
    """Builds and sends this desk's status reports on its own thread (see the module doc)."""

    def __init__(
        self,
        db: Database,
        client: SyncClient,
        tokens: TokenBroker,
        *,
        desk_id: str,
        district: str,
        interval_s: float = DEFAULT_INTERVAL_S,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._db, self._client, self._tokens = db, client, tokens
        self.desk_id, self.district = desk_id, district
        self.interval_s = interval_s
        self._clock = clock
        self._devices: list[Callable[[], DeviceStatus]] = []
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_ack: DeskReportAck | None = None  # the service's receipt of the last report
        self.sent = 0

    def watch_devices(self, *sources: Callable[[], DeviceStatus]) -> None:
        """Device states to report: each callable returns one monitor's latest status."""
        self._devices.extend(sources)

    def build(self) -> DeskReport:
        """The report as of now (reads the desk store; call on a worker thread)."""
        now = self._clock()
        devices = [device_report(source()) for source in self._devices]
        return DeskReport(
            desk_id=self.desk_id,
            district=self.district,
            app_version=__version__,
            os=_os_name(),
            sent_at=now,
            outbox=outbox_report(self._db, self._tokens.officers(), now),
            devices=devices,
            last_pull_at=sync_state.get_time(self._db, sync_state.LAST_PULL_AT),
            pull_cursor=int(sync_state.get_value(self._db, sync_state.PULL_CURSOR, "0") or 0),
            audit_head=sync_state.get_value(self._db, audit.HEAD, "") or None,
        )

    def send_once(self) -> bool:
        """Send a fresh report now; False when nobody is logged in (the report waits).
        Raises SyncError/CardError when it could not be delivered."""
        auth = self._tokens.any_auth()
        if auth is None:
            return False
        report = self.build()
        try:
            ack = self._client.post_report(auth.token(), report)
        except SyncAuthError:
            auth.invalidate()  # expired or revoked: log in again once, right away
            ack = self._client.post_report(auth.token(), report)
        self.last_ack = ack
        self.sent += 1
        log.info(
            "status report sent (pending %d, refused %d, clock offset %.1f s)",
            report.outbox.pending,
            report.outbox.refused,
            ack.clock_offset_s,
        )
        return True

    # --- thread -----------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="desk-status-report", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Report soon (an officer logged in: a waiting report can go now)."""
        self._wake.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.send_once()  # False: nobody logged in; the login's wake() retries
            except DeskError as exc:
                log.info("status report not delivered: %s", exc.detail)
            except Exception:  # a report must never take the desk down
                log.exception("status report failed")
            self._wake.wait(self.interval_s)
            self._wake.clear()
