"""Enrollments (补录) and their upload queue (outbox) in the desk store.

``save_enrollment`` writes, in ONE transaction, the enrollment row (metadata, quality figures,
AES-GCM sealed biometric bundle and its SHA-256), its outbox entry (pending), the record's
生物标识 and 最近操作日期, and the audit entry: a crash leaves all of it or none of it.

The rest is what the outbox worker (``bts_desk.sync.outbox``) and the 上传队列 tab need. Every
state change of an entry is its own committed transaction, so the worker can be killed at any
moment: an entry found in ``sending`` after a restart goes back to ``pending`` and is sent
again (the upload is idempotent by UUID on the service).

``payload_sha256`` is the SHA-256 of the *sealed* bytes: it tells storage corruption apart
from a wrong key without revealing anything about the plaintext.

SQL: call from worker or pool threads, never the GUI thread.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import Select, delete, func, select, text, update
from sqlalchemy.orm import Session, load_only

from bts_desk.domain import (
    BioException,
    EnrollmentDraft,
    ExceptionReason,
    FingerPosition,
    Officer,
    OutboxState,
)
from bts_desk.errors import StoreError
from bts_desk.store import bundle, templates
from bts_desk.store.audit import AuditAction, AuditEvent, record, record_many
from bts_desk.store.crypto import DeskKey, enrollment_aad
from bts_desk.store.db import Database
from bts_desk.store.models import (
    BordererRow,
    EnrollmentKeyRow,
    EnrollmentRow,
    OutboxRow,
    PulledExceptionRow,
    utcnow,
)


@dataclass(frozen=True)
class OutboxEntry:
    """One upload as the worker and the 上传队列 tab see it (no biometric bytes)."""

    outbox_id: int
    uuid: str
    borderer_id: int
    borderer_name: str
    officer_id: str
    officer_name: str
    captured_at: dt.datetime
    created_at: dt.datetime
    state: OutboxState
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str
    has_face: bool
    has_finger: bool


@dataclass(frozen=True)
class OutboxCounts:
    pending: int = 0  # pending + sending: still to go (待上传)
    refused: int = 0
    acknowledged: int = 0


def waiting_reason(officer_name: str, officer_id: str) -> str:
    """Why an enrollment is not sent: only its own officer's token may upload it."""
    return f"等待关员 {officer_name}（{officer_id}）登录后上传"


# --- save ---------------------------------------------------------------------------------


def save_enrollment(db: Database, draft: EnrollmentDraft, key: DeskKey) -> None:
    """Store a 补录 atomically (see the module doc). Raises StoreError."""
    _check_draft(draft)
    aad = enrollment_aad(draft.uuid, draft.borderer_id, draft.officer.officer_id, draft.desk_id)
    data_key = DeskKey.generate()  # the payload's own key, destroyed at acknowledgement
    sealed = data_key.seal(bundle.pack(draft.fingers, draft.face), aad)
    quality = {
        "fingers": {str(f.finger_no): list(f.press_quality) for f in draft.fingers},
        "face": dict(draft.face.quality) if draft.face else None,
    }
    op_date = draft.captured_at.astimezone().date()
    with db.session() as session:
        person = session.get(BordererRow, draft.borderer_id)
        if person is None:
            raise StoreError(
                "该边民记录不在本机数据库中，请先同步数据",
                f"enrollment {draft.uuid}: borderer {draft.borderer_id} not in the store",
            )
        if session.get(EnrollmentRow, draft.uuid) is not None:
            raise StoreError(
                "该采集记录已保存", f"enrollment {draft.uuid} already exists in the store"
            )
        session.add(
            EnrollmentRow(
                uuid=draft.uuid,
                borderer_id=draft.borderer_id,
                officer_id=draft.officer.officer_id,
                officer_name=draft.officer.name,
                desk_id=draft.desk_id,
                scanner_model=draft.scanner_model,
                scanner_serial=draft.scanner_serial,
                camera_name=draft.camera_name,
                captured_at=draft.captured_at,
                has_face=draft.face is not None,
                has_finger=bool(draft.fingers),
                quality_json=json.dumps(quality, ensure_ascii=False),
                finger_positions=",".join(str(int(f.iso_position)) for f in draft.fingers),
                exceptions_json=encode_exceptions(draft.exceptions),
                payload=sealed,
                payload_sha256=hashlib.sha256(sealed).hexdigest(),
            )
        )
        session.flush()  # the enrollment row first: the outbox and key rows reference it
        session.add(EnrollmentKeyRow(enrollment_uuid=draft.uuid, wrapped=key.wrap(data_key, aad)))
        session.add(
            OutboxRow(
                enrollment_uuid=draft.uuid,
                state=OutboxState.PENDING.value,
                created_at=utcnow(),
                attempts=0,
                last_error="",
            )
        )
        templates.put_from_draft(session, draft, key)  # verifiable at once (边民核验)
        person.has_finger = person.has_finger or bool(draft.fingers)
        person.has_face = person.has_face or draft.face is not None  # a face already there stays
        person.last_op_date = op_date
        parts = [f"指纹{len(draft.fingers)}枚", "人脸照片1张" if draft.face else "无人脸照片"]
        parts += [describe_exception(x) for x in draft.exceptions]
        record(
            session,
            draft.officer,
            AuditAction.ENROLL,
            draft.borderer_id,
            f"补录：{'，'.join(parts)}（采集编号 {draft.uuid}）",
            desk_id=draft.desk_id,
        )


def _check_draft(draft: EnrollmentDraft) -> None:
    """Finger slots 1/2 at most once each, and at least one capture unless every biometric is
    recorded as impossible with its reason (``domain.exceptions_problem``)."""
    numbers = [f.finger_no for f in draft.fingers]
    problem = draft.problem()
    if len(set(numbers)) != len(numbers) or not set(numbers) <= {1, 2}:
        problem = f"finger numbers {numbers}"
    if problem is not None:
        raise StoreError("采集数据不完整，无法保存", f"enrollment {draft.uuid}: {problem}")


# Chinese of the audit log's words (the UI translates the same enums through Qt).
_REASONS_ZH = {
    ExceptionReason.MISSING: "手指缺失",
    ExceptionReason.DAMAGED: "手指受损",
    ExceptionReason.BANDAGED: "包扎",
    ExceptionReason.CANNOT_POSE: "无法配合拍照",
    ExceptionReason.OTHER: "其他",
}
_FINGERS_ZH = dict(
    zip(
        FingerPosition.choices(),
        (f"{hand}手{f}" for hand in "右左" for f in ("拇指", "食指", "中指", "环指", "小指")),
        strict=True,
    )
)


def describe_exception(exception: BioException) -> str:
    """``无法采集：左手食指（包扎）`` / ``无法拍照：其他（…）`` for the audit log."""
    reason = _REASONS_ZH[exception.reason]
    if exception.note:
        reason = f"{reason}：{exception.note}"
    if exception.position is None:
        return f"无法拍照（{reason}）"
    return f"无法采集：{_FINGERS_ZH.get(exception.position, '未知手指')}（{reason}）"


def encode_exceptions(exceptions: Sequence[BioException]) -> str:
    """The ``exceptions_json`` column (migration 0008)."""
    return json.dumps(
        [
            {
                "position": None if x.position is None else int(x.position),
                "reason": x.reason.value,
                "note": x.note,
            }
            for x in exceptions
        ],
        ensure_ascii=False,
    )


def decode_exceptions(text: str) -> tuple[BioException, ...]:
    """Inverse of ``encode_exceptions``; StoreError if the column was tampered with."""
    try:
        return tuple(
            BioException(
                None if x["position"] is None else FingerPosition.from_code(int(x["position"])),
                ExceptionReason.from_code(str(x["reason"])),
                str(x["note"]),
            )
            for x in json.loads(text or "[]")
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError("本地采集记录格式错误", f"exceptions_json is malformed: {exc}") from exc


def exceptions_of(db: Database, borderer_id: int) -> tuple[BioException, ...]:
    """The biometrics recorded as impossible in the newest 补录 of this record (详情): this
    desk's own enrollment, or the one the pull brought from another desk when that is newer;
    an older enrollment's entries no longer describe the record once it is redone."""
    with db.session() as session:
        local = session.execute(
            select(EnrollmentRow.exceptions_json, EnrollmentRow.captured_at)
            .where(EnrollmentRow.borderer_id == borderer_id)
            .order_by(EnrollmentRow.captured_at.desc())
            .limit(1)
        ).first()
        pulled = session.scalars(
            select(PulledExceptionRow).where(PulledExceptionRow.borderer_id == borderer_id)
        ).all()
    if pulled and (local is None or _aware(pulled[0].captured_at) > _aware(local.captured_at)):
        try:
            return tuple(
                BioException(
                    None if x.position == 0 else FingerPosition.from_code(x.position),
                    ExceptionReason.from_code(x.reason),
                    x.note,
                )
                for x in sorted(pulled, key=lambda x: (x.position == 0, x.position))
            )
        except ValueError as exc:
            raise StoreError("本地采集记录格式错误", f"pulled_exception: {exc}") from exc
    return () if local is None else decode_exceptions(local.exceptions_json)


def load_draft(db: Database, uuid: str, key: DeskKey) -> EnrollmentDraft:
    """The enrollment with its decrypted biometrics, for upload. Raises StoreError (missing,
    already acknowledged, corrupted, wrong key)."""
    ((_, loaded),) = load_drafts(db, [uuid], key)
    if isinstance(loaded, StoreError):
        raise loaded
    return loaded


def load_drafts(
    db: Database, uuids: Sequence[str], key: DeskKey
) -> list[tuple[str, EnrollmentDraft | StoreError]]:
    """``load_draft`` of several enrollments in one read, in the order given; a problem with
    one (missing, acknowledged, corrupted, wrong key) is returned as its StoreError."""
    with db.session() as session:
        rows = {
            row.uuid: row
            for row in session.execute(
                select(EnrollmentRow).where(EnrollmentRow.uuid.in_(list(uuids)))
            ).scalars()
        }
        keys = select(EnrollmentKeyRow.enrollment_uuid, EnrollmentKeyRow.wrapped).where(
            EnrollmentKeyRow.enrollment_uuid.in_(list(uuids))
        )
        wrapped = {uuid: blob for uuid, blob in session.execute(keys).tuples()}
    out: list[tuple[str, EnrollmentDraft | StoreError]] = []
    for uuid in uuids:
        try:
            out.append((uuid, _decrypt(rows.get(uuid), wrapped.get(uuid), uuid, key)))
        except StoreError as exc:
            out.append((uuid, exc))
    return out


def _decrypt(
    row: EnrollmentRow | None, wrapped: bytes | None, uuid: str, key: DeskKey
) -> EnrollmentDraft:
    """The draft of ``row``: its payload opened with its data key (``wrapped`` by the desk
    key), or, for an enrollment saved before migration 0011 (no data key), with the desk key."""
    if row is None or row.payload is None:
        raise StoreError(
            "采集数据已不在本机", f"enrollment {uuid}: no row or payload already deleted"
        )
    sealed = row.payload
    if hashlib.sha256(sealed).hexdigest() != row.payload_sha256:
        raise StoreError(
            "本地采集数据已损坏，无法上传", f"enrollment {uuid}: payload checksum mismatch"
        )
    aad = enrollment_aad(row.uuid, row.borderer_id, row.officer_id, row.desk_id)
    opener = key if wrapped is None else key.unwrap(wrapped, aad)
    fingers, face = bundle.unpack(opener.open(sealed, aad, legacy=row.uuid))
    return EnrollmentDraft(
        uuid=row.uuid,
        borderer_id=row.borderer_id,
        officer=Officer(row.officer_id, row.officer_name, ""),
        desk_id=row.desk_id,
        captured_at=_aware(row.captured_at),
        fingers=fingers,
        face=face,
        scanner_model=row.scanner_model,
        scanner_serial=row.scanner_serial,
        camera_name=row.camera_name,
        exceptions=decode_exceptions(row.exceptions_json),
    )


# --- the worker's transitions (each one committed on its own) -------------------------------


def recover_interrupted(db: Database) -> int:
    """Entries left in ``sending`` by a crash go back to ``pending``. Call before the first
    pass of a worker (one worker per store). Returns how many were reset."""
    with db.session() as session:
        result = session.execute(
            update(OutboxRow)
            .where(OutboxRow.state == OutboxState.SENDING.value)
            .values(state=OutboxState.PENDING.value, next_attempt_at=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)


def due_entries(
    db: Database, now: dt.datetime, officer_ids: Collection[str], limit: int = 50
) -> list[OutboxEntry]:
    """Pending entries of the given officers whose next attempt is due, oldest first."""
    if not officer_ids:
        return []
    stmt = (
        _entry_select()
        .where(OutboxRow.state == OutboxState.PENDING.value)
        .where((OutboxRow.next_attempt_at.is_(None)) | (OutboxRow.next_attempt_at <= now))
        .where(EnrollmentRow.officer_id.in_(list(officer_ids)))
        .order_by(OutboxRow.id)
        .limit(limit)
    )
    with db.session() as session:
        return [_entry(*row) for row in session.execute(stmt)]


def next_due_at(db: Database, officer_ids: Collection[str]) -> dt.datetime | None:
    """When the earliest postponed entry of these officers becomes due (None: nothing waits)."""
    if not officer_ids:
        return None
    stmt = (
        select(func.min(OutboxRow.next_attempt_at))
        .join(EnrollmentRow, EnrollmentRow.uuid == OutboxRow.enrollment_uuid)
        .where(OutboxRow.state == OutboxState.PENDING.value)
        .where(EnrollmentRow.officer_id.in_(list(officer_ids)))
    )
    with db.session() as session:
        value = session.execute(stmt).scalar()
    return None if value is None else _aware(value)


def mark_waiting_for_officers(db: Database, present: Collection[str]) -> int:
    """Set the reason of pending entries whose officer has no token ("等待关员 X 登录后上传")."""
    stmt = (
        select(EnrollmentRow.officer_id, EnrollmentRow.officer_name)
        .join(OutboxRow, OutboxRow.enrollment_uuid == EnrollmentRow.uuid)
        .where(OutboxRow.state == OutboxState.PENDING.value)
        .where(EnrollmentRow.officer_id.not_in(list(present)))
        .distinct()
    )
    changed = 0
    with db.session() as session:
        for officer_id, officer_name in session.execute(stmt).all():
            uuids = select(EnrollmentRow.uuid).where(EnrollmentRow.officer_id == officer_id)
            result = session.execute(
                update(OutboxRow)
                .where(OutboxRow.state == OutboxState.PENDING.value)
                .where(OutboxRow.enrollment_uuid.in_(uuids))
                .values(last_error=waiting_reason(officer_name, officer_id))
            )
            changed += int(getattr(result, "rowcount", 0) or 0)
    return changed


def mark_sending(db: Database, uuids: Sequence[str]) -> None:
    """pending → sending, one more attempt. Committed before the request goes out."""
    with db.session() as session:
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.enrollment_uuid.in_(list(uuids)))
            .where(OutboxRow.state == OutboxState.PENDING.value)
            .values(state=OutboxState.SENDING.value, attempts=OutboxRow.attempts + 1)
        )


def mark_acknowledged(db: Database, uuids: Sequence[str]) -> None:
    """The service holds these: acknowledged, and the local biometric bytes are deleted
    (metadata, quality figures and audit stay)."""
    now = utcnow()
    with db.session() as session:
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.enrollment_uuid.in_(list(uuids)))
            .values(
                state=OutboxState.ACKNOWLEDGED.value,
                acknowledged_at=now,
                next_attempt_at=None,
                last_error="",
            )
        )
        _erase_payloads(session, uuids)
        acked = session.scalars(select(EnrollmentRow).where(EnrollmentRow.uuid.in_(list(uuids))))
        order = {uuid: i for i, uuid in enumerate(uuids)}
        record_many(
            session,
            [
                AuditEvent(
                    Officer(enr.officer_id, enr.officer_name, ""),
                    AuditAction.UPLOAD_ACKNOWLEDGED,
                    enr.borderer_id,
                    f"上传成功，本机采集数据已删除（采集编号 {enr.uuid}）",
                    desk_id=enr.desk_id,
                )
                for enr in sorted(acked, key=lambda e: order.get(e.uuid, len(order)))
            ],
        )
    # secure_delete overwrote the data keys (and legacy payloads) in the database, but their
    # old images stay in the WAL until a checkpoint: truncate it now.
    db.checkpoint()


def _erase_payloads(session: Session, uuids: Sequence[str]) -> None:
    """Drop the payloads of ``uuids`` for good, in the caller's transaction.

    An enrollment with a data key is erased cryptographically: its payload's pages are freed
    without being overwritten (secure_delete off for that one statement: overwriting ~50
    SQLCipher pages per enrollment was most of the desk's CPU per upload) and the small key row
    is deleted with secure_delete on, which leaves the freed ciphertext unreadable. A payload
    saved before data keys existed is overwritten, as it always was. Should the statement
    fail, the pool turns secure_delete back on when the connection is returned
    (``store.db``)."""
    keyed = set(
        session.scalars(
            select(EnrollmentKeyRow.enrollment_uuid).where(
                EnrollmentKeyRow.enrollment_uuid.in_(list(uuids))
            )
        )
    )
    legacy = [uuid for uuid in uuids if uuid not in keyed]
    sqlite = session.get_bind().dialect.name == "sqlite"
    if keyed:
        if sqlite:
            session.execute(text("PRAGMA secure_delete=OFF"))
        try:
            session.execute(
                update(EnrollmentRow).where(EnrollmentRow.uuid.in_(keyed)).values(payload=None)
            )
        finally:
            if sqlite:
                session.execute(text("PRAGMA secure_delete=ON"))
        session.execute(delete(EnrollmentKeyRow).where(EnrollmentKeyRow.enrollment_uuid.in_(keyed)))
    if legacy:
        session.execute(
            update(EnrollmentRow).where(EnrollmentRow.uuid.in_(legacy)).values(payload=None)
        )


def mark_refused(db: Database, uuid: str, reason: str) -> None:
    """A final refusal: kept with the service's reason until an officer retries it."""
    with db.session() as session:
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.enrollment_uuid == uuid)
            .values(state=OutboxState.REFUSED.value, last_error=reason, next_attempt_at=None)
        )
        row = session.get(EnrollmentRow, uuid)
        if row is not None:
            record(
                session,
                Officer(row.officer_id, row.officer_name, ""),
                AuditAction.UPLOAD_REFUSED,
                row.borderer_id,
                f"上传被拒绝：{reason}（采集编号 {uuid}）",
                desk_id=row.desk_id,
            )


def mark_retry_later(db: Database, uuids: Sequence[str], reason: str, at: dt.datetime) -> None:
    """A retryable failure: back to pending, not before ``at``."""
    with db.session() as session:
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.enrollment_uuid.in_(list(uuids)))
            .where(OutboxRow.state.in_([OutboxState.SENDING.value, OutboxState.PENDING.value]))
            .values(state=OutboxState.PENDING.value, last_error=reason, next_attempt_at=at)
        )


def retry_refused(db: Database, uuid: str, officer: Officer, desk_id: str) -> None:
    """An officer sends a refused enrollment again (重试). Raises StoreError if it is gone."""
    with db.session() as session:
        entry = session.execute(
            select(OutboxRow).where(OutboxRow.enrollment_uuid == uuid)
        ).scalar_one_or_none()
        row = session.get(EnrollmentRow, uuid)
        if entry is None or row is None or row.payload is None:
            raise StoreError("该上传记录已不存在", f"retry of {uuid}: no entry or no payload")
        if entry.state != OutboxState.REFUSED.value and entry.next_attempt_at is None:
            return  # already queued
        entry.state = OutboxState.PENDING.value
        entry.next_attempt_at = None
        entry.last_error = ""
        record(
            session,
            officer,
            AuditAction.UPLOAD_RETRY,
            row.borderer_id,
            f"重新上传（采集编号 {uuid}）",
            desk_id=desk_id,
        )


# --- reads for the UI ---------------------------------------------------------------------


def outbox_counts(db: Database) -> OutboxCounts:
    with db.session() as session:
        rows = session.execute(
            select(OutboxRow.state, func.count()).group_by(OutboxRow.state)
        ).all()
    by_state = {str(state): int(n) for state, n in rows}
    return OutboxCounts(
        pending=by_state.get(OutboxState.PENDING.value, 0)
        + by_state.get(OutboxState.SENDING.value, 0),
        refused=by_state.get(OutboxState.REFUSED.value, 0),
        acknowledged=by_state.get(OutboxState.ACKNOWLEDGED.value, 0),
    )


def list_outbox(
    db: Database, *, include_acknowledged: bool = False, limit: int = 1000
) -> list[OutboxEntry]:
    """The 上传队列 tab: refused first (they need an officer), then the queue oldest first."""
    stmt = _entry_select()
    if not include_acknowledged:
        stmt = stmt.where(OutboxRow.state != OutboxState.ACKNOWLEDGED.value)
    refused_first = (OutboxRow.state != OutboxState.REFUSED.value).label("not_refused")
    stmt = stmt.order_by(refused_first, OutboxRow.id).limit(limit)
    with db.session() as session:
        return [_entry(*row) for row in session.execute(stmt)]


def _entry_select() -> Select[OutboxRow, EnrollmentRow, str]:
    """Entries without their sealed payloads (~200 KB each, read only by ``load_drafts``): the
    worker asks for the next due entries before every batch, the outbox page lists them all.

    Only the columns ``_entry`` uses are read. Every column stored after the payload in the
    row (``payload_sha256``, and those added by later migrations) makes SQLite walk the
    payload's ~50 overflow pages, each decrypted by SQLCipher, to reach it: reading them made
    each call cost ~0.6 ms per pending entry, so a worker pass over N entries cost O(N²)."""
    return (
        select(OutboxRow, EnrollmentRow, BordererRow.name)
        .join(EnrollmentRow, EnrollmentRow.uuid == OutboxRow.enrollment_uuid)
        .outerjoin(BordererRow, BordererRow.id == EnrollmentRow.borderer_id)
        .options(load_only(*_ENTRY_COLUMNS, raiseload=True))
    )


_ENTRY_COLUMNS = (
    EnrollmentRow.uuid,
    EnrollmentRow.borderer_id,
    EnrollmentRow.officer_id,
    EnrollmentRow.officer_name,
    EnrollmentRow.captured_at,
    EnrollmentRow.has_face,
    EnrollmentRow.has_finger,
)


def _entry(box: OutboxRow, enr: EnrollmentRow, name: str | None) -> OutboxEntry:
    return OutboxEntry(
        outbox_id=box.id,
        uuid=enr.uuid,
        borderer_id=enr.borderer_id,
        borderer_name=name or "",
        officer_id=enr.officer_id,
        officer_name=enr.officer_name,
        captured_at=_aware(enr.captured_at),
        created_at=_aware(box.created_at),
        state=_STATES[box.state],
        attempts=box.attempts,
        next_attempt_at=None if box.next_attempt_at is None else _aware(box.next_attempt_at),
        last_error=box.last_error,
        has_face=enr.has_face,
        has_finger=enr.has_finger,
    )


_STATES = {state.value: state for state in OutboxState}


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
