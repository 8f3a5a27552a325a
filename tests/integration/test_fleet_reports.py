"""Desk status reports, desk → service over real HTTP on 127.0.0.1: what a desk reports,
that it waits for a login, that the service keeps history and latest state, refusals, and the
audit chain's head anchored on the service (an older store put back, a rewritten chain)."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select
from sync_support import OFFICER_A, OFFICER_B, Desk, Pki, make_desk

from bts_desk.devices.status import DeviceKind, DeviceStatus
from bts_desk.domain import RecordState
from bts_desk.service.borderers import update_record
from bts_desk.service.cli import main as cli_main
from bts_desk.service.fleet_models import DeskReportRow, DeskState
from bts_desk.service.local import LocalService
from bts_desk.service.reports import DeskView, get_desk
from bts_desk.store import audit, sync_state
from bts_desk.store.enrollments import save_enrollment
from bts_desk.sync.reporter import StatusReporter
from bts_desk.sync.samples import sample_draft
from bts_desk.sync.wire.report import PATH_DESK_REPORT

READER = DeviceStatus(DeviceKind.CARD_READER, True, "已连接，卡已插入", "readers: vpcd 0", "piv")
SCANNER_RED = DeviceStatus(
    DeviceKind.SCANNER,
    False,
    "未连接：串口无应答",
    "R307 on /dev/ttyUSB0: no answer to handshake",
    driver="r30x",
    port="/dev/ttyUSB0",
    model="R307",
)
CAMERA = DeviceStatus(DeviceKind.CAMERA, True, "已连接", "opencv 0", "opencv", "0")


@pytest.fixture
def desk(tmp_path: Path, service: LocalService) -> Iterator[Desk]:
    made = make_desk(tmp_path / "desk", service.url)
    yield made
    made.close()


def reporter_of(desk: Desk, interval_s: float = 300.0) -> StatusReporter:
    reporter = StatusReporter(
        desk.db,
        desk.client,
        desk.tokens,
        desk_id="desk-test",
        district="5301",
        interval_s=interval_s,
    )
    reporter.watch_devices(lambda: READER, lambda: SCANNER_RED, lambda: CAMERA)
    return reporter


def latest(service: LocalService) -> Any:
    """The desk's ``desk_state`` row (columns as attributes), None before any report."""
    with service.app.state.db.read() as conn:
        return conn.execute(select(DeskState).where(DeskState.desk_id == "desk-test")).first()


def history(service: LocalService) -> list[Any]:
    with service.app.state.db.read() as conn:
        return list(conn.execute(select(DeskReportRow).order_by(DeskReportRow.id)).all())


def test_report_waits_for_login_then_tells_the_desks_state(
    desk: Desk, service: LocalService, pki: Pki
) -> None:
    desk.tokens.set_signer(pki.signer(OFFICER_A))
    assert desk.worker.run_once().ok  # the records arrive: a pull with a cursor
    update_record(service.app.state.db, 5, state=str(RecordState.SUSPENDED))
    refused = sample_draft(5, OFFICER_A)
    save_enrollment(desk.db, refused, desk.key)
    assert desk.worker.run_once().refused == 1  # 5 is not 正常 on the service any more
    for record_id in (1, 2):  # officer B's, B not logged in: they wait for B
        save_enrollment(desk.db, sample_draft(record_id, OFFICER_B), desk.key)
    desk.tokens.set_signer(None)

    reporter = reporter_of(desk)
    assert reporter.send_once() is False  # nobody logged in: the report waits
    assert latest(service) is None

    desk.tokens.set_signer(pki.signer(OFFICER_A))
    assert reporter.send_once() is True
    state = latest(service)
    assert state is not None
    assert (state.district, state.pending, state.refused, state.waiting) == ("5301", 2, 1, 2)
    assert state.red_devices == 1 and state.pull_cursor > 0 and state.last_pull_at is not None
    assert state.oldest_pending_s is not None and 0 <= state.oldest_pending_s < 600
    assert abs(state.clock_offset_s) < 5  # same machine, same clock
    assert state.app_version and state.os
    devices = {d["kind"]: d for d in json.loads(state.devices_json)}
    assert devices["scanner"] == {
        "kind": "scanner",
        "ok": False,
        "summary": "未连接：串口无应答",
        "driver": "r30x",
        "port": "/dev/ttyUSB0",
        "model": "R307",
        "last_error": "R307 on /dev/ttyUSB0: no answer to handshake",
    }
    assert devices["card_reader"]["ok"] and devices["card_reader"]["last_error"] == ""
    reasons = json.loads(state.refusals_json)
    assert len(reasons) == 1 and reasons[0]["count"] == 1 and "正常" in reasons[0]["reason"]
    # Nothing personal travelled: no officer, no record name, no ID number.
    stored = json.dumps([state.devices_json, state.refusals_json, state.os], ensure_ascii=False)
    for secret in (OFFICER_A.officer_id, OFFICER_B.officer_id, OFFICER_A.name, "边民", "5326"):
        assert secret not in stored
    assert reporter.last_ack is not None and abs(reporter.last_ack.clock_offset_s) < 5

    assert reporter.send_once() is True  # a second report: history grows, the state updates
    assert [r.desk_id for r in history(service)] == ["desk-test", "desk-test"]
    again = latest(service)
    assert again is not None and again.reports == 2 and again.last_seen >= state.last_seen


def test_reporter_thread_reports_at_start_and_after_a_login(
    desk: Desk, service: LocalService, pki: Pki
) -> None:
    reporter = reporter_of(desk, interval_s=600)
    reporter.start()
    try:
        time.sleep(0.5)
        assert reporter.sent == 0 and latest(service) is None  # waiting for a login
        desk.tokens.set_signer(pki.signer(OFFICER_A))
        reporter.wake()  # what DeskSync does when the card session logs in
        deadline = time.monotonic() + 10
        while reporter.sent == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reporter.sent == 1 and latest(service) is not None
    finally:
        reporter.stop()


def test_service_refuses_reports_without_token_for_another_desk_or_malformed(
    desk: Desk, service: LocalService, pki: Pki
) -> None:
    desk.tokens.set_signer(pki.signer(OFFICER_A))
    auth = desk.tokens.any_auth()
    assert auth is not None
    body = reporter_of(desk).build().model_dump(mode="json")
    url = service.url + PATH_DESK_REPORT
    assert requests.post(url, json=body, timeout=10).status_code == 401
    headers = {"Authorization": f"Bearer {auth.token()}"}
    other = {**body, "desk_id": "desk-other"}
    answer = requests.post(url, json=other, headers=headers, timeout=10)
    assert answer.status_code == 403 and answer.json()["detail"]["code"] == "desk_mismatch"
    for bad in (
        {**body, "outbox": {**body["outbox"], "pending": -1}},
        {**body, "sent_at": "2026-12-01T10:00:00"},  # no UTC offset
        {**body, "officer_id": "GZ1001"},  # extra fields are refused, not stored
    ):
        answer = requests.post(url, json=bad, headers=headers, timeout=10)
        assert answer.status_code == 422, answer.text
    assert latest(service) is None
    ok = requests.post(url, json=body, headers=headers, timeout=10)
    assert ok.status_code == 200
    received = dt.datetime.fromisoformat(ok.json()["received_at"])
    assert abs((received - dt.datetime.now(dt.UTC)).total_seconds()) < 10


def post_as_desk(desk: Desk, service: LocalService, body: dict[str, Any]) -> requests.Response:
    """A report body sent as it is, with the logged-in officer's token."""
    auth = desk.tokens.any_auth()
    assert auth is not None
    return requests.post(
        service.url + PATH_DESK_REPORT,
        json=body,
        headers={"Authorization": f"Bearer {auth.token()}"},
        timeout=10,
    )


def anchor_view(service: LocalService) -> DeskView:
    view = get_desk(service.app.state.db, "desk-test", dt.datetime.now(dt.UTC), 600.0)
    assert view is not None
    return view


def test_a_restored_older_store_marks_the_desk_until_it_is_looked_into(
    tmp_path: Path, service: LocalService, pki: Pki
) -> None:
    """The desk's audit head is anchored on the service: an older copy of the store put back
    (the chain's head goes back) marks the desk, the mark survives the desk's later reports
    and goes only with ``bts-sync-server audit-clear``."""
    directory = tmp_path / "desk"
    desk = make_desk(directory, service.url)
    desk.tokens.set_signer(pki.signer(OFFICER_A))
    assert desk.worker.run_once().ok  # a pull: audit rows
    reporter = reporter_of(desk)
    assert reporter.send_once()
    first = anchor_view(service).audit
    head = sync_state.get_value(desk.db, audit.HEAD, "")
    assert first is not None and first.problem == "" and head.startswith(f"{first.head_id}:")
    desk.db.checkpoint()
    desk.close()
    copies = {p.name: p.read_bytes() for p in directory.iterdir() if p.name.startswith("desk.")}

    desk = make_desk(directory, service.url)
    desk.tokens.set_signer(pki.signer(OFFICER_A))
    for _ in range(3):
        audit.record(desk.db, OFFICER_A, audit.AuditAction.SEARCH, None, "查询：全部")
    assert reporter_of(desk).send_once()
    grown = anchor_view(service).audit
    assert grown is not None and grown.head_id == first.head_id + 3 and grown.problem == ""
    desk.close()

    for name in [p.name for p in directory.iterdir() if p.name.startswith("desk.db")]:
        (directory / name).unlink()
    for name, data in copies.items():  # the older copy put back
        (directory / name).write_bytes(data)
    desk = make_desk(directory, service.url)
    try:
        desk.tokens.set_signer(pki.signer(OFFICER_A))
        reporter = reporter_of(desk)
        assert reporter.send_once()
        marked = anchor_view(service)
        assert marked.attention and "审计日志回退" in marked.audit_problem
        assert f"此前报告至第 {grown.head_id} 条" in marked.audit_problem
        audit.record(desk.db, OFFICER_A, audit.AuditAction.SEARCH, None, "查询：全部")
        assert reporter.send_once()  # still behind the anchor: still marked
        assert "审计日志回退" in anchor_view(service).audit_problem

        db_url = service.app.state.db.url
        assert cli_main(["audit-clear", "--db", db_url, "desk-test", "--by", "it-zhang"]) == 0
        cleared = anchor_view(service)
        assert cleared.audit_problem == ""
        assert cleared.audit is not None and cleared.audit.head_id < 0  # until the next report
        assert reporter.send_once()  # anchored again from the desk's head of now
        again = anchor_view(service).audit
        assert again is not None and again.problem == "" and again.head_id > 0
    finally:
        desk.close()


def test_a_rewritten_audit_chain_marks_the_desk(
    desk: Desk, service: LocalService, pki: Pki
) -> None:
    """The same head id with another MAC: the chain up to it was rewritten."""
    desk.tokens.set_signer(pki.signer(OFFICER_A))
    assert desk.worker.run_once().ok
    reporter = reporter_of(desk)
    assert reporter.send_once()
    anchored = anchor_view(service).audit
    assert anchored is not None and anchored.problem == "" and anchored.head_id > 0
    forged = reporter.build().model_dump(mode="json")
    forged["audit_head"] = f"{anchored.head_id}:{'0' * 64}"
    assert post_as_desk(desk, service, forged).status_code == 200
    assert "审计日志被改写" in anchor_view(service).audit_problem
    assert reporter.send_once()  # the real head again: the mark stays
    assert "审计日志被改写" in anchor_view(service).audit_problem


@pytest.mark.parametrize("head", ["0:" + "a" * 64, "12:" + "A" * 64, "12:abc", "12", ""])
def test_a_malformed_audit_head_is_refused(
    desk: Desk, service: LocalService, pki: Pki, head: str
) -> None:
    desk.tokens.set_signer(pki.signer(OFFICER_A))
    body = {**reporter_of(desk).build().model_dump(mode="json"), "audit_head": head}
    answer = post_as_desk(desk, service, body)
    assert answer.status_code == 422, answer.text
    assert latest(service) is None
