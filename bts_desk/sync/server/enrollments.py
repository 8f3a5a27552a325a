"""Storing uploaded enrollments: validation, idempotency by UUID + body hash, record flags.

``EnrollmentService.put`` judges one upload exactly as ``PUT /api/v1/enrollments/{uuid}``
answers it, and the batch endpoint calls it per item. Order of the checks:

1. the body is JSON in the wire format (``wire.decode_enrollment``) — 400/413/422;
2. its ``officer_id`` is the token's officer — 403;
3. a known UUID is answered from what is stored: same body hash → 200 already stored,
   another hash → 409 (before the record checks, so a retry stays "already stored" even if
   the record was suspended meanwhile);
4. the images decode — 422; the record exists (404) and is 正常 and 已同步海关 (422);
5. one transaction stores the enrollment and its payload, sets the record's 生物标识 and bumps
   its revision, so the next pull brings the change to every desk.

Two uploads of the same UUID at once: the second insert hits the primary key (PostgreSQL
blocks it until the first commits; SQLite's BEGIN IMMEDIATE serialises them), and is then
answered as in step 3. Blocking: call from a worker thread, never the event loop.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from bts_desk.domain import RecordState
from bts_desk.sync import wire
from bts_desk.sync.server.database import ServiceDatabase, take_revisions
from bts_desk.sync.server.errors import ApiError
from bts_desk.sync.server.images import check_images
from bts_desk.sync.server.models import ServerBorderer, ServerEnrollment, ServerFace, ServerFinger
from bts_desk.sync.server.sessions import Clock, TokenClaims

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PutResult:
    http_status: int  # 201 stored, 200 already stored
    status: str


class EnrollmentService:
    def __init__(self, db: ServiceDatabase, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def put(self, uuid: str, body: object, officer: TokenClaims) -> PutResult:
        """Judge and store one upload; ApiError (4xx) for every refusal."""
        try:
            uuid = wire.check_uuid(uuid)
            enrollment = wire.decode_enrollment(body)
        except wire.WireError as exc:
            raise ApiError.from_wire(exc) from exc
        if enrollment.officer_id != officer.officer_id:
            raise ApiError(
                403,
                wire.E_OFFICER_MISMATCH,
                "不能以其他关员的名义上传补录数据",
                f"token of {officer.officer_id} uploads {uuid} for {enrollment.officer_id}",
            )
        digest = wire.enrollment_body_sha256(enrollment)
        known = self._known(uuid, digest)
        if known is not None:
            return known
        try:
            check_images(enrollment)
        except wire.WireError as exc:
            raise ApiError.from_wire(exc) from exc
        try:
            with self._db.write() as conn:
                self._store(conn, uuid, digest, enrollment, officer)
        except IntegrityError:
            known = self._known(uuid, digest)
            if known is None:  # not a duplicate UUID: a real integrity problem
                raise
            return known
        log.info("stored enrollment %s of record %s", uuid, enrollment.borderer_id)
        return PutResult(201, wire.STATUS_STORED)

    def _known(self, uuid: str, digest: str) -> PutResult | None:
        with self._db.read() as conn:
            stored = conn.execute(
                select(ServerEnrollment.body_sha256).where(ServerEnrollment.uuid == uuid)
            ).scalar_one_or_none()
        if stored is None:
            return None
        if stored != digest:
            raise ApiError(
                409,
                wire.E_CONFLICT,
                "该补录编号已有不同内容的数据，不能覆盖",
                f"enrollment {uuid} exists with another body",
            )
        return PutResult(200, wire.STATUS_ALREADY_STORED)

    def _store(
        self,
        conn: Connection,
        uuid: str,
        digest: str,
        enrollment: wire.WireEnrollment,
        officer: TokenClaims,
    ) -> None:
        record = conn.execute(
            select(
                ServerBorderer.state,
                ServerBorderer.synced,
                ServerBorderer.has_face,
                ServerBorderer.has_finger,
            )
            .where(ServerBorderer.id == enrollment.borderer_id)
            .with_for_update()
        ).first()
        if record is None:
            raise ApiError(
                404,
                wire.E_RECORD_MISSING,
                "边民备案记录不存在",
                f"record {enrollment.borderer_id} not found",
            )
        if record.state != RecordState.NORMAL or not record.synced:
            raise ApiError(
                422,
                wire.E_RECORD_NOT_NORMAL,
                "只有状态为正常且已同步海关的记录才能补录",
                f"record {enrollment.borderer_id} is {record.state}, synced={record.synced}",
            )
        now = self._clock()
        conn.execute(
            insert(ServerEnrollment).values(
                uuid=uuid,
                body_sha256=digest,
                borderer_id=enrollment.borderer_id,
                officer_id=officer.officer_id,
                officer_name=officer.name,
                desk_id=enrollment.desk_id,
                captured_at=enrollment.captured_at,
                received_at=now,
                scanner_model=enrollment.scanner_model,
                scanner_serial=enrollment.scanner_serial,
                camera_name=enrollment.camera_name,
                has_face=enrollment.has_face,
                has_finger=enrollment.has_finger,
            )
        )
        self._store_payload(conn, uuid, enrollment)
        revision = take_revisions(conn)
        conn.execute(
            update(ServerBorderer)
            .where(ServerBorderer.id == enrollment.borderer_id)
            .values(
                has_face=record.has_face or enrollment.has_face,
                has_finger=record.has_finger or enrollment.has_finger,
                last_op_date=_local_date(now),
                revision=revision,
            )
        )

    @staticmethod
    def _store_payload(conn: Connection, uuid: str, enrollment: wire.WireEnrollment) -> None:
        if enrollment.fingers:
            conn.execute(
                insert(ServerFinger),
                [
                    {
                        "enrollment_uuid": uuid,
                        "finger_no": f.finger_no,
                        "template": f.template,
                        "image_png": f.image_png,
                        "press_quality_json": json.dumps(list(f.press_quality)),
                    }
                    for f in enrollment.fingers
                ],
            )
        if enrollment.face is not None:
            conn.execute(
                insert(ServerFace).values(
                    enrollment_uuid=uuid,
                    jpeg=enrollment.face.jpeg,
                    quality_json=json.dumps(enrollment.face.quality, sort_keys=True),
                )
            )


def _local_date(now: dt.datetime) -> dt.date:
    """最近操作日期 is a calendar date at the border: China Standard Time (UTC+8)."""
    return now.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
