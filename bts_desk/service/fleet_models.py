"""Tables of the fleet side of the sync service (on the service's own metadata, ``ServerBase``).

- ``desk_state``: one row per desk, the latest report (what 设备总览 lists); upserted.
- ``desk_report``: the history of reports (a desk's page); pruned past ``HISTORY_DAYS``.
- ``desk_audit``: the highest audit chain head each desk has reported, and the mark of a
  chain that went back or was rewritten (``desk_audit``).
- ``console_admin``: IT administrators of the console (argon2 password hashes).
- ``console_session``: their sessions, by the SHA-256 of the cookie's token (so that a copy of
  the table does not log anyone in), with the CSRF token of the session's forms. In the
  database so that every worker process knows every session, and logout revokes at once.

Portable column types only: the same tables run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bts_desk.service.models import ServerBase
from bts_desk.store.models import BigId

HISTORY_DAYS = 30


class DeskState(ServerBase):
    __tablename__ = "desk_state"

    desk_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    district: Mapped[str] = mapped_column(String(8), index=True)
    app_version: Mapped[str] = mapped_column(String(32))
    os: Mapped[str] = mapped_column(String(100))
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    pending: Mapped[int] = mapped_column(Integer)
    refused: Mapped[int] = mapped_column(Integer)
    waiting: Mapped[int] = mapped_column(Integer)
    oldest_pending_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    red_devices: Mapped[int] = mapped_column(Integer)
    devices_json: Mapped[str] = mapped_column(Text)
    refusals_json: Mapped[str] = mapped_column(Text)
    last_pull_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    pull_cursor: Mapped[int] = mapped_column(BigInteger)
    clock_offset_s: Mapped[float] = mapped_column(Float)
    reports: Mapped[int] = mapped_column(Integer)


class DeskReportRow(ServerBase):
    __tablename__ = "desk_report"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    desk_id: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    app_version: Mapped[str] = mapped_column(String(32))
    pending: Mapped[int] = mapped_column(Integer)
    refused: Mapped[int] = mapped_column(Integer)
    waiting: Mapped[int] = mapped_column(Integer)
    oldest_pending_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    red_devices: Mapped[int] = mapped_column(Integer)
    devices_json: Mapped[str] = mapped_column(Text)
    last_pull_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    pull_cursor: Mapped[int] = mapped_column(BigInteger)
    clock_offset_s: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_desk_report_desk_time", "desk_id", "received_at"),)


class DeskAudit(ServerBase):
    __tablename__ = "desk_audit"

    desk_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    head_id: Mapped[int] = mapped_column(BigInteger)  # the anchor: highest row id reported
    head_tag: Mapped[str] = mapped_column(String(64))  # its MAC tag (store.audit.head_value)
    anchored_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    problem: Mapped[str] = mapped_column(Text)  # "" or why the desk is marked
    problem_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ConsoleAdmin(ServerBase):
    __tablename__ = "console_admin"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ConsoleSession(ServerBase):
    __tablename__ = "console_session"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[float] = mapped_column(Float, index=True)  # POSIX seconds
