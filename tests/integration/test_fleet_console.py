"""IT's fleet console and /metrics over real HTTP (requests): administrators, login, CSRF,
cookies, the pages' content, and who may scrape. The browser test is test_fleet_browser.py."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sync_support import OFFICER_A, Desk, Pki, start_service

from bts_desk.service import cli
from bts_desk.service.console.auth import AdminError, add_admin, check_password
from bts_desk.service.local import LocalService
from bts_desk.service.reports import store_report
from bts_desk.store.enrollments import save_enrollment
from bts_desk.sync.reporter import StatusReporter
from bts_desk.sync.samples import sample_draft
from bts_desk.sync.wire.report import DeskReport, OutboxReport

PASSWORD = "correct horse battery"


@pytest.fixture
def service(tmp_path: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalService]:
    monkeypatch.delenv("BTS_SYNC_METRICS_ALLOW", raising=False)
    with start_service(tmp_path, pki) as running:
        yield running
        assert running.internal_errors == 0


def add_admin_cli(service: LocalService, monkeypatch: pytest.MonkeyPatch) -> None:
    """``bts-sync-server admin add`` as IT runs it (password on stdin)."""
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    url = str(service.app.state.db.engine.url)
    assert cli.main(["admin", "add", "it-admin", "--db", url, "--password-stdin"]) == 0


def login_csrf(http: requests.Session, url: str) -> str:
    page = http.get(url + "/console/login", timeout=10)
    assert page.status_code == 200 and "管理员登录" in page.text
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


def login(service: LocalService) -> requests.Session:
    http = requests.Session()
    token = login_csrf(http, service.url)
    answer = http.post(
        service.url + "/console/login",
        data={"username": "it-admin", "password": PASSWORD, "csrf": token},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/"
    cookie = answer.headers["set-cookie"]
    assert "bts_console=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain HTTP here; over TLS the flag is set
    return http


def report_now(desk: Desk) -> None:
    reporter = StatusReporter(
        desk.db, desk.client, desk.tokens, desk_id="desk-test", district="5301"
    )
    assert reporter.send_once()


def old_report(service: LocalService, desk_id: str, hours: float) -> None:
    """A desk that last reported ``hours`` ago (stored through the service's own function)."""
    when = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)
    report = DeskReport(
        desk_id=desk_id,
        district="5302",
        app_version="0.0.9",
        os="Windows 10",
        sent_at=when,
        outbox=OutboxReport(pending=3, refused=0, waiting_for_officer=0),
    )
    store_report(service.app.state.db, report, when)


def test_admin_accounts_hash_passwords_and_refuse_weak_or_taken(
    service: LocalService, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_admin_cli(service, monkeypatch)
    db = service.app.state.db
    with db.read() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM console_admin").scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert check_password(db, "it-admin", PASSWORD)
    assert not check_password(db, "it-admin", PASSWORD + "x")
    assert not check_password(db, "nobody", PASSWORD)
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(AdminError):
        add_admin(db, "it-admin", "another long password", now)
    with pytest.raises(AdminError):
        add_admin(db, "it-two", "short", now)


def test_login_refuses_wrong_password_and_missing_or_foreign_csrf(
    service: LocalService, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_admin_cli(service, monkeypatch)
    http = requests.Session()
    anonymous = http.get(service.url + "/console/", allow_redirects=False, timeout=10)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/console/login"
    token = login_csrf(http, service.url)
    url = service.url + "/console/login"
    wrong = http.post(url, data={"username": "it-admin", "password": "nope", "csrf": token})
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    assert "bts_console=" not in wrong.headers.get("set-cookie", "").replace("bts_console_", "")
    missing = http.post(url, data={"username": "it-admin", "password": PASSWORD})
    assert missing.status_code == 403 and "CSRF" in missing.text
    other = requests.Session()  # a token from someone else's form (no matching cookie)
    foreign = other.post(url, data={"username": "it-admin", "password": PASSWORD, "csrf": token})
    assert foreign.status_code == 403
    assert http.get(service.url + "/console/", allow_redirects=False).status_code == 303


def test_pages_show_desks_marked_and_sorted_history_and_chart(
    service: LocalService, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_admin_cli(service, monkeypatch)
    assert desk.worker.run_once().ok
    for record_id in (1, 2, 3):
        save_enrollment(desk.db, sample_draft(record_id, OFFICER_A), desk.key)
    assert desk.worker.run_once().uploaded == 3
    old_report(service, "desk-silent", hours=3)
    report_now(desk)
    old_report(service, "desk-quiet", hours=0.1)  # recent and healthy: not marked
    http = login(service)

    overview = http.get(service.url + "/console/", timeout=10)
    assert overview.status_code == 200 and "设备总览" in overview.text
    rows = re.findall(r'<tr class="(attention|)" data-desk="([^"]+)"', overview.text)
    assert rows[0] == ("attention", "desk-silent")  # stale: sorted to the top, marked
    assert ("", "desk-quiet") in rows and ("", "desk-test") in rows
    assert "未报告" in overview.text
    by_name = http.get(service.url + "/console/?sort=desk", timeout=10).text
    names = re.findall(r'data-desk="([^"]+)"', by_name)
    assert names == sorted(names)

    page = http.get(service.url + "/console/desks/desk-test", timeout=10)
    assert page.status_code == 200 and "报告历史" in page.text and "5301" in page.text
    assert http.get(service.url + "/console/desks/nope", timeout=10).status_code == 404

    stats = http.get(service.url + "/console/enrollments", timeout=10)
    assert stats.status_code == 200 and '<svg xmlns="http://www.w3.org/2000/svg"' in stats.text
    assert len(re.findall(r'<rect class="bar"', stats.text)) == 1  # one day, one district
    assert re.search(r'id="total">3<', stats.text)


def test_logout_needs_the_sessions_csrf_and_revokes(
    service: LocalService, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_admin_cli(service, monkeypatch)
    http = login(service)
    page = http.get(service.url + "/console/", timeout=10).text
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match is not None
    cookie = http.cookies["bts_console"]
    no_token = http.post(service.url + "/console/logout", data={}, allow_redirects=False)
    assert no_token.status_code == 403
    out = http.post(
        service.url + "/console/logout", data={"csrf": match.group(1)}, allow_redirects=False
    )
    assert out.status_code == 303
    replay = requests.get(
        service.url + "/console/", cookies={"bts_console": cookie}, allow_redirects=False
    )
    assert replay.status_code == 303  # the old cookie is revoked in the database


def test_metrics_scrape_for_admins_and_allowed_ranges(
    service: LocalService, desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_admin_cli(service, monkeypatch)
    assert desk.worker.run_once().ok
    save_enrollment(desk.db, sample_draft(4, OFFICER_A), desk.key)
    assert desk.worker.run_once().uploaded == 1
    report_now(desk)
    assert requests.get(service.url + "/metrics", timeout=10).status_code == 403
    http = login(service)
    scrape = http.get(service.url + "/metrics", timeout=10)
    assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain")
    text = scrape.text
    assert re.search(r'bts_sync_uploads_total\{code="",outcome="stored"\} [1-9]', text)
    assert re.search(
        r'bts_sync_requests_total\{method="GET",route="/api/v1/borderers",status="200"\} [1-9]',
        text,
    )
    assert 'bts_sync_request_duration_seconds_bucket{le="0.3",method="POST"' in text
    assert re.search(r"^bts_sync_desks_seen_last_hour [1-9]", text, re.M)
    assert re.search(r"^bts_sync_console_sessions_active 1\.0$", text, re.M)
    assert re.search(r"^bts_sync_officer_sessions_active [1-9]", text, re.M)
    assert re.search(r"^bts_sync_pulls_total [1-9]", text, re.M)


def test_metrics_open_to_a_configured_address_range(
    tmp_path: Path, pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BTS_SYNC_METRICS_ALLOW", "10.0.0.0/8, 127.0.0.0/8")
    with start_service(tmp_path, pki, records=0) as running:
        scrape = requests.get(running.url + "/metrics", timeout=10)
        assert scrape.status_code == 200 and "bts_sync_desks_known 0.0" in scrape.text
    monkeypatch.setenv("BTS_SYNC_METRICS_ALLOW", "10.0.0.0/8")
    with start_service(tmp_path / "b", pki, records=0) as running:
        assert requests.get(running.url + "/metrics", timeout=10).status_code == 403
