"""The fleet console in a real browser (headless Chromium through Selenium, see
``browser_support``): log in, the desks table with a stale desk marked and first, a desk's
page, the 补录统计 chart; a wrong password and a form without its CSRF token are refused.
The screenshots are kept in the test's directory (and in $BTS_CONSOLE_SHOTS when set)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import chromium, needs_chromium, screenshot, wait_for
from selenium.webdriver.common.by import By
from sync_support import OFFICER_A, Desk, Pki, start_service

from bts_desk.service.console.auth import add_admin
from bts_desk.service.local import LocalService
from bts_desk.service.reports import store_report
from bts_desk.store.enrollments import save_enrollment
from bts_desk.sync.reporter import StatusReporter
from bts_desk.sync.samples import sample_draft
from bts_desk.sync.wire.report import DeskReport, DeviceReport, OutboxReport

pytestmark = needs_chromium
PASSWORD = "console password 1"


@pytest.fixture
def service(tmp_path: Path, pki: Pki) -> Iterator[LocalService]:
    with start_service(tmp_path, pki) as running:
        add_admin(running.app.state.db, "it-admin", PASSWORD, dt.datetime.now(dt.UTC))
        yield running
        assert running.internal_errors == 0


def silent_desk(service: LocalService) -> None:
    """desk-silent last reported four hours ago, with its camera red and its audit log gone
    back (an older copy of its store put back) between its last two reports."""
    when = dt.datetime.now(dt.UTC) - dt.timedelta(hours=4)
    for head in ("9:" + "1" * 64, "5:" + "2" * 64):
        store_report(service.app.state.db, _silent_report(when, head), when)


def _silent_report(when: dt.datetime, audit_head: str) -> DeskReport:
    return DeskReport(
        desk_id="desk-silent",
        district="5302",
        app_version="0.0.9",
        os="Windows 10 (AMD64)",
        sent_at=when,
        outbox=OutboxReport(
            pending=7, refused=0, waiting_for_officer=7, oldest_pending_age_s=90000
        ),
        devices=[DeviceReport(kind="camera", ok=False, summary="未连接", last_error="no device 0")],
        audit_head=audit_head,
    )


def log_in(driver: object, url: str, password: str) -> None:
    driver.get(url + "/console/")  # type: ignore[attr-defined]
    driver.find_element(By.ID, "username").send_keys("it-admin")  # type: ignore[attr-defined]
    driver.find_element(By.ID, "password").send_keys(password)  # type: ignore[attr-defined]
    driver.find_element(By.ID, "login").click()  # type: ignore[attr-defined]


def test_console_in_chromium(service: LocalService, desk: Desk, tmp_path: Path) -> None:
    assert desk.worker.run_once().ok
    for record_id in (1, 2, 3, 4):
        save_enrollment(desk.db, sample_draft(record_id, OFFICER_A), desk.key)
    assert desk.worker.run_once().uploaded == 4
    silent_desk(service)
    reporter = StatusReporter(
        desk.db, desk.client, desk.tokens, desk_id="desk-test", district="5301"
    )
    assert reporter.send_once()
    shots = tmp_path / "shots"

    with chromium(tmp_path / "profile") as driver:
        d: object = driver
        log_in(d, service.url, "wrong password")
        error = wait_for(d, "#login-error")
        assert error.text == "用户名或密码错误"
        screenshot(d, shots, "01-wrong-password")

        d.get(service.url + "/console/login")  # type: ignore[attr-defined]
        wait_for(d, "input[name=csrf]")
        d.execute_script("document.querySelector('input[name=csrf]').remove()")  # type: ignore[attr-defined]
        d.find_element(By.ID, "username").send_keys("it-admin")  # type: ignore[attr-defined]
        d.find_element(By.ID, "password").send_keys(PASSWORD)  # type: ignore[attr-defined]
        d.find_element(By.ID, "login").click()  # type: ignore[attr-defined]
        assert "CSRF" in wait_for(d, "#refusal").text  # type: ignore[attr-defined]
        screenshot(d, shots, "02-missing-csrf")

        log_in(d, service.url, PASSWORD)
        wait_for(d, "#desks")
        rows = d.find_elements(By.CSS_SELECTOR, "#desks tbody tr")  # type: ignore[attr-defined]
        assert [r.get_attribute("data-desk") for r in rows] == ["desk-silent", "desk-test"]
        assert rows[0].get_attribute("class") == "attention"
        assert (
            "未报告" in rows[0].text and "设备异常" in rows[0].text and "审计异常" in rows[0].text
        )
        assert rows[1].get_attribute("class") == "" and "正常" in rows[1].text
        screenshot(d, shots, "03-desks")

        rows[1].find_element(By.LINK_TEXT, "desk-test").click()
        title = wait_for(d, "#desk-title")
        assert title.text.startswith("设备 desk-test")
        history = d.find_elements(By.CSS_SELECTOR, "#history tbody tr")  # type: ignore[attr-defined]
        assert len(history) == 1
        assert d.find_element(By.ID, "audit").text.startswith("正常，已锚定至第")  # type: ignore[attr-defined]
        screenshot(d, shots, "04-desk")

        d.get(service.url + "/console/desks/desk-silent")  # type: ignore[attr-defined]
        assert "审计日志回退：此前报告至第 9 条，本次仅至第 5 条" in wait_for(d, "#audit").text
        screenshot(d, shots, "06-desk-audit")

        d.find_element(By.LINK_TEXT, "补录统计").click()  # type: ignore[attr-defined]
        wait_for(d, "#chart svg")
        bars = d.find_elements(By.CSS_SELECTOR, "#chart svg rect.bar")  # type: ignore[attr-defined]
        assert len(bars) == 1 and float(bars[0].get_attribute("height")) > 100
        assert d.find_element(By.ID, "total").text == "4"  # type: ignore[attr-defined]
        screenshot(d, shots, "05-enrollments")

        d.find_element(By.CSS_SELECTOR, "header form button").click()  # type: ignore[attr-defined]
        assert wait_for(d, "#login")
    assert {p.name for p in shots.iterdir()} >= {"03-desks.png", "05-enrollments.png"}
