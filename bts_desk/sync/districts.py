"""The districts (关区) whose records the desk holds, kept in step with the session's grant.

The pull's cursor is one revision over the records of the districts the sync session may
read. When IT grants a district, its records carry revisions the cursor has long passed: the
pull would never bring them. When IT revokes one, the service stops sending its records, but
the desk would keep the names, ID numbers and addresses of people it may no longer serve.

So before every pull (``reconcile``, on the sync worker's thread, in one transaction):
- a district no longer granted: its records leave the store with their finger templates, their
  pulled exception entries and their acknowledged enrollments (whose biometric payloads were
  erased at the upload). A record with an enrollment not yet acknowledged by the service
  (waiting, sending, refused and waiting for an officer) stays until that enrollment is
  settled, and goes at a later pull;
- a district newly granted: the cursor starts again from 0, and the pull brings every record
  of the grant (upserts: the records already held are rewritten with the same data).
The districts the cursor covers are kept in ``sync_state`` (``PULLED_DISTRICTS``); a store
from before it counts the districts of the records it holds. Qt-free.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bts_desk.domain import Officer, OutboxState
from bts_desk.store import sync_state
from bts_desk.store.audit import AuditAction, record
from bts_desk.store.db import Database
from bts_desk.store.models import (
    BordererRow,
    EnrollmentKeyRow,
    EnrollmentRow,
    FingerTemplateRow,
    OutboxRow,
    PulledExceptionRow,
)

log = logging.getLogger(__name__)

SEPARATOR = ","


@dataclass(frozen=True)
class Reconciled:
    """What ``reconcile`` did: districts dropped and records removed, districts added (the
    cursor then starts again from 0), records kept back for their unsettled enrollments."""

    dropped: frozenset[str] = frozenset()
    removed: int = 0
    kept_back: int = 0
    added: frozenset[str] = frozenset()
    cursor_reset: bool = False


def reconcile(db: Database, districts: Iterable[str], officer: Officer, desk_id: str) -> Reconciled:
    """Bring the store in step with the session's ``districts`` before a pull (the sync
    worker's thread). No districts (a session without a grant list) changes nothing."""
    wanted = frozenset(d for d in districts if d)
    if not wanted:
        return Reconciled()
    with db.session() as session:
        covered = _covered(session)
        leaving = _split(sync_state.get_value(session, sync_state.DISTRICTS_LEAVING, ""))
        dropped = (covered | leaving) - wanted
        added = wanted - covered
        removed, kept_back = _remove_records(session, dropped) if dropped else (0, 0)
        if dropped or leaving:  # kept back: removed at a later pull, once settled
            still = dropped if kept_back else frozenset()
            sync_state.set_value(
                session, sync_state.DISTRICTS_LEAVING, SEPARATOR.join(sorted(still))
            )
        cursor = sync_state.get_value(session, sync_state.PULL_CURSOR, "0")
        cursor_reset = bool(added) and cursor not in ("", "0")
        if cursor_reset:
            sync_state.set_value(session, sync_state.PULL_CURSOR, "0")
        sync_state.set_value(session, sync_state.PULLED_DISTRICTS, SEPARATOR.join(sorted(wanted)))
        done = Reconciled(dropped, removed, kept_back, added, cursor_reset)
        changed = bool(removed or cursor_reset or dropped - leaving)  # not: still kept back
        if changed:
            record(session, officer, AuditAction.DISTRICTS, None, _describe(done), desk_id=desk_id)
    if changed:
        log.warning("districts reconciled: %s", done)
    return done


def _covered(session: Session) -> frozenset[str]:
    """The districts the cursor covers; for a store from before they were kept, those of the
    records it holds (an empty store covers none)."""
    text = sync_state.get_value(session, sync_state.PULLED_DISTRICTS, "")
    if text:
        return _split(text)
    held = session.execute(select(BordererRow.customs_code).distinct()).scalars()
    return frozenset(held)


def _split(text: str) -> frozenset[str]:
    return frozenset(d for d in text.split(SEPARATOR) if d)


def _remove_records(session: Session, dropped: frozenset[str]) -> tuple[int, int]:
    """Remove the records of ``dropped`` districts but those with an unsettled enrollment;
    returns (removed, kept back)."""
    in_dropped = select(BordererRow.id).where(BordererRow.customs_code.in_(dropped))
    unsettled = (
        select(EnrollmentRow.borderer_id)
        .join(OutboxRow, OutboxRow.enrollment_uuid == EnrollmentRow.uuid)
        .where(OutboxRow.state != OutboxState.ACKNOWLEDGED.value)
    )
    leaving = in_dropped.where(BordererRow.id.not_in(unsettled))
    ids = list(session.execute(leaving).scalars())
    kept_back = len(list(session.execute(in_dropped.where(BordererRow.id.in_(unsettled)))))
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        enrollments = select(EnrollmentRow.uuid).where(EnrollmentRow.borderer_id.in_(chunk))
        session.execute(delete(OutboxRow).where(OutboxRow.enrollment_uuid.in_(enrollments)))
        keys = EnrollmentKeyRow.enrollment_uuid.in_(enrollments)
        session.execute(delete(EnrollmentKeyRow).where(keys))  # none once acknowledged
        session.execute(delete(EnrollmentRow).where(EnrollmentRow.borderer_id.in_(chunk)))
        session.execute(delete(FingerTemplateRow).where(FingerTemplateRow.borderer_id.in_(chunk)))
        session.execute(delete(PulledExceptionRow).where(PulledExceptionRow.borderer_id.in_(chunk)))
        session.execute(delete(BordererRow).where(BordererRow.id.in_(chunk)))
    return len(ids), kept_back


def _describe(done: Reconciled) -> str:
    """The audit row's detail, in the 操作日志's language."""
    parts = []
    if done.dropped:
        parts.append(
            f"关区 {'、'.join(sorted(done.dropped))} 不再授权：删除 {done.removed} 条边民记录"
        )
    if done.kept_back:
        parts.append(f"{done.kept_back} 条因补录未上传暂留")
    if done.cursor_reset:
        parts.append(f"新授权关区 {'、'.join(sorted(done.added))}：重新拉取全部记录")
    return "；".join(parts)
