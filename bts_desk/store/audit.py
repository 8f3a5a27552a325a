"""Append-only, tamper-evident audit log: who did what at this desk, when, to which record.

Recorded (``AuditAction``): login, logout, wrong PIN (with the tries left), a blocked card,
lock, unlock, every search (a summary of the filter; a full ID number masked), 详情, 补录
saved, pulls, uploads acknowledged or refused. Rows are never changed or removed: the ORM
refuses UPDATE/DELETE of ``AuditRow`` (``store.models``) and the database refuses them too
(triggers of revision 0002).

Triggers stop the application, not whoever can open the file with the key and drop them. So
each row also carries ``mac`` = HMAC-SHA256(audit key, previous row's mac | this row's fields),
and the ``audit_head`` entry of ``sync_state`` holds the last row's id under its own HMAC:
``verify`` (``bts-desk audit verify``) finds a deleted row (a gap in the ids or a chain that no
longer links), an edited one (its MAC), and rows cut off at the end (the head). The audit key
is derived from the desk key (``store.desk_store.audit_key``): a copy of the store without the
key can neither be read (SQLCipher) nor re-chained after an edit. What this cannot stop is
someone holding the desk key itself (the desk's own Windows account) rewriting the whole
chain; anchoring the head off the desk (e.g. in the sync status report) would.

Writers serialise on the head: each ``record`` first updates the ``audit_head`` row (SQLite's
write lock, a row lock on PostgreSQL), then reads the previous row, so two threads never
chain onto the same predecessor.

``detail`` is free text for a person to read; callers must never put biometric bytes, PINs or
full ID numbers in it. Call from any thread except the GUI thread (SQL).
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bts_desk.domain import BordererFilter, Officer, mask_id_number
from bts_desk.store.db import Database
from bts_desk.store.models import AuditRow, BordererRow, SyncStateRow, utcnow

HEAD = "audit_head"
# Without a desk key (a plain development store) the chain is still a hash chain, unkeyed.
UNKEYED = b"bts-desk audit chain (no desk key)"


class AuditAction(enum.StrEnum):
    """Stable action codes stored in ``audit.action`` (the audit tab translates them)."""

    VIEW_DETAIL = "view_detail"  # 详情
    ENROLL = "enroll"  # 补录 saved
    UPLOAD_REFUSED = "upload_refused"  # the service refused an enrollment
    UPLOAD_RETRY = "upload_retry"  # an officer asked to send a refused enrollment again
    UPLOAD_ACKNOWLEDGED = "upload_ack"  # the service holds the enrollment
    LOGIN = "login"
    LOGOUT = "logout"
    WRONG_PIN = "wrong_pin"  # detail: the tries left
    CARD_BLOCKED = "card_blocked"
    LOCK = "lock"  # detail: why (card removed, reader gone, …)
    UNLOCK = "unlock"
    SEARCH = "search"  # detail: the filter, a full ID number masked
    PULL = "pull"  # detail: how many records came
    DISTRICTS = "districts"  # the grant changed: records removed, or all pulled again
    VERIFY_PASS = "verify_pass"  # 边民核验 try passed: finger, score, threshold
    VERIFY_FAIL = "verify_fail"  # 边民核验 try not passed
    VERIFY_REFUSED = "verify_refused"  # 边民核验 not possible (template of another format)


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


@dataclass(frozen=True)
class AuditEvent:
    """One row to append (``record_many``)."""

    officer: Officer
    action: str
    borderer_id: int | None
    detail: str = ""
    desk_id: str | None = None  # this machine's name when None
    at: dt.datetime | None = None  # now when None


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
    """Append one chained audit row. With a Session the row joins the caller's transaction (so
    an enrollment and its audit entry commit together); with a Database it commits on its
    own."""
    record_many(target, [AuditEvent(officer, action, borderer_id, detail, desk_id, at)])


def record_many(target: Database | Session, events: Sequence[AuditEvent]) -> None:
    """Append chained audit rows, in order, taking the head once for all of them: a batch of
    acknowledged uploads costs one head update and one read of the last row, not one each
    (per-row chaining was half of the desk's CPU per upload). Transactions as ``record``."""
    if not events:
        return
    if not isinstance(target, Session):
        with target.session() as session:
            record_many(session, events)
        return
    key = _key(target)
    target.flush()
    serialise = update(SyncStateRow).where(SyncStateRow.key == HEAD)
    target.execute(serialise.values(value=SyncStateRow.value))
    last = target.execute(
        select(AuditRow.id, AuditRow.mac).order_by(AuditRow.id.desc()).limit(1)
    ).first()
    last_id, last_mac = (last.id, last.mac or "") if last is not None else (0, "")
    host = socket.gethostname()
    rows = []
    for event in events:
        row = AuditRow(
            id=last_id + 1,
            at=(event.at or utcnow()).astimezone(dt.UTC),
            officer_id=event.officer.officer_id,
            officer_name=event.officer.name,
            desk_id=event.desk_id if event.desk_id is not None else host,
            action=str(event.action),
            borderer_id=event.borderer_id,
            detail=event.detail,
        )
        row.mac = row_mac(key, last_mac, row)
        rows.append(row)
        last_id, last_mac = row.id, row.mac
    target.add_all(rows)
    head = target.get(SyncStateRow, HEAD)
    if head is None:
        target.add(SyncStateRow(key=HEAD, value=head_value(key, last_id, last_mac)))
    else:
        head.value = head_value(key, last_id, last_mac)


def search_summary(flt: BordererFilter) -> str:
    """The 查询 form as one line for the audit log; a full ID number only masked."""
    from bts_desk.store.borderers import looks_like_id_number

    parts = []
    name = (flt.name or "").strip()
    if name:
        parts.append(
            f"身份证号 {mask_id_number(name.upper())}"
            if looks_like_id_number(name)
            else f"姓名以“{name}”开头"
        )
    if flt.id_number:
        parts.append(f"身份证号 {mask_id_number(flt.id_number.strip().upper())}")
    for label, value in (
        ("同步状态", flt.sync_state),
        ("关区", flt.customs_code),
        ("性别", flt.gender),
        ("生物标识", flt.bio_flag),
        ("启用状态", flt.enable_state),
        ("最近操作日期起", flt.last_op_from),
        ("最近操作日期止", flt.last_op_to),
    ):
        if value is not None and value != "":
            parts.append(f"{label}={getattr(value, 'value', value)}")
    return "查询：" + ("；".join(parts) if parts else "全部")


def _key(session: Session) -> bytes:
    key = session.info.get("audit_key")
    return key if isinstance(key, bytes) else UNKEYED


def row_mac(key: bytes, previous: str, row: AuditRow) -> str:
    """The row's link in the chain: its fields and the previous row's MAC, under the key."""
    fields = [
        str(row.id),
        _aware(row.at).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f"),
        row.officer_id,
        row.officer_name,
        row.desk_id,
        row.action,
        "" if row.borderer_id is None else str(row.borderer_id),
        row.detail,
    ]
    message = "\x1f".join([previous, *fields]).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def head_value(key: bytes, last_id: int, last_mac: str) -> str:
    tag = hmac.new(key, f"head|{last_id}|{last_mac}".encode(), hashlib.sha256).hexdigest()
    return f"{last_id}:{tag}"


@dataclass(frozen=True)
class Verdict:
    """What ``verify`` found: ``ok``, the rows checked, and where the chain breaks."""

    ok: bool
    rows: int
    unchained: int  # rows from before the chain (revision 0005)
    bad_row: int | None
    problem: str


def verify(db: Database) -> Verdict:
    """Walk the whole chain (any thread but the GUI's). A deleted, edited or cut-off row makes
    ``ok`` False and ``bad_row``/``problem`` say where and what."""
    with db.session() as session:
        key = _key(session)
        head = session.get(SyncStateRow, HEAD)
        rows = session.execute(select(AuditRow).order_by(AuditRow.id)).scalars()
        return _walk(key, rows, head.value if head is not None else "")


def _walk(key: bytes, rows: Iterable[AuditRow], head: str) -> Verdict:
    count = unchained = 0
    previous: AuditRow | None = None

    def bad(row_id: int | None, problem: str) -> Verdict:
        return Verdict(False, count, unchained, row_id, problem)

    for row in rows:
        count += 1
        link = previous.mac if previous is not None else None
        if row.mac is None:
            if link is not None:
                return bad(row.id, "row has no MAC (added by hand)")
            unchained += 1
        elif link is not None and previous is not None and row.id != previous.id + 1:
            return bad(row.id, f"rows {previous.id + 1}-{row.id - 1} before it are missing")
        elif not hmac.compare_digest(row.mac, row_mac(key, link or "", row)):
            return bad(row.id, "row was edited, or the row before it deleted")
        previous = row
    if previous is not None and previous.mac is not None:
        if not hmac.compare_digest(head, head_value(key, previous.id, previous.mac)):
            claimed = head.split(":", 1)[0] or "nothing"
            return bad(previous.id, f"rows after it are missing (the head says {claimed})")
    elif head:
        return bad(None, "chained rows are missing (the log was emptied)")
    return Verdict(True, count, unchained, None, "")


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
