"""The desks' audit chains anchored on the service: a rolled-back or rewritten log is seen here.

A desk's audit log is a hash chain under a key derived from the desk key, and its head (the
last row's id and a MAC over it, ``store.audit.head_value``) lives in the desk store. Whoever
holds the desk key — the desk's own Windows account — could still restore an older copy of
the store, or rewrite the chain, and ``bts-desk audit verify`` on that desk would pass. Each
status report therefore carries the head (``DeskReport.audit_head``: ``"<id>:<tag>"``), and
the service keeps the highest one it has seen per desk (``desk_audit``):

- a head with a higher id moves the anchor forward (the chain grew);
- the same id with another tag: the chain was rewritten ("被改写");
- a lower id: the log went back (an older copy of the store, or a new store) ("回退"); the
  anchor stays where it was, so the desk stays marked until its chain passes it again and
  IT clears the mark.

A mark stays until IT clears it (``bts-sync-server audit-clear DESK --by WHO``, recorded in
the log), because the desk that caused it cannot be trusted to clear it. The console lists
marked desks among those needing attention. Reports of one desk may arrive at two workers at
once: the row is inserted with ``ON CONFLICT DO NOTHING`` and then read ``FOR UPDATE``.
Called inside the report's write transaction (a worker thread).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from bts_desk.service.database import ServiceDatabase, insert_if_new
from bts_desk.service.fleet_models import DeskAudit

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditAnchor:
    """What the service holds of one desk's chain (the console's view)."""

    head_id: int
    anchored_at: dt.datetime
    problem: str  # "" when the chain has only ever grown
    problem_at: dt.datetime | None


def anchor_head(conn: Connection, desk_id: str, head: str, now: dt.datetime) -> None:
    """Judge a report's audit head against the desk's anchor and keep it (see the module)."""
    head_id_text, _, tag = head.partition(":")
    head_id = int(head_id_text)
    first = {"desk_id": desk_id, "head_id": head_id, "head_tag": tag, "anchored_at": now}
    if insert_if_new(conn, DeskAudit, DeskAudit.desk_id, {**first, "problem": ""}):
        return
    row = conn.execute(
        select(DeskAudit.head_id, DeskAudit.head_tag, DeskAudit.problem)
        .where(DeskAudit.desk_id == desk_id)
        .with_for_update()
    ).one()
    if head_id > row.head_id:
        conn.execute(
            update(DeskAudit)
            .where(DeskAudit.desk_id == desk_id)
            .values(head_id=head_id, head_tag=tag, anchored_at=now)
        )
        return
    if head_id == row.head_id and tag == row.head_tag:
        return
    if head_id == row.head_id:
        problem = f"审计日志被改写：第 {head_id} 条的链头与此前报告的不同"
    else:
        problem = (
            f"审计日志回退：此前报告至第 {row.head_id} 条，本次仅至第 {head_id} 条"
            "（恢复了旧的数据库副本，或换了新库）"
        )
    log.warning("desk %s audit chain: %s", desk_id, problem)
    if not row.problem:  # the first problem is the one to investigate
        conn.execute(
            update(DeskAudit)
            .where(DeskAudit.desk_id == desk_id)
            .values(problem=problem, problem_at=now)
        )


def anchors(conn: Connection, desk_id: str | None = None) -> dict[str, AuditAnchor]:
    """Every desk's anchor (or only ``desk_id``'s), by desk id."""
    query = select(
        DeskAudit.desk_id,
        DeskAudit.head_id,
        DeskAudit.anchored_at,
        DeskAudit.problem,
        DeskAudit.problem_at,
    )
    if desk_id is not None:
        query = query.where(DeskAudit.desk_id == desk_id)
    rows = conn.execute(query)
    return {
        r.desk_id: AuditAnchor(r.head_id, _aware(r.anchored_at), r.problem, _maybe(r.problem_at))
        for r in rows
    }


def clear_problem(db: ServiceDatabase, desk_id: str, *, by: str) -> bool:
    """IT has looked into the desk: its mark goes, and the anchor restarts from the desk's
    next report. False if the desk had no mark."""
    with db.write() as conn:
        row = conn.execute(
            select(DeskAudit.problem).where(DeskAudit.desk_id == desk_id).with_for_update()
        ).first()
        if row is None or not row.problem:
            return False
        conn.execute(
            update(DeskAudit)
            .where(DeskAudit.desk_id == desk_id)
            .values(head_id=-1, head_tag="", problem="", problem_at=None)
        )
    log.warning("desk %s audit mark cleared by %s (was: %s)", desk_id, by, row.problem)
    return True


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _maybe(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else _aware(value)
