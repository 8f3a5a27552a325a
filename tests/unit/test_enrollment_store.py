"""The encrypted enrollment store, its outbox transitions and the append-only audit log."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import delete, event, select, text, update
from sqlalchemy.exc import DatabaseError

from bts_desk.config import Settings
from bts_desk.domain import (
    BioException,
    ExceptionReason,
    FingerPosition,
    Gender,
    Officer,
    OutboxState,
    RecordState,
)
from bts_desk.errors import StoreError
from bts_desk.store import bundle
from bts_desk.store.audit import AuditAction, query_audit, record
from bts_desk.store.borderers import BordererRecord, upsert_records
from bts_desk.store.crypto import DeskKey, load_or_create_key
from bts_desk.store.db import Database, open_database
from bts_desk.store.enrollments import (
    due_entries,
    exceptions_of,
    list_outbox,
    load_draft,
    mark_acknowledged,
    mark_refused,
    mark_retry_later,
    mark_sending,
    mark_waiting_for_officers,
    outbox_counts,
    recover_interrupted,
    retry_refused,
    save_enrollment,
)
from bts_desk.store.models import AuditRow, BordererRow, EnrollmentKeyRow, EnrollmentRow
from bts_desk.sync.samples import sample_draft

OFFICER = Officer("GZ1001", "李关员", "5301")
OTHER = Officer("GZ2002", "王关员", "5301")


def person(db: Database, borderer_id: int, *, has_face: bool = False) -> None:
    upsert_records(
        db,
        [
            BordererRecord(
                id=borderer_id,
                customs_code="5301",
                name=f"测试{borderer_id}",
                gender=Gender.MALE,
                id_number="53262519800101001X",
                address="云南省文山州麻栗坡县",
                id_valid_from=dt.date(2020, 1, 1),
                id_valid_to=dt.date(2040, 1, 1),
                state=RecordState.NORMAL,
                data_source="海关",
                valid_to=dt.date(2030, 1, 1),
                has_face=has_face,
                has_finger=False,
                enabled=True,
                synced=True,
                last_op_date=None,
            )
        ],
    )


@pytest.fixture
def key(settings: Settings) -> DeskKey:
    return load_or_create_key(settings.key_file)


def test_key_file_is_private_and_stable(settings: Settings) -> None:
    first = load_or_create_key(settings.key_file)
    mode = stat.S_IMODE(os.stat(settings.key_file).st_mode)
    assert mode == 0o600
    again = load_or_create_key(settings.key_file)
    assert again.fingerprint == first.fingerprint
    sealed = first.seal(b"secret", "u-1")
    assert again.open(sealed, "u-1") == b"secret"
    assert b"secret" not in sealed


def test_key_file_left_readable_is_tightened(settings: Settings) -> None:
    load_or_create_key(settings.key_file)
    settings.key_file.chmod(0o644)
    load_or_create_key(settings.key_file)
    assert stat.S_IMODE(os.stat(settings.key_file).st_mode) == 0o600


def test_wrong_key_tampering_and_other_uuid_are_refused() -> None:
    key = DeskKey.generate()
    sealed = key.seal(b"template bytes", "uuid-a")
    with pytest.raises(StoreError, match="AES-GCM"):
        DeskKey.generate().open(sealed, "uuid-a")
    with pytest.raises(StoreError):
        key.open(sealed, "uuid-b")  # moved to another enrollment
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    with pytest.raises(StoreError) as info:
        key.open(bytes(tampered), "uuid-a")
    assert "密钥" in info.value.user_message
    with pytest.raises(StoreError):
        key.open(b"\x01short", "uuid-a")


def test_garbage_key_file_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "desk.key"
    path.write_bytes(b"not a key")
    with pytest.raises(StoreError):
        load_or_create_key(path)


def test_bundle_round_trip() -> None:
    draft = sample_draft(1, OFFICER)
    fingers, face = bundle.unpack(bundle.pack(draft.fingers, draft.face))
    assert fingers == draft.fingers
    assert face == draft.face
    with pytest.raises(StoreError):
        bundle.unpack(b"BTSB1\x00\x00\x00\x05{}xyz")


def test_finger_positions_are_kept_and_listed(db: Database, key: DeskKey) -> None:
    person(db, 2)
    draft = sample_draft(2, OFFICER)
    chosen = (FingerPosition.LEFT_THUMB, FingerPosition.UNKNOWN)  # finger 2: none recorded
    fingers = tuple(
        dataclasses.replace(f, position=p) for f, p in zip(draft.fingers, chosen, strict=True)
    )
    draft = dataclasses.replace(draft, fingers=fingers)
    assert bundle.unpack(bundle.pack(fingers, None))[0] == fingers
    save_enrollment(db, draft, key)
    with db.session() as session:
        row = session.get(EnrollmentRow, draft.uuid)
        assert row is not None and row.finger_positions == "6,7"  # 7: finger 2's default


def test_save_is_atomic_and_encrypted(db: Database, key: DeskKey, settings: Settings) -> None:
    person(db, 7)
    draft = sample_draft(7, OFFICER, desk_id="desk-9")
    save_enrollment(db, draft, key)
    with db.session() as s:
        row = s.get(BordererRow, 7)
        assert row is not None
        assert (row.has_face, row.has_finger) == (True, True)
        assert row.last_op_date == draft.captured_at.astimezone().date()
        enr = s.get(EnrollmentRow, draft.uuid)
        assert enr is not None and enr.payload is not None
        assert draft.face is not None and draft.face.jpeg not in enr.payload
    assert [e.state for e in list_outbox(db)] == [OutboxState.PENDING]
    audit = query_audit(db)
    assert [(a.action, a.borderer_id, a.officer_id) for a in audit] == [
        (AuditAction.ENROLL, 7, "GZ1001")
    ]
    assert audit[0].borderer_name == "测试7"
    loaded = load_draft(db, draft.uuid, key)
    assert loaded.fingers == draft.fingers and loaded.face == draft.face
    assert loaded.officer.officer_id == OFFICER.officer_id


def test_missing_record_saves_nothing(db: Database, key: DeskKey) -> None:
    with pytest.raises(StoreError):
        save_enrollment(db, sample_draft(99, OFFICER), key)
    with db.session() as s:
        assert s.execute(select(EnrollmentRow)).first() is None
        assert s.execute(select(AuditRow)).first() is None


def test_existing_face_is_kept_when_saving_fingers_only(db: Database, key: DeskKey) -> None:
    person(db, 8, has_face=True)
    save_enrollment(db, sample_draft(8, OFFICER, with_face=False), key)
    with db.session() as s:
        row = s.get(BordererRow, 8)
        assert row is not None and (row.has_face, row.has_finger) == (True, True)


def test_outbox_transitions(db: Database, key: DeskKey) -> None:
    person(db, 1)
    drafts = [sample_draft(1, OFFICER, with_face=False) for _ in range(3)]
    for draft in drafts:
        save_enrollment(db, draft, key)
    save_enrollment(db, sample_draft(1, OTHER, with_face=False), key)
    now = dt.datetime.now(dt.UTC)
    due = due_entries(db, now, {OFFICER.officer_id})
    assert [e.uuid for e in due] == [d.uuid for d in drafts]  # oldest first, own officer only
    assert mark_waiting_for_officers(db, {OFFICER.officer_id}) == 1
    waiting = [e for e in list_outbox(db) if e.officer_id == OTHER.officer_id]
    assert waiting[0].last_error == "等待关员 王关员（GZ2002）登录后上传"

    mark_sending(db, [drafts[0].uuid, drafts[1].uuid])
    assert recover_interrupted(db) == 2  # a crash while sending: back to pending
    mark_sending(db, [drafts[0].uuid])
    mark_acknowledged(db, [drafts[0].uuid])
    mark_refused(db, drafts[1].uuid, "该边民状态不是正常，不能补录")
    later = now + dt.timedelta(minutes=5)
    mark_retry_later(db, [drafts[2].uuid], "同步服务器暂时不可用（HTTP 503）", later)
    assert due_entries(db, now, {OFFICER.officer_id}) == []
    assert [e.uuid for e in due_entries(db, later, {OFFICER.officer_id})] == [drafts[2].uuid]
    assert outbox_counts(db).pending == 2  # drafts[2] and the other officer's
    assert outbox_counts(db).refused == 1
    with db.session() as s:
        acked = s.get(EnrollmentRow, drafts[0].uuid)
        assert acked is not None and acked.payload is None  # bytes gone, metadata kept
    with pytest.raises(StoreError):
        load_draft(db, drafts[0].uuid, key)
    listed = list_outbox(db)
    assert listed[0].state is OutboxState.REFUSED and "不能补录" in listed[0].last_error
    assert drafts[0].uuid not in {e.uuid for e in listed}

    retry_refused(db, drafts[1].uuid, OFFICER, "desk-1")
    assert outbox_counts(db).refused == 0
    actions = [a.action for a in query_audit(db)]
    assert actions[:2] == [AuditAction.UPLOAD_RETRY, AuditAction.UPLOAD_REFUSED]


def test_outbox_listings_never_read_past_the_payload(db: Database, key: DeskKey) -> None:
    """The worker lists due entries before every batch and the outbox page lists them all:
    a column stored after the ~200 KB payload in the row makes SQLite walk (and SQLCipher
    decrypt) the payload's overflow pages to reach it, which made a pass O(N²) in pending
    entries. The columns after ``payload`` are read from the real table, so a migration that
    appends one is covered too."""
    person(db, 1)
    save_enrollment(db, sample_draft(1, OFFICER), key)
    with db.session() as s:
        names = [row[1] for row in s.execute(text("PRAGMA table_info(enrollment)"))]
    after_payload = names[names.index("payload") :]
    assert "payload_sha256" in after_payload
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert len(due_entries(db, dt.datetime.now(dt.UTC), {OFFICER.officer_id})) == 1
        assert len(list_outbox(db)) == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    selects = [sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2
    for sql in selects:
        read = [name for name in after_payload if f"enrollment.{name}" in sql]
        assert read == [], f"reads {read} stored after the payload: {sql}"


def test_acknowledgement_erases_the_data_key_and_legacy_payloads(tmp_path: Path) -> None:
    """A payload sealed under its own data key is erased by overwriting that key (its freed
    pages may keep ciphertext nobody can open); a payload saved before data keys existed is
    overwritten itself. Read from a plain SQLite file, where page bytes are visible."""
    key = DeskKey.generate()
    plain = open_database(f"sqlite:///{tmp_path / 'plain.db'}")
    try:
        person(plain, 1)
        keyed, legacy = sample_draft(1, OFFICER), sample_draft(1, OFFICER)
        for draft in (keyed, legacy):
            save_enrollment(plain, draft, key)
        with plain.session() as s:  # ``legacy`` as an enrollment saved before migration 0011
            sealed_by_desk = key.seal(b"legacy bundle " * 4000, "legacy")
            s.execute(
                update(EnrollmentRow)
                .where(EnrollmentRow.uuid == legacy.uuid)
                .values(payload=sealed_by_desk)
            )
            s.execute(
                delete(EnrollmentKeyRow).where(EnrollmentKeyRow.enrollment_uuid == legacy.uuid)
            )
            wrapped = s.scalars(select(EnrollmentKeyRow.wrapped)).one()
        plain.checkpoint()
        raw = (tmp_path / "plain.db").read_bytes()
        assert wrapped in raw and sealed_by_desk[-64:] in raw

        mark_acknowledged(plain, [keyed.uuid, legacy.uuid])

        raw = (tmp_path / "plain.db").read_bytes()
        assert wrapped not in raw  # the data key is overwritten, not only unlinked
        assert sealed_by_desk[-64:] not in raw  # the legacy payload is overwritten
        with plain.session() as s:
            assert s.scalars(select(EnrollmentKeyRow)).all() == []
            assert s.scalars(select(EnrollmentRow.payload)).all() == [None, None]
            # the pooled connection goes back with secure_delete on for everything else
            assert s.execute(text("PRAGMA secure_delete")).scalar() == 1
    finally:
        plain.dispose()


def test_a_pooled_connection_comes_back_with_secure_delete_on(db: Database) -> None:
    """Whatever a caller left switched off (a failed cryptographic erase, a bulk pull's
    NORMAL durability), the next user of the pooled connection frees pages with
    secure_delete on and commits with synchronous FULL (2)."""
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA secure_delete=OFF")
        conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 0
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
        raw = conn.connection.dbapi_connection
    for _ in range(2 * 6):  # every connection the pool keeps
        with db.engine.connect() as conn:
            if conn.connection.dbapi_connection is raw:
                assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
                return
    pytest.fail("the pool did not hand the connection out again")


def test_audit_rows_cannot_be_changed(db: Database) -> None:
    record(db, OFFICER, AuditAction.VIEW_DETAIL, 5, "详情", desk_id="d")
    with pytest.raises(StoreError), db.session() as s:
        row = s.execute(select(AuditRow)).scalar_one()
        row.detail = "changed"
    with pytest.raises(StoreError), db.session() as s:
        s.delete(s.execute(select(AuditRow)).scalar_one())
    with pytest.raises(StoreError), db.session() as s:
        s.execute(update(AuditRow).values(detail="x"))
    with pytest.raises(StoreError), db.session() as s:
        s.execute(delete(AuditRow))
    # The database itself refuses raw SQL too (triggers of revision 0002).
    with db.engine.connect() as conn:
        with pytest.raises(DatabaseError, match="append-only"):
            conn.execute(text("UPDATE audit SET detail = 'x'"))
        with pytest.raises(DatabaseError, match="append-only"):
            conn.execute(text("DELETE FROM audit"))
    assert [a.detail for a in query_audit(db)] == ["详情"]


def test_exceptions_are_saved_audited_and_loaded(db: Database, key: DeskKey) -> None:
    """One finger plus 无法采集 of the other; then a 补录 of exceptions only (都没有)."""
    person(db, 11)
    draft = sample_draft(11, OFFICER, with_face=False)
    left = BioException(FingerPosition.LEFT_INDEX, ExceptionReason.OTHER, "烫伤")
    draft = dataclasses.replace(draft, fingers=draft.fingers[:1], exceptions=(left,))
    save_enrollment(db, draft, key)
    assert load_draft(db, draft.uuid, key).exceptions == (left,)
    assert exceptions_of(db, 11) == (left,)
    with db.session() as s:
        row = s.get(BordererRow, 11)
        assert row is not None and (row.has_face, row.has_finger) == (False, True)
    assert "无法采集：左手食指（其他：烫伤）" in query_audit(db)[0].detail

    person(db, 12)
    nothing = (
        BioException(FingerPosition.RIGHT_INDEX, ExceptionReason.MISSING),
        BioException(FingerPosition.LEFT_INDEX, ExceptionReason.BANDAGED),
        BioException(None, ExceptionReason.CANNOT_POSE),
    )
    bare = dataclasses.replace(
        sample_draft(12, OFFICER, with_face=False, with_fingers=False), exceptions=nothing
    )
    save_enrollment(db, bare, key)
    with db.session() as s:
        row = s.get(BordererRow, 12)
        assert row is not None and (row.has_face, row.has_finger) == (False, False)  # 都没有
    assert exceptions_of(db, 12) == nothing
    detail = query_audit(db)[0].detail
    assert "指纹0枚" in detail and "无法拍照（无法配合拍照）" in detail

    for exceptions in (nothing[:2], (), (nothing[0], nothing[0], nothing[2])):
        refused = dataclasses.replace(
            sample_draft(12, OFFICER, with_face=False, with_fingers=False), exceptions=exceptions
        )
        with pytest.raises(StoreError):
            save_enrollment(db, refused, key)
