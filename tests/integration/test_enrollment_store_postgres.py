"""The desk store's enrollment, outbox and append-only audit on PostgreSQL (a desk may run on
a site's PostgreSQL): the same behaviour as on SQLite, triggers of revision 0002 included."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from bts_desk.domain import Officer, OutboxState
from bts_desk.errors import StoreError
from bts_desk.store.audit import AuditAction, query_audit, verify
from bts_desk.store.borderers import upsert_records
from bts_desk.store.crypto import DeskKey
from bts_desk.store.db import open_database
from bts_desk.store.demo_data import MANUAL_ROWS
from bts_desk.store.enrollments import (
    list_outbox,
    load_draft,
    mark_acknowledged,
    mark_sending,
    recover_interrupted,
    save_enrollment,
)
from bts_desk.store.models import BordererRow, EnrollmentRow
from bts_desk.sync.samples import sample_draft

pytestmark = pytest.mark.postgres

OFFICER = Officer("GZ1001", "李明", "5301")


def test_enrollment_outbox_and_audit_on_postgres(pg_url: str) -> None:
    db = open_database(pg_url)
    try:
        upsert_records(db, MANUAL_ROWS)
        person = MANUAL_ROWS[0].id
        key = DeskKey.generate()
        draft = sample_draft(person, OFFICER)
        save_enrollment(db, draft, key)
        assert load_draft(db, draft.uuid, key).fingers == draft.fingers
        with db.session() as s:
            row = s.get(BordererRow, person)
            assert row is not None and row.has_face and row.has_finger
        mark_sending(db, [draft.uuid])
        assert recover_interrupted(db) == 1
        mark_acknowledged(db, [draft.uuid])
        assert list_outbox(db, include_acknowledged=True)[0].state is OutboxState.ACKNOWLEDGED
        with db.session() as s:
            enrolled = s.get(EnrollmentRow, draft.uuid)
            assert enrolled is not None and enrolled.payload is None
        actions = [a.action for a in query_audit(db)]
        assert actions == [AuditAction.UPLOAD_ACKNOWLEDGED, AuditAction.ENROLL]
        assert verify(db).ok  # the hash chain on PostgreSQL too
        with pytest.raises(StoreError), db.session() as s:
            s.execute(text("UPDATE audit SET detail = 'x'"))
        with db.engine.connect() as conn, pytest.raises(DatabaseError, match="append-only"):
            conn.execute(text("DELETE FROM audit"))
        with db.engine.connect() as conn, pytest.raises(DatabaseError, match="append-only"):
            conn.execute(text("TRUNCATE audit"))
    finally:
        db.dispose()
