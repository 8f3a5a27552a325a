"""The demo's desk in IT's fleet console, in a real browser: ``bts-desk --demo`` as the
end-to-end test builds it (virtual card behind pcscd, scanner emulator, camera stand-in, the
demo's own sync service), the officer logs in, the desk's status report reaches the service,
and headless Chromium shows that desk — its 关区, version, real device lamps and outbox — next
to a desk that has gone silent, marked 未报告 and sorted first. Screenshots are kept."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import chromium, needs_chromium, screenshot, wait_for
from pytestqt.qtbot import QtBot
from selenium.webdriver.common.by import By
from sqlalchemy import select

from bts_desk.config import Settings
from bts_desk.service.console.auth import add_admin
from bts_desk.service.database import ServiceDatabase
from bts_desk.service.fleet_models import DeskState
from bts_desk.service.reports import store_report
from bts_desk.sync.wire.report import DeskReport, OutboxReport
from bts_desk.ui.main_window import MainWindow
from bts_desk.ui.shell import DeskShell
from bts_desk.ui.tour import DEMO_PIN

pytestmark = [
    pytest.mark.pcscd,
    needs_chromium,
    pytest.mark.skipif(os.geteuid() != 0, reason="the demo starts pcscd: needs root here"),
]
PASSWORD = "console password 1"


@pytest.fixture
def desk(qtbot: QtBot, settings: Settings, pcscd: list[str]) -> Iterator[DeskShell]:
    from PySide6.QtWidgets import QApplication

    from bts_desk import demo

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    window = MainWindow()
    window.show()
    shell = DeskShell(app, window, demo.demo_settings(settings), demo=True)
    outcome: list[bool] = []
    shell.ready_callbacks.append(outcome.append)
    shell.start()
    qtbot.waitUntil(lambda: bool(outcome), timeout=120_000)
    assert outcome == [True]
    yield shell
    shell.close()
    window.close()
    window.deleteLater()


def test_demo_desk_in_the_console(desk: DeskShell, qtbot: QtBot, tmp_path: Path) -> None:
    from bts_desk.card.session import SessionState

    parts, bridge = desk.parts, desk.bridge
    assert parts is not None and bridge is not None and desk.sync is not None
    desk_id = parts.settings.desk.id
    service_db = ServiceDatabase(f"sqlite:///{parts.settings.data_dir / 'sync-service.db'}")

    def latest() -> Any:
        with service_db.read() as conn:
            return conn.execute(select(DeskState).where(DeskState.desk_id == desk_id)).first()

    assert latest() is None  # nobody logged in yet: the report waits
    bridge.login(DEMO_PIN, lambda *_: None, lambda *_: None)
    qtbot.waitUntil(lambda: bridge.state is SessionState.LOGGED_IN, timeout=30_000)
    qtbot.waitUntil(lambda: latest() is not None, timeout=30_000)  # sent at the login
    # The lamps settle (scanner handshake, camera open) and the first pull ends; the next
    # report (every few minutes; woken here) tells it.
    sync = desk.sync
    qtbot.waitUntil(lambda: all(src().ok for src in desk.device_sources), timeout=60_000)
    qtbot.waitUntil(lambda: sync.worker.status.last_sync is not None, timeout=120_000)
    before = latest().reports
    sync.reporter.wake()
    qtbot.waitUntil(lambda: latest().reports > before, timeout=30_000)
    state = latest()
    devices = {d["kind"]: d for d in json.loads(state.devices_json)}
    assert set(devices) == {"card_reader", "scanner", "camera"}
    assert all(d["ok"] for d in devices.values()) and state.red_devices == 0
    assert state.district == "8609" and state.pull_cursor > 0 and state.pending == 0

    now = dt.datetime.now(dt.UTC)
    add_admin(service_db, "it-admin", PASSWORD, now)
    gone = now - dt.timedelta(hours=2)
    store_report(
        service_db,
        DeskReport(
            desk_id="DX-PORT-09",
            district="8609",
            app_version="0.0.9",
            os="Windows 10 (AMD64)",
            sent_at=gone,
            outbox=OutboxReport(pending=2, refused=0, waiting_for_officer=2),
        ),
        gone,
    )
    service_db.dispose()
    shots = tmp_path / "shots"
    with chromium(tmp_path / "profile") as driver:
        d: object = driver
        d.get(parts.settings.sync.url + "/console/")  # type: ignore[attr-defined]
        wait_for(d, "#username")
        d.find_element(By.ID, "username").send_keys("it-admin")  # type: ignore[attr-defined]
        d.find_element(By.ID, "password").send_keys(PASSWORD)  # type: ignore[attr-defined]
        d.find_element(By.ID, "login").click()  # type: ignore[attr-defined]
        wait_for(d, "#desks")
        rows = d.find_elements(By.CSS_SELECTOR, "#desks tbody tr")  # type: ignore[attr-defined]
        assert [r.get_attribute("data-desk") for r in rows] == ["DX-PORT-09", desk_id]
        assert "未报告" in rows[0].text and rows[0].get_attribute("class") == "attention"
        mine = rows[1]
        assert "8609" in mine.text and "正常" in mine.text
        lamps = mine.find_elements(By.CSS_SELECTOR, ".lamp")
        assert [lamp.get_attribute("class") for lamp in lamps] == ["lamp ok"] * 3
        screenshot(d, shots, "demo-01-desks")
        mine.find_element(By.LINK_TEXT, desk_id).click()
        wait_for(d, "#devices")
        device_rows = d.find_elements(By.CSS_SELECTOR, "#devices tbody tr")  # type: ignore[attr-defined]
        assert len(device_rows) == 3
        assert any(devices["scanner"]["model"] in r.text for r in device_rows)
        screenshot(d, shots, "demo-02-desk")
