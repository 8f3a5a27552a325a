"""Tables of the reference sync service (its own metadata, apart from the desk store's).

- ``borderer``: the records, the service being their source of truth. ``revision`` is unique
  and grows with every change; the desks pull "everything with a revision above my cursor".
- ``revision_counter``: one row. On SQLite, the last revision handed out: every writer bumps
  it as the *last* statement of its transaction (writers are serialised by ``BEGIN
  IMMEDIATE``), so revisions become visible in the order they were handed out. On
  PostgreSQL, the floor below the revisions made from transaction ids (``database.
  take_revisions``; the pull stops at ``database.revision_horizon``, so a cursor never skips
  a change committed late); nothing bumps it there.
- ``enrollment`` (+ ``enrollment_envelope``, ``enrollment_finger``, ``enrollment_face``):
  uploads keyed by the desk's UUID with the canonical body hash for idempotency, their CBEFF
  envelope as uploaded — sealed by ``vault`` (envelope encryption with the service key: no
  readable biometric in the database) — and per finger / face what its records say
  (position, size, quality).
- ``session_challenge``: single-use login challenges (in the database so that several
  service processes can share them); ``challenge_bucket``: the per-address rate limit of
  the challenge endpoint, shared the same way (``ratelimit``).
- ``officer_session``: the opaque, revocable session ids the desks hold (stored as SHA-256),
  each bound to an officer, a desk and the districts granted at login.
- ``district_grant`` / ``grant_log``: which districts (关区) an officer may serve beyond their
  own, and the record of every grant and revocation.

Portable column types only: the same tables run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bts_desk.store.models import NAMING, BigId


class ServerBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ServerBorderer(ServerBase):
    """边民备案记录 as the service keeps them: the columns of the desk's BordererRow."""

    __tablename__ = "borderer"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    customs_code: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(64))
    gender: Mapped[str] = mapped_column(String(1))
    id_number: Mapped[str] = mapped_column(String(18))
    address: Mapped[str] = mapped_column(String(200))
    id_valid_from: Mapped[dt.date] = mapped_column(Date)
    id_valid_to: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(12))
    data_source: Mapped[str] = mapped_column(String(32))
    valid_to: Mapped[dt.date] = mapped_column(Date)
    has_face: Mapped[bool] = mapped_column(Boolean, default=False)
    has_finger: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    synced: Mapped[bool] = mapped_column(Boolean, default=True)
    last_op_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    revision: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ux_borderer_revision", "revision", unique=True),
        Index("ix_borderer_district_revision", "customs_code", "revision"),  # pulls per grant
    )


class RevisionCounter(ServerBase):
    __tablename__ = "revision_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class ServerEnrollment(ServerBase):
    __tablename__ = "enrollment"

    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    body_sha256: Mapped[str] = mapped_column(String(64))
    borderer_id: Mapped[int] = mapped_column(ForeignKey("borderer.id"), index=True)
    officer_id: Mapped[str] = mapped_column(String(32))
    officer_name: Mapped[str] = mapped_column(String(64))
    desk_id: Mapped[str] = mapped_column(String(64))
    captured_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    scanner_model: Mapped[str] = mapped_column(String(64), default="")
    scanner_serial: Mapped[str] = mapped_column(String(64), default="")
    camera_name: Mapped[str] = mapped_column(String(128), default="")
    has_face: Mapped[bool] = mapped_column(Boolean)
    has_finger: Mapped[bool] = mapped_column(Boolean)
    finger_positions: Mapped[str] = mapped_column(String(32), default="")  # ISO codes "2,7"


class ServerEnvelope(ServerBase):
    """The enrollment's CBEFF envelope exactly as uploaded (what ``export`` writes out)."""

    __tablename__ = "enrollment_envelope"

    enrollment_uuid: Mapped[str] = mapped_column(
        ForeignKey("enrollment.uuid", ondelete="CASCADE"), primary_key=True
    )
    cbeff: Mapped[bytes] = mapped_column(LargeBinary)


class ServerFinger(ServerBase):
    """One finger of an enrollment, as its envelope describes it (the records stay in the
    envelope): ISO/IEC 19794 finger position, image size, quality, the vendor template's
    format."""

    __tablename__ = "enrollment_finger"

    enrollment_uuid: Mapped[str] = mapped_column(
        ForeignKey("enrollment.uuid", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    resolution_ppi: Mapped[int] = mapped_column(Integer)
    quality: Mapped[int | None] = mapped_column(Integer, nullable=True)
    module_family: Mapped[str] = mapped_column(String(256), default="")
    template_format: Mapped[str] = mapped_column(String(256), default="")


class ServerFace(ServerBase):
    __tablename__ = "enrollment_face"

    enrollment_uuid: Mapped[str] = mapped_column(
        ForeignKey("enrollment.uuid", ondelete="CASCADE"), primary_key=True
    )
    image_type: Mapped[int] = mapped_column(Integer)  # 19794-5: 1 full frontal, 2 token
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)


class ServerException(ServerBase):
    """A biometric the officer recorded as impossible to capture (补录 无法采集 / 无法拍照), as
    the envelope's exception entry says: which finger (ISO code; 0 = the face), the reason
    code (``domain.ExceptionReason``) and the text of 其他. Stored with its enrollment row,
    which names the officer, the session's desk and when: the audit of the decision."""

    __tablename__ = "enrollment_exception"

    enrollment_uuid: Mapped[str] = mapped_column(
        ForeignKey("enrollment.uuid", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(64), default="")


class SessionChallenge(ServerBase):
    __tablename__ = "session_challenge"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the bytes
    expires_at: Mapped[float] = mapped_column(Float, index=True)  # POSIX seconds


class ChallengeBucket(ServerBase):
    """A client address's token bucket for ``POST /session/challenge`` (``ratelimit``)."""

    __tablename__ = "challenge_bucket"

    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float, index=True)  # POSIX seconds


class OfficerSession(ServerBase):
    __tablename__ = "officer_session"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    officer_id: Mapped[str] = mapped_column(String(32), index=True)
    officer_name: Mapped[str] = mapped_column(String(64))
    customs_code: Mapped[str] = mapped_column(String(8))
    desk_id: Mapped[str] = mapped_column(String(64))
    districts: Mapped[str] = mapped_column(Text)  # comma-separated 关区代码
    created_at: Mapped[float] = mapped_column(Float)  # POSIX seconds
    expires_at: Mapped[float] = mapped_column(Float, index=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class DistrictGrant(ServerBase):
    __tablename__ = "district_grant"

    officer_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    district: Mapped[str] = mapped_column(String(8), primary_key=True)
    granted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    granted_by: Mapped[str] = mapped_column(String(64))


class GrantLog(ServerBase):
    __tablename__ = "grant_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    action: Mapped[str] = mapped_column(String(8))  # grant / revoke
    officer_id: Mapped[str] = mapped_column(String(32))
    district: Mapped[str] = mapped_column(String(8))
    by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(200), default="")


class ServerTemplates(ServerBase):
    """The vendor finger templates of one enrollment, taken from its envelope when it was
    stored and sealed as one blob (a JSON list; see ``templates``), so that a pull serves
    them without opening and re-parsing the whole envelope (about 200 KB of images)."""

    __tablename__ = "enrollment_templates"

    enrollment_uuid: Mapped[str] = mapped_column(
        ForeignKey("enrollment.uuid", ondelete="CASCADE"), primary_key=True
    )
    templates: Mapped[bytes] = mapped_column(LargeBinary)
