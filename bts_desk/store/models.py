"""SQLAlchemy models of the desk store.

Portable on purpose: nothing SQLite-only, so the same models run on PostgreSQL. Enum columns
store the stable codes of ``bts_desk.domain`` as short strings (no native ENUM types, so a new
state needs no ALTER TYPE). Schema changes go through Alembic revisions in ``migrations/``.

Biometric bytes are never stored in the clear: ``Enrollment.payload`` is an AES-GCM ciphertext
(``bts_desk.store.crypto``) under the enrollment's own data key (``EnrollmentKey``, wrapped by
the desk key); once the sync service has acknowledged it, the payload is set to NULL and the
data key is overwritten (see ``store.enrollments.mark_acknowledged``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, ORMExecuteState, Session, mapped_column

# Stable constraint names: Alembic migrations and PostgreSQL need them.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# INTEGER PRIMARY KEY on SQLite is the rowid itself (no second index); BIGINT elsewhere.
BigId = BigInteger().with_variant(Integer, "sqlite")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class BordererRow(Base):
    """边民备案记录. ``id`` is the sync service's record id; the service is the source of truth."""

    __tablename__ = "borderer"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    customs_code: Mapped[str] = mapped_column(String(8))  # 关区代码
    name: Mapped[str] = mapped_column(String(64))  # 姓名
    gender: Mapped[str] = mapped_column(String(1))  # 性别: domain.Gender
    id_number: Mapped[str] = mapped_column(String(18))  # 身份证号, full; shown masked only
    address: Mapped[str] = mapped_column(String(200))  # 户籍地址
    id_valid_from: Mapped[dt.date] = mapped_column(Date)  # 身份证有效期起
    id_valid_to: Mapped[dt.date] = mapped_column(Date)  # 身份证有效期止
    state: Mapped[str] = mapped_column(String(12))  # 状态: domain.RecordState
    data_source: Mapped[str] = mapped_column(String(32))  # 数据来源
    valid_to: Mapped[dt.date] = mapped_column(Date)  # 有效期止
    has_face: Mapped[bool] = mapped_column(Boolean, default=False)  # 生物标识, with has_finger
    has_finger: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)  # 启用状态
    synced: Mapped[bool] = mapped_column(Boolean, default=True)  # 同步状态 (已同步海关)
    last_op_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)  # 最近操作日期
    revision: Mapped[int] = mapped_column(BigInteger, default=0)  # service change counter

    __table_args__ = (
        # Every filter of the query form leads with `synced` (its default is 已同步海关), and
        # every column of the table sorts along one of these, `synced` first too (同步状态 全部
        # merges the two halves: store.borderers); the trailing `id` makes the order total.
        # Measured at 1M rows in benchmarks/query_bench.py (index count and store size).
        Index("ix_borderer_synced_name", "synced", "name", "id"),
        # 关区代码 filter and sort (ties by 生物标识), with the 生物标识 filter.
        Index(
            "ix_borderer_synced_customs_bio",
            "synced",
            "customs_code",
            "has_face",
            "has_finger",
            "id",
        ),
        Index("ix_borderer_synced_bio", "synced", "has_face", "has_finger", "id"),
        Index("ix_borderer_synced_lastop", "synced", "last_op_date", "id"),
        Index("ix_borderer_synced_enabled", "synced", "enabled", "id"),
        Index("ix_borderer_synced_gender", "synced", "gender", "id"),
        Index("ix_borderer_synced_address", "synced", "address", "id"),
        Index("ix_borderer_synced_id_valid_from", "synced", "id_valid_from", "id"),
        Index("ix_borderer_synced_id_valid_to", "synced", "id_valid_to", "id"),
        Index("ix_borderer_synced_state", "synced", "state", "id"),
        Index("ix_borderer_synced_data_source", "synced", "data_source", "id"),
        Index("ix_borderer_synced_valid_to", "synced", "valid_to", "id"),
        # 身份证号: the full-number search and its (masked) column's sort (trailing `id`
        # implicit: the number is unique in practice, and SQLite appends the rowid).
        Index("ix_borderer_synced_id_number", "synced", "id_number"),
        Index("ix_borderer_revision", "revision"),
        # The table's own order (by id) under 同步状态: first pages of the default view, and
        # pages far down it counted off along this narrow index (store.borderers).
        Index("ix_borderer_synced_id", "synced", "id"),
    )


class EnrollmentRow(Base):
    """One 补录: made on the desk, identified by a desk-made UUID, uploaded through the outbox."""

    __tablename__ = "enrollment"

    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    borderer_id: Mapped[int] = mapped_column(ForeignKey("borderer.id"), index=True)
    officer_id: Mapped[str] = mapped_column(String(32))
    officer_name: Mapped[str] = mapped_column(String(64))
    desk_id: Mapped[str] = mapped_column(String(64))
    scanner_model: Mapped[str] = mapped_column(String(64), default="")
    scanner_serial: Mapped[str] = mapped_column(String(64), default="")
    camera_name: Mapped[str] = mapped_column(String(128), default="")
    captured_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    has_face: Mapped[bool] = mapped_column(Boolean, default=False)
    has_finger: Mapped[bool] = mapped_column(Boolean, default=False)
    quality_json: Mapped[str] = mapped_column(Text, default="{}")  # per-press / face figures
    # ISO/IEC 19794 finger position codes in slot order, "2,7" (migration 0004)
    finger_positions: Mapped[str] = mapped_column(String(32), default="", server_default="")
    # 无法采集 / 无法拍照 entries, JSON (migration 0008); kept after the upload
    exceptions_json: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")
    # AES-GCM ciphertext of the biometric bundle; NULL once acknowledged by the service.
    payload: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    payload_sha256: Mapped[str] = mapped_column(String(64), default="")


class EnrollmentKeyRow(Base):
    """The data key of one enrollment's payload, wrapped by the desk key (migration 0011).

    Destroying this small row (with SQLite's secure_delete) makes the payload's ciphertext
    unreadable for good, so acknowledging an upload need not overwrite the payload's ~50
    overflow pages (cryptographic erase, NIST SP 800-88). Enrollments saved before 0011 have
    no row: their payloads are sealed with the desk key and overwritten as before."""

    __tablename__ = "enrollment_key"

    enrollment_uuid: Mapped[str] = mapped_column(
        ForeignKey("enrollment.uuid", ondelete="CASCADE"), primary_key=True
    )
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)


class FingerTemplateRow(Base):
    """An enrolled finger's vendor template for 边民核验 (migration 0007): from this desk's own
    enrollments at once, from the sync service's pull for the desk's districts. ``sealed`` is
    AES-GCM with the desk key (``store.templates``), on top of the store's SQLCipher."""

    __tablename__ = "finger_template"

    borderer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    template_format: Mapped[str] = mapped_column(String(256))
    module_family: Mapped[str] = mapped_column(String(256), default="")
    enrollment_uuid: Mapped[str] = mapped_column(String(36))
    source: Mapped[str] = mapped_column(String(8))  # "desk" (enrolled here) / "service"
    captured_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class PulledExceptionRow(Base):
    """A biometric recorded as impossible to capture (无法采集 / 无法拍照) in a record's latest
    enrollment, as the pull brings it (migration 0010), so that 详情 shows it for records
    enrolled at other desks. ``position`` is the ISO finger code, 0 for the face."""

    __tablename__ = "pulled_exception"

    borderer_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(64), default="")
    enrollment_uuid: Mapped[str] = mapped_column(String(36))
    captured_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class OutboxRow(Base):
    """Upload queue entry of an enrollment. States: domain-level pending/sending/acked/refused."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    enrollment_uuid: Mapped[str] = mapped_column(
        ForeignKey("enrollment.uuid"), unique=True, index=True
    )
    state: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    last_error: Mapped[str] = mapped_column(Text, default="")
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )


class AuditRow(Base):
    """Append-only log of who viewed or changed what (详情 views, enrollments, logins)."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    officer_id: Mapped[str] = mapped_column(String(32))
    officer_name: Mapped[str] = mapped_column(String(64))
    desk_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    borderer_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    mac: Mapped[str | None] = mapped_column(String(64), nullable=True)  # hash chain (0005)


class SyncStateRow(Base):
    """Key/value state of the sync client (pull cursor, last successful sync)."""

    __tablename__ = "sync_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")


# --- the audit log is append-only (bts_desk.store.audit); the database refuses it too (0002) --


def _refuse_audit_change(_mapper: object, _connection: object, target: AuditRow) -> None:
    from bts_desk.errors import StoreError

    raise StoreError("操作日志不可修改或删除", f"refused to change or delete audit row {target.id}")


def _refuse_audit_bulk(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(
        m.class_ is AuditRow for m in state.all_mappers
    ):
        from bts_desk.errors import StoreError

        raise StoreError("操作日志不可修改或删除", "refused a bulk UPDATE/DELETE of audit rows")


event.listen(AuditRow, "before_update", _refuse_audit_change)
event.listen(AuditRow, "before_delete", _refuse_audit_change)
event.listen(Session, "do_orm_execute", _refuse_audit_bulk)
