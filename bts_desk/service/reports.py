"""Desk status reports on the service: the endpoint, storing them, and reading them back.

``POST /api/v1/desk-reports`` takes a ``DeskReport`` (Pydantic, 422 otherwise) with an
officer's bearer token; the token's desk must be the report's desk (403: a desk reports only
for itself). Storing is one write transaction: the history row, the pruning of that desk's
history past ``HISTORY_DAYS``, and an upsert of ``desk_state`` (``INSERT … ON CONFLICT DO
UPDATE`` on both SQLite and PostgreSQL, so two workers receiving reports of one new desk at
once cannot collide), committed without waiting for the WAL flush (``write(durable=False)``:
a report lost in a crash is replaced by the desk's next one). The report's audit chain head
is judged against the desk's anchor in the same transaction (``desk_audit``).
The clock offset is the desk's ``sent_at`` minus the service's clock.

The read functions serve the console and the metrics gauges. Blocking: worker threads only.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import bindparam, delete, func, insert, select
from starlette.concurrency import run_in_threadpool

from bts_desk.service.database import ServiceDatabase, dialect_insert
from bts_desk.service.desk_audit import AuditAnchor, anchor_head, anchors
from bts_desk.service.errors import ApiError
from bts_desk.service.fleet_models import HISTORY_DAYS, DeskReportRow, DeskState
from bts_desk.sync import wire
from bts_desk.sync.wire.report import (
    MAX_REPORT_BODY,
    PATH_DESK_REPORT,
    DeskReport,
    DeskReportAck,
)

Clock = Callable[[], dt.datetime]
OfficerDependency = Callable[..., Any]  # the app's bearer-token dependency → claims (.desk_id)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def store_report(db: ServiceDatabase, report: DeskReport, now: dt.datetime) -> DeskReportAck:
    """Keep one report (history + latest state); the receipt for the desk."""
    offset = round((report.sent_at - now).total_seconds(), 3)
    devices = json.dumps([d.model_dump() for d in report.devices], ensure_ascii=False)
    red = sum(1 for d in report.devices if not d.ok)
    box = report.outbox
    common: dict[str, Any] = {
        "app_version": report.app_version,
        "pending": box.pending,
        "refused": box.refused,
        "waiting": box.waiting_for_officer,
        "oldest_pending_s": box.oldest_pending_age_s,
        "red_devices": red,
        "devices_json": devices,
        "last_pull_at": report.last_pull_at,
        "pull_cursor": report.pull_cursor,
        "clock_offset_s": offset,
    }
    latest: dict[str, Any] = {
        **common,
        "district": report.district,
        "os": report.os,
        "last_seen": now,
        "refusals_json": json.dumps([r.model_dump() for r in box.refusals], ensure_ascii=False),
    }
    with db.write(durable=False) as conn:  # lost in a crash: the desk reports again
        conn.execute(_HISTORY_INSERT, {"desk_id": report.desk_id, "received_at": now, **common})
        conn.execute(
            _HISTORY_PRUNE,
            {"desk_id": report.desk_id, "before": now - dt.timedelta(days=HISTORY_DAYS)},
        )
        conn.execute(
            _upsert_state(db.is_sqlite),
            {"desk_id": report.desk_id, "first_seen": now, "reports": 1, **latest},
        )
        if report.audit_head is not None:
            anchor_head(conn, report.desk_id, report.audit_head, now)
    return DeskReportAck(received_at=now, clock_offset_s=offset)


# The report's statements, built once, their values passed as parameters: a statement built
# with its values inside (``.values(**row)``) is looked up in SQLAlchemy's compiled cache by a
# key computed over every value, at each report (3% of the workers' CPU under fleet_bench).
_HISTORY_INSERT = insert(DeskReportRow)
_HISTORY_PRUNE = delete(DeskReportRow).where(
    DeskReportRow.desk_id == bindparam("desk_id"),
    DeskReportRow.received_at < bindparam("before"),
)
_UPSERTS: dict[bool, Any] = {}
# The columns of desk_state a report replaces: all but the key, the first sighting and the count.
_LATEST = tuple(
    column.name
    for column in DeskState.__table__.columns
    if column.name not in ("desk_id", "first_seen", "reports")
)


def _upsert_state(is_sqlite: bool) -> Any:
    """``INSERT … ON CONFLICT (desk_id) DO UPDATE``: every column of the latest report
    from the inserted row (``excluded``), the report count incremented."""
    upsert = _UPSERTS.get(is_sqlite)
    if upsert is None:
        statement = dialect_insert("sqlite" if is_sqlite else "postgresql", DeskState)
        latest = {name: statement.excluded[name] for name in _LATEST}
        upsert = _UPSERTS[is_sqlite] = statement.on_conflict_do_update(
            index_elements=[DeskState.desk_id],
            set_={**latest, "reports": DeskState.reports + 1},
        )
    return upsert


def report_router(
    db: ServiceDatabase, clock: Clock, officer_dependency: OfficerDependency
) -> APIRouter:
    """The desks' endpoint; ``officer_dependency`` is the app's bearer-token check (401)."""
    router = APIRouter()

    @router.post(
        PATH_DESK_REPORT,
        response_model=DeskReportAck,
        tags=["fleet"],
        responses={s: {"model": wire.ErrorBody} for s in (400, 401, 403, 413, 422, 503)},
    )
    async def desk_report(
        request: Request,
        body: DeskReport,
        who: Any = Depends(officer_dependency),  # noqa: B008  (FastAPI's idiom)
    ) -> DeskReportAck:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_REPORT_BODY:
            raise ApiError(413, wire.E_TOO_LARGE, "上传内容过大", "report body too large")
        if who.desk_id != body.desk_id:
            raise ApiError(
                403,
                "desk_mismatch",
                "只能报告本机的状态",
                f"token of desk {who.desk_id} reports for {body.desk_id}",
            )
        return await run_in_threadpool(store_report, db, body, clock())

    return router


# --- reads for the console and the metrics ---------------------------------------------------


@dataclass(frozen=True)
class DeskView:
    """One desk as 设备总览 shows it."""

    desk_id: str
    district: str
    app_version: str
    os: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    pending: int
    refused: int
    waiting: int
    oldest_pending_s: float | None
    red_devices: int
    devices: list[dict[str, Any]]
    refusals: list[dict[str, Any]]
    last_pull_at: dt.datetime | None
    pull_cursor: int
    clock_offset_s: float
    reports: int
    stale: bool
    audit: AuditAnchor | None = None  # None: the desk never reported its audit head

    @property
    def audit_problem(self) -> str:
        return self.audit.problem if self.audit is not None else ""

    @property
    def attention(self) -> bool:
        return self.stale or self.refused > 0 or self.red_devices > 0 or bool(self.audit_problem)


def list_desks(db: ServiceDatabase, now: dt.datetime, stale_after_s: float) -> list[DeskView]:
    with db.read() as conn:
        rows = conn.execute(select(DeskState)).all()
        audit = anchors(conn)
    return [_view(row, now, stale_after_s, audit.get(row.desk_id)) for row in rows]


def get_desk(
    db: ServiceDatabase, desk_id: str, now: dt.datetime, stale_after_s: float
) -> DeskView | None:
    with db.read() as conn:
        row = conn.execute(select(DeskState).where(DeskState.desk_id == desk_id)).first()
        audit = anchors(conn, desk_id).get(desk_id)
    return None if row is None else _view(row, now, stale_after_s, audit)


def _view(row: Any, now: dt.datetime, stale_after_s: float, audit: AuditAnchor | None) -> DeskView:
    last_seen = _aware(row.last_seen)
    assert last_seen is not None
    first_seen = _aware(row.first_seen)
    assert first_seen is not None
    return DeskView(
        desk_id=row.desk_id,
        district=row.district,
        app_version=row.app_version,
        os=row.os,
        first_seen=first_seen,
        last_seen=last_seen,
        pending=row.pending,
        refused=row.refused,
        waiting=row.waiting,
        oldest_pending_s=row.oldest_pending_s,
        red_devices=row.red_devices,
        devices=json.loads(row.devices_json),
        refusals=json.loads(row.refusals_json),
        last_pull_at=_aware(row.last_pull_at),
        pull_cursor=row.pull_cursor,
        clock_offset_s=row.clock_offset_s,
        reports=row.reports,
        stale=(now - last_seen).total_seconds() > stale_after_s,
        audit=audit,
    )


def desk_history(db: ServiceDatabase, desk_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """The desk's latest reports, newest first."""
    with db.read() as conn:
        rows = conn.execute(
            select(DeskReportRow)
            .where(DeskReportRow.desk_id == desk_id)
            .order_by(DeskReportRow.received_at.desc(), DeskReportRow.id.desc())
            .limit(limit)
        ).all()
    return [
        {
            "received_at": _aware(r.received_at),
            "app_version": r.app_version,
            "pending": r.pending,
            "refused": r.refused,
            "waiting": r.waiting,
            "oldest_pending_s": r.oldest_pending_s,
            "red_devices": r.red_devices,
            "devices": json.loads(r.devices_json),
            "last_pull_at": _aware(r.last_pull_at),
            "pull_cursor": r.pull_cursor,
            "clock_offset_s": r.clock_offset_s,
        }
        for r in rows
    ]


@dataclass(frozen=True)
class FleetGauges:
    desks_seen_1h: int
    desks_known: int
    pending: int
    refused: int
    red_devices: int


def fleet_gauges(db: ServiceDatabase, now: dt.datetime) -> FleetGauges:
    """Totals over the latest report of every desk (the /metrics gauges)."""
    hour_ago = now - dt.timedelta(hours=1)
    with db.read() as conn:
        row = conn.execute(
            select(
                func.count(),
                func.coalesce(func.sum(DeskState.pending), 0),
                func.coalesce(func.sum(DeskState.refused), 0),
                func.coalesce(func.sum(DeskState.red_devices), 0),
            )
        ).one()
        seen = conn.execute(
            select(func.count()).where(DeskState.last_seen >= hour_ago)
        ).scalar_one()
    return FleetGauges(int(seen), int(row[0]), int(row[1]), int(row[2]), int(row[3]))
