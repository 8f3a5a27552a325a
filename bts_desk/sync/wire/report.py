"""Wire of the desk status report (``POST /api/v1/desk-reports``), shared by desk and service.

A desk tells IT how it is doing: its version and OS, its outbox (pending, refused, waiting for
an officer, the oldest pending entry's age, the refusal reasons), its devices (green or red,
model, port, last error), its last pull and cursor, its clock (``sent_at``: the service
compares it with its own clock and stores the offset), and its audit chain's head (the
service anchors it: ``bts_desk.service.desk_audit``). Nothing personal travels: no officer,
no record, no ID number — counts, device facts and the service's own refusal reasons only.

Pydantic models (v2): the service validates a body with ``DeskReport.model_validate_json``
(422 on anything else), the desk builds one and sends ``model_dump(mode="json")``. Pure
Python, any thread.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

PATH_DESK_REPORT = "/api/v1/desk-reports"
MAX_REPORT_BODY = 64 * 1024
MAX_REFUSAL_REASONS = 20
AUDIT_HEAD_PATTERN = r"^[1-9][0-9]{0,17}:[0-9a-f]{64}$"  # store.audit.head_value

DeviceKindCode = Literal["card_reader", "scanner", "camera"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceReport(_Strict):
    """One peripheral as the 外接设备状态 panel sees it (``bts_desk.devices.status``)."""

    kind: DeviceKindCode
    ok: bool
    summary: str = Field(max_length=200, description="the panel's Chinese one-liner")
    driver: str = Field("", max_length=64)
    port: str = Field("", max_length=200)
    model: str = Field("", max_length=64)
    last_error: str = Field("", max_length=500, description="precise account when red")


class RefusalCount(_Strict):
    """How many outbox entries the service refused with this (Chinese) reason."""

    reason: str = Field(max_length=200)
    count: int = Field(ge=1)


class OutboxReport(_Strict):
    pending: int = Field(ge=0, description="pending + sending (待上传)")
    refused: int = Field(ge=0)
    waiting_for_officer: int = Field(
        ge=0, description="pending entries whose officer is not logged in at the desk"
    )
    oldest_pending_age_s: float | None = Field(None, ge=0)
    refusals: list[RefusalCount] = Field(default_factory=list, max_length=MAX_REFUSAL_REASONS)


class DeskReport(_Strict):
    """The body of ``POST /api/v1/desk-reports``."""

    desk_id: str = Field(min_length=1, max_length=64)
    district: str = Field(max_length=8, description="关区 code the desk serves")
    app_version: str = Field(max_length=32)
    os: str = Field(max_length=100)
    sent_at: AwareDatetime = Field(description="the desk's clock when it built the report")
    outbox: OutboxReport
    devices: list[DeviceReport] = Field(default_factory=list, max_length=8)
    last_pull_at: AwareDatetime | None = None
    pull_cursor: int = Field(0, ge=0)
    audit_head: str | None = Field(
        None,
        pattern=AUDIT_HEAD_PATTERN,
        description="the audit chain's head: last row id and its MAC tag (none while empty)",
    )


class DeskReportAck(_Strict):
    """The service's answer: when it got the report and how far the desk's clock is off."""

    received_at: dt.datetime
    clock_offset_s: float = Field(description="desk clock minus service clock, seconds")
