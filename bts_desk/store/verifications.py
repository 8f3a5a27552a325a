"""What the 边民核验 page needs from the store: finding the borderer by full ID number, the
enrolled fingers and (when still on the desk) the enrolled portrait, the audit of every try,
and the day's summary (checked, passed, failed).

Every try is an audit row (``verify_pass`` / ``verify_fail``; ``verify_refused`` when the
template cannot be compared at all) naming the officer, the record, the finger, the score and
the threshold: the audit log is the record of verifications, so the summary counts from it
and cannot disagree with it. SQL: worker threads only, never the GUI thread.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import distinct, func, select

from bts_desk.capture.verify import EnrolledFinger, VerifyOutcome
from bts_desk.domain import Borderer, FingerPosition, Officer, OutboxState
from bts_desk.store import borderers, templates
from bts_desk.store.audit import AuditAction, record
from bts_desk.store.crypto import DeskKey
from bts_desk.store.db import Database
from bts_desk.store.enrollments import load_draft
from bts_desk.store.models import AuditRow, BordererRow, EnrollmentRow, OutboxRow

# Chinese names of the finger positions, for audit details (the UI translates FingerPosition
# through the translation files; the audit log is written in Chinese by the core).
POSITION_ZH = {
    FingerPosition.UNKNOWN: "未知手指",
    FingerPosition.RIGHT_THUMB: "右手拇指",
    FingerPosition.RIGHT_INDEX: "右手食指",
    FingerPosition.RIGHT_MIDDLE: "右手中指",
    FingerPosition.RIGHT_RING: "右手环指",
    FingerPosition.RIGHT_LITTLE: "右手小指",
    FingerPosition.LEFT_THUMB: "左手拇指",
    FingerPosition.LEFT_INDEX: "左手食指",
    FingerPosition.LEFT_MIDDLE: "左手中指",
    FingerPosition.LEFT_RING: "左手环指",
    FingerPosition.LEFT_LITTLE: "左手小指",
}
_UNSENT = (OutboxState.PENDING.value, OutboxState.SENDING.value)


@dataclass(frozen=True)
class Subject:
    """The borderer being verified: the record (masked), the enrolled fingers, the portrait
    (JPEG, only while an enrollment of this desk still holds it: None otherwise)."""

    borderer: Borderer
    fingers: tuple[EnrolledFinger, ...]
    portrait: bytes | None = None


@dataclass(frozen=True)
class DaySummary:
    checked: int = 0  # borderers verified (at least one try) that day
    passed: int = 0  # of them, with a passing try
    failed: int = 0  # of them, without


def find_by_id_number(db: Database, id_number: str) -> int | None:
    """The record id of a full ID number (as typed; X in either case), None if not here."""
    number = id_number.strip().upper()
    with db.session() as session:
        return session.scalars(
            select(BordererRow.id).where(BordererRow.id_number == number).limit(1)
        ).first()


def load_subject(db: Database, borderer_id: int, key: DeskKey) -> Subject | None:
    """The record, its enrolled fingers and portrait; None if the record is not here."""
    borderer = borderers.get(db, borderer_id)
    if borderer is None:
        return None
    fingers = tuple(templates.enrolled_fingers(db, borderer_id, key))
    return Subject(borderer, fingers, _local_portrait(db, borderer_id, key))


def _local_portrait(db: Database, borderer_id: int, key: DeskKey) -> bytes | None:
    """The face of the newest enrollment of this record whose bundle is still on the desk."""
    with db.session() as session:
        uuid = session.scalars(
            select(EnrollmentRow.uuid)
            .join(OutboxRow, OutboxRow.enrollment_uuid == EnrollmentRow.uuid)
            .where(
                EnrollmentRow.borderer_id == borderer_id,
                EnrollmentRow.has_face.is_(True),
                EnrollmentRow.payload.is_not(None),
                OutboxRow.state.in_(_UNSENT),
            )
            .order_by(EnrollmentRow.captured_at.desc())
            .limit(1)
        ).first()
    if uuid is None:
        return None
    face = load_draft(db, uuid, key).face
    return face.jpeg if face is not None else None


def record_try(
    db: Database,
    officer: Officer,
    *,
    desk_id: str,
    borderer_id: int,
    outcome: VerifyOutcome,
    n: int,
) -> None:
    """Audit one try (who: the officer; whom: the record; finger, score, threshold, result)."""
    finger = POSITION_ZH[outcome.position]
    result = "通过" if outcome.passed else "未通过"
    figures = f"分数 {outcome.score}，阈值 {outcome.threshold}" if outcome.threshold else "无分数"
    record(
        db,
        officer,
        AuditAction.VERIFY_PASS if outcome.passed else AuditAction.VERIFY_FAIL,
        borderer_id,
        f"边民核验：{finger}第 {n} 次，{figures}，{result}",
        desk_id=desk_id,
    )


def record_refusal(
    db: Database,
    officer: Officer,
    *,
    desk_id: str,
    borderer_id: int,
    position: FingerPosition,
    why: str,
) -> None:
    """Audit a verification that could not compare at all (e.g. another scanner's format)."""
    record(
        db,
        officer,
        AuditAction.VERIFY_REFUSED,
        borderer_id,
        f"边民核验：{POSITION_ZH[position]}无法比对（{why}）",
        desk_id=desk_id,
    )


def day_summary(db: Database, day: dt.date | None = None) -> DaySummary:
    """检验统计 of one local calendar day (default: today at this desk)."""
    day = day or dt.datetime.now().astimezone().date()
    start = dt.datetime.combine(day, dt.time(), dt.datetime.now().astimezone().tzinfo)
    start_utc, end_utc = start.astimezone(dt.UTC), (start + dt.timedelta(days=1)).astimezone(dt.UTC)
    tried = (AuditAction.VERIFY_PASS.value, AuditAction.VERIFY_FAIL.value)

    def people(actions: tuple[str, ...]) -> int:
        with db.session() as session:
            return int(
                session.scalar(
                    select(func.count(distinct(AuditRow.borderer_id))).where(
                        AuditRow.action.in_(actions),
                        AuditRow.at >= start_utc,
                        AuditRow.at < end_utc,
                    )
                )
                or 0
            )

    checked = people(tried)
    passed = people((AuditAction.VERIFY_PASS.value,))
    return DaySummary(checked, passed, checked - passed)
