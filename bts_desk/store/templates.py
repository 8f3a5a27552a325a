"""Enrolled fingers' vendor templates on the desk, for 边民核验 (table ``finger_template``).

Offline first: a borderer is verifiable without the sync service. Templates come from two
places, both kept sealed with the desk key (AES-GCM, bound to record, finger position and
format; on top of the store's SQLCipher) and never as images:

- ``put_from_draft``: a 补录 saved at this desk, in the same transaction as the enrollment
  (``store.enrollments.save_enrollment``), so the record is verifiable at once, before upload
  and after the upload's biometric bundle is deleted;
- ``put_pulled``: the pull's templates of enrolled records of the desk's districts
  (``wire.TemplateItem``). A record with an enrollment of this desk still waiting for upload
  keeps the local templates (the service's copy is older).

A newer enrollment replaces all fingers of the record. SQL: never on the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bts_desk.capture.verify import EnrolledFinger
from bts_desk.domain import EnrollmentDraft, FingerPosition, OutboxState
from bts_desk.errors import StoreError
from bts_desk.store.crypto import DeskKey
from bts_desk.store.db import Database
from bts_desk.store.models import EnrollmentRow, FingerTemplateRow, OutboxRow
from bts_desk.sync.wire import TemplateItem

log = logging.getLogger(__name__)

SOURCE_DESK = "desk"
SOURCE_SERVICE = "service"
_UNSENT = (OutboxState.PENDING.value, OutboxState.SENDING.value)


def template_aad(borderer_id: int, position: int, template_format: str) -> str:
    return f"finger-template/v1|{borderer_id}|{position}|{template_format}"


def put_from_draft(session: Session, draft: EnrollmentDraft, key: DeskKey) -> None:
    """The fingers of a 补录 being saved (inside its transaction)."""
    if not draft.fingers:
        return
    session.execute(
        delete(FingerTemplateRow).where(FingerTemplateRow.borderer_id == draft.borderer_id)
    )
    for finger in draft.fingers:
        position = int(finger.iso_position)
        session.add(
            FingerTemplateRow(
                borderer_id=draft.borderer_id,
                position=position,
                template_format=finger.template_format,
                module_family=draft.scanner_model,
                enrollment_uuid=draft.uuid,
                source=SOURCE_DESK,
                captured_at=draft.captured_at,
                sealed=key.seal(
                    finger.template,
                    template_aad(draft.borderer_id, position, finger.template_format),
                ),
            )
        )


def put_pulled(session: Session, items: Iterable[TemplateItem], key: DeskKey) -> int:
    """A pulled page's templates (inside the page's transaction); returns how many were kept.
    Records with an unsent enrollment of this desk keep theirs."""
    by_record: dict[int, list[TemplateItem]] = {}
    for item in items:
        by_record.setdefault(item.borderer_id, []).append(item)
    if not by_record:
        return 0
    unsent = set(
        session.scalars(
            select(EnrollmentRow.borderer_id)
            .join(OutboxRow, OutboxRow.enrollment_uuid == EnrollmentRow.uuid)
            .where(
                EnrollmentRow.borderer_id.in_(list(by_record)),
                EnrollmentRow.has_finger.is_(True),
                OutboxRow.state.in_(_UNSENT),
            )
        )
    )
    wanted = [record for record in by_record if record not in unsent]
    if not wanted:
        return 0
    session.execute(delete(FingerTemplateRow).where(FingerTemplateRow.borderer_id.in_(wanted)))
    kept = 0
    for record in wanted:
        for item in by_record[record]:
            session.add(
                FingerTemplateRow(
                    borderer_id=record,
                    position=item.position,
                    template_format=item.template_format,
                    module_family=item.module_family,
                    enrollment_uuid=item.enrollment_uuid,
                    source=SOURCE_SERVICE,
                    captured_at=item.captured_at,
                    sealed=key.seal(
                        item.template, template_aad(record, item.position, item.template_format)
                    ),
                )
            )
            kept += 1
    return kept


def enrolled_fingers(db: Database, borderer_id: int, key: DeskKey) -> list[EnrolledFinger]:
    """The record's enrolled fingers, by position (empty: none on this desk). StoreError if a
    template does not open (wrong key, tampered row)."""
    with db.session() as session:
        rows = session.scalars(
            select(FingerTemplateRow)
            .where(FingerTemplateRow.borderer_id == borderer_id)
            .order_by(FingerTemplateRow.position)
        ).all()
        found = [
            (r.position, r.template_format, r.module_family, r.sealed, r.enrollment_uuid)
            for r in rows
        ]
    fingers: list[EnrolledFinger] = []
    for position, fmt, family, sealed, uuid in found:
        try:
            template = key.open(sealed, template_aad(borderer_id, position, fmt))
        except StoreError as exc:
            raise StoreError(
                "本机保存的指纹模板无法读取，请重新同步数据",
                f"template of record {borderer_id} finger {position} ({uuid}): {exc.detail}",
            ) from exc
        fingers.append(EnrolledFinger(FingerPosition.from_code(position), template, fmt, family))
    return fingers
