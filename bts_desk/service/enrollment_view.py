"""``GET /api/v1/enrollments/{uuid}``: what the service holds of one enrollment, without the
biometric records (they stay sealed): who uploaded it from which desk and when, the fingers
and face captured, and the exception entries (补录 无法采集 / 无法拍照) as stored.

Only for a session that may serve the record's district (403 ``district_forbidden``, as an
upload); an unknown UUID is 404 ``enrollment_missing``. Blocking (SQL): a worker thread.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bts_desk.service.database import ServiceDatabase
from bts_desk.service.errors import ApiError
from bts_desk.service.models import ServerBorderer, ServerEnrollment, ServerException
from bts_desk.service.sessions import TokenClaims
from bts_desk.sync import wire


def enrollment_answer(
    db: ServiceDatabase, uuid: str, officer: TokenClaims
) -> wire.EnrollmentAnswer:
    with db.read() as conn:
        row = conn.execute(
            select(
                ServerEnrollment.uuid,
                ServerEnrollment.borderer_id,
                ServerEnrollment.officer_id,
                ServerEnrollment.desk_id,
                ServerEnrollment.captured_at,
                ServerEnrollment.received_at,
                ServerEnrollment.has_face,
                ServerEnrollment.has_finger,
                ServerEnrollment.finger_positions,
                ServerBorderer.customs_code,
            )
            .join(ServerBorderer, ServerBorderer.id == ServerEnrollment.borderer_id)
            .where(ServerEnrollment.uuid == uuid)
        ).first()
        if row is None:
            raise ApiError(
                404, wire.E_ENROLLMENT_MISSING, "补录数据不存在", f"no enrollment {uuid}"
            )
        enrollment = row
        if row.customs_code not in officer.districts:
            raise ApiError(
                403,
                wire.E_DISTRICT_FORBIDDEN,
                "该记录不属于本关员可办理的关区",
                f"enrollment {uuid} of district {row.customs_code}, "
                f"token grants {sorted(officer.districts)}",
            )
        exceptions = conn.execute(
            select(ServerException.position, ServerException.reason, ServerException.note)
            .where(ServerException.enrollment_uuid == uuid)
            .order_by(ServerException.position == 0, ServerException.position)
        ).all()
    positions = [int(p) for p in enrollment.finger_positions.split(",") if p]
    return wire.EnrollmentAnswer(
        uuid=enrollment.uuid,
        borderer_id=enrollment.borderer_id,
        officer_id=enrollment.officer_id,
        desk_id=enrollment.desk_id,
        captured_at=_aware(enrollment.captured_at),
        received_at=_aware(enrollment.received_at),
        has_face=enrollment.has_face,
        has_finger=enrollment.has_finger,
        finger_positions=positions,
        exceptions=[
            wire.ExceptionEntry(position=p, reason=r, note=n)  # type: ignore[arg-type]
            for p, r, n in exceptions
        ],
    )


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
