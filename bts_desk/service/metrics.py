"""``/metrics`` in the Prometheus text format (``prometheus_client``), across worker processes.

Process metrics, counted where they happen:

- ``bts_sync_requests_total{route,method,status}`` and the latency histogram
  ``bts_sync_request_duration_seconds{route,method}`` (``MetricsMiddleware``; ``route`` is the
  route's path template, ``unmatched`` for anything else, so labels stay few);
- ``bts_sync_uploads_total{outcome,code}``: enrollments stored / already_stored / refused by
  wire code (``count_uploads``, called by the enrollment service for every item);
- ``bts_sync_pulls_total``, ``bts_sync_sessions_opened_total``, ``bts_sync_desk_reports_total``.

Gauges read from the database at scrape time (so every worker answers the same): desks seen in
the last hour, desks known, pending / refused enrollments and red devices across the latest
desk reports, active officer sessions (desk tokens) and console sessions.

Several workers: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory *before* the workers
start (``bts_desk.service.workers`` does); each process then writes its counters to files
there and a scrape merges them with ``MultiProcessCollector``. Only counters and histograms
live in those files (no live gauges), so a worker that dies leaves its counts, as it should.

Access: an administrator's console session, or a client address in
``BTS_SYNC_METRICS_ALLOW`` (``FleetSettings``); anyone else gets 403.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bts_desk.service.console import auth
from bts_desk.service.database import ServiceDatabase
from bts_desk.service.models import OfficerSession
from bts_desk.service.reports import Clock, fleet_gauges
from bts_desk.sync import wire
from bts_desk.sync.wire.report import PATH_DESK_REPORT

PATH_METRICS = "/metrics"
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # the metrics below write their files there
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
_LOCAL = CollectorRegistry()  # single-process mode; ignored when PROMETHEUS_MULTIPROC_DIR is set
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "bts_sync_requests",
    "HTTP requests by route template, method and status",
    ["route", "method", "status"],
    registry=_LOCAL,
)
LATENCY = Histogram(
    "bts_sync_request_duration_seconds",
    "Time from request start to the last byte of the response",
    ["route", "method"],
    buckets=_BUCKETS,
    registry=_LOCAL,
)
UPLOADS = Counter(
    "bts_sync_uploads",
    "Enrollment uploads judged, by outcome and refusal code",
    ["outcome", "code"],
    registry=_LOCAL,
)
PULLS = Counter("bts_sync_pulls", "Pages of records served to desks", registry=_LOCAL)
SESSIONS_OPENED = Counter(
    "bts_sync_sessions_opened", "Officer sessions opened (card logins)", registry=_LOCAL
)
REPORTS = Counter("bts_sync_desk_reports", "Desk status reports stored", registry=_LOCAL)

_COUNTED_ROUTES = {
    (wire.PATH_BORDERERS, "GET", 200): PULLS,
    (wire.PATH_SESSION, "POST", 200): SESSIONS_OPENED,
    (PATH_DESK_REPORT, "POST", 200): REPORTS,
}


def count_uploads(outcomes: Sequence[Any]) -> None:
    """Count judged uploads: an outcome with ``code`` is a refusal, else its ``status``."""
    for outcome in outcomes:
        code = getattr(outcome, "code", None)
        if code is not None:
            UPLOADS.labels("refused", str(code)).inc()
        else:
            UPLOADS.labels(str(getattr(outcome, "status", "unknown")), "").inc()


class MetricsMiddleware:
    """Pure ASGI middleware (no per-request task, unlike BaseHTTPMiddleware): counts and
    times every HTTP request once its response has been sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_counted(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = str(scope.get("method", ""))
            REQUESTS.labels(template, method, str(status)).inc()
            LATENCY.labels(template, method).observe(time.perf_counter() - started)
            counter = _COUNTED_ROUTES.get((template, method, status))
            if counter is not None:
                counter.inc()


class _FleetCollector(Collector):
    """Gauges from the database, read at each scrape (the same in every worker)."""

    def __init__(self, db: ServiceDatabase, clock: Clock) -> None:
        self._db, self._clock = db, clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self._clock()
        g = fleet_gauges(self._db, now)
        yield GaugeMetricFamily(
            "bts_sync_desks_seen_last_hour", "Desks that reported in the last hour", g.desks_seen_1h
        )
        yield GaugeMetricFamily("bts_sync_desks_known", "Desks that ever reported", g.desks_known)
        yield GaugeMetricFamily(
            "bts_sync_desks_pending_enrollments",
            "Enrollments waiting in desk outboxes (latest report of every desk)",
            g.pending,
        )
        yield GaugeMetricFamily(
            "bts_sync_desks_refused_enrollments",
            "Refused enrollments kept at the desks (latest report of every desk)",
            g.refused,
        )
        yield GaugeMetricFamily(
            "bts_sync_desks_red_devices",
            "Red devices across the desks' latest reports",
            g.red_devices,
        )
        yield GaugeMetricFamily(
            "bts_sync_officer_sessions_active",
            "Officer sessions (desk tokens) neither expired nor revoked",
            _officer_sessions(self._db, now.timestamp()),
        )
        yield GaugeMetricFamily(
            "bts_sync_console_sessions_active",
            "Open sessions of console administrators",
            auth.active_sessions(self._db, now.timestamp()),
        )


def _officer_sessions(db: ServiceDatabase, now: float) -> int:
    with db.read() as conn:
        return int(
            conn.execute(
                select(func.count()).where(
                    OfficerSession.expires_at > now, OfficerSession.revoked.is_(False)
                )
            ).scalar_one()
        )


def _exposition(fleet: CollectorRegistry) -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = CollectorRegistry()
        MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        process_part = generate_latest(merged)
    else:
        process_part = generate_latest(_LOCAL)
    return process_part + generate_latest(fleet)


def metrics_router(db: ServiceDatabase, clock: Clock, settings: Any) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    fleet = CollectorRegistry(auto_describe=False)
    fleet.register(_FleetCollector(db, clock))

    @router.get(PATH_METRICS)
    async def metrics(request: Request) -> Response:
        host = request.client.host if request.client else None
        if not settings.may_scrape(host):
            from bts_desk.service.console.pages import SESSION_COOKIE

            token = request.cookies.get(SESSION_COOKIE)
            user = await run_in_threadpool(auth.session_user, db, token, clock().timestamp())
            if user is None:
                return PlainTextResponse("forbidden\n", status_code=403)
        body = await run_in_threadpool(_exposition, fleet)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return router
