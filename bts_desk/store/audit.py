"""Append-only audit log: who viewed or changed which record, when, and what.

Every 详情 view and every 补录 is recorded (DESIGN.md, "Data"). Rows are never changed or
removed: the ORM refuses UPDATE/DELETE of ``AuditRow`` (listeners in ``store.models``) and the
database refuses them too (triggers of Alembic revision 0002, SQLite and PostgreSQL).

``detail`` is free text for a person to read; callers must never put biometric bytes, PINs or
full ID numbers in it. Call from any thread except the GUI thread (SQL).
"""

from __future__ import annotations

import datetime as dt
import enum
import socket
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bts_desk.domain import Officer
from bts_desk.store.db import Database
from bts_desk.store.models import AuditRow, BordererRow, utcnow


class AuditAction(enum.StrEnum):
    """Stable action codes stored in ``audit.action`` (the audit tab translates them)."""

    VIEW_DETAIL = "view_detail"  # 详情
    ENROLL = "enroll"  # 补录 saved
    UPLOAD_REFUSED = "upload_refused"  # the service refused an enrollment
    UPLOAD_RETRY = "upload_retry"  # an officer asked to send a refused enrollment again
    LOGIN = "login"
    LOGOUT = "logout"


@dataclass(frozen=True)
class AuditEntry:
    """One line of the 操作日志 tab."""

    id: int
    at: dt.datetime
    officer_id: str
    officer_name: str
    desk_id: str
    action: str
    borderer_id: int | None
    borderer_name: str
    detail: str


def record(
    target: Database | Session,
    officer: Officer,
    action: str,
    borderer_id: int | None,
    detail: str = "",
    *,
    desk_id: str | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Append one audit row. With a Session the row joins the caller's transaction (so an
    enrollment and its audit entry commit together); with a Database it commits on its own."""
    row = AuditRow(
        at=at or utcnow(),
        officer_id=officer.officer_id,
        officer_name=officer.name,
        desk_id=desk_id if desk_id is not None else socket.gethostname(),
        action=str(action),
        borderer_id=borderer_id,
        detail=detail,
    )
    if isinstance(target, Session):
        target.add(row)
        return
    with target.session() as session:
        session.add(row)


def query_audit(
    db: Database,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    officer_id: str | None = None,
    borderer_id: int | None = None,
    action: str | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[AuditEntry]:
    """Newest first, with the record's 姓名 when the record is on this desk."""
    stmt = (
        select(AuditRow, BordererRow.name)
        .outerjoin(BordererRow, BordererRow.id == AuditRow.borderer_id)
        .order_by(AuditRow.at.desc(), AuditRow.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if since is not None:
        stmt = stmt.where(AuditRow.at >= since)
    if until is not None:
        stmt = stmt.where(AuditRow.at < until)
    if officer_id:
        stmt = stmt.where(AuditRow.officer_id == officer_id)
    if borderer_id is not None:
        stmt = stmt.where(AuditRow.borderer_id == borderer_id)
    if action:
        stmt = stmt.where(AuditRow.action == action)
    with db.session() as session:
        return [
            AuditEntry(
                id=row.id,
                at=_aware(row.at),
                officer_id=row.officer_id,
                officer_name=row.officer_name,
                desk_id=row.desk_id,
                action=row.action,
                borderer_id=row.borderer_id,
                borderer_name=name or "",
                detail=row.detail,
            )
            for row, name in session.execute(stmt)
        ]


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
