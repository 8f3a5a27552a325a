"""Sync status bar widget, 上传队列 and 操作日志 tabs, against a real service on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from desk_support import zh
from PySide6.QtCore import QDate, Qt
from pytestqt.qtbot import QtBot
from sync_support import OFFICER_A, OFFICER_B, Desk, Pki, make_desk, make_pki, start_service

from bts_desk.domain import OutboxState, RecordState
from bts_desk.service.borderers import update_record
from bts_desk.service.local import LocalService
from bts_desk.store.audit import AuditAction, record
from bts_desk.store.enrollments import outbox_counts, save_enrollment
from bts_desk.sync.outbox import SyncStatus
from bts_desk.sync.samples import sample_draft
from bts_desk.ui import audit_page, outbox_page
from bts_desk.ui.audit_page import AuditPage
from bts_desk.ui.outbox_page import OutboxPage
from bts_desk.ui.sync_status import SyncStatusWidget

__all__ = ["zh"]

SHOTS = Path("/tmp")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[LocalService, Pki]]:
    pki = make_pki()
    with start_service(tmp_path, pki) as running:
        yield running, pki


@pytest.fixture
def desk(tmp_path: Path, service: tuple[LocalService, Pki]) -> Iterator[Desk]:
    running, pki = service
    made = make_desk(tmp_path / "desk", running.url)
    made.tokens.set_signer(pki.signer(OFFICER_A))
    made.worker.run_once()  # records on the desk
    yield made
    made.close()


def test_status_widget_shows_online_pending_and_drains(
    qtbot: QtBot, zh: None, desk: Desk, service: tuple[LocalService, Pki]
) -> None:
    for n in (1, 2, 3):
        save_enrollment(desk.db, sample_draft(n, OFFICER_A), desk.key)
    widget = SyncStatusWidget(desk.worker)
    qtbot.addWidget(widget)
    desk.worker.refresh_counts()
    qtbot.waitUntil(lambda: "待上传 3" in widget.pending_label.text(), timeout=5000)
    assert "在线" in widget.online_label.text()  # the fixture's first pass found the service
    widget.show()
    widget.grab().save(str(SHOTS / "e2_sync_status_pending.png"))
    desk.worker.start()
    qtbot.mouseClick(widget.sync_button, Qt.MouseButton.LeftButton)  # 立即同步
    qtbot.waitUntil(
        lambda: "待上传 0" in widget.pending_label.text() and not widget.status.busy,
        timeout=15_000,
    )
    assert "在线" in widget.online_label.text()
    assert "上次同步" in widget.last_label.text() and "无" not in widget.last_label.text()
    assert widget.sync_button.isEnabled() and widget.sync_button.text() == "立即同步"
    widget.grab().save(str(SHOTS / "e2_sync_status_done.png"))

    shown: list[tuple[str, str]] = []  # (online label, tooltip) of every status shown
    widget.status_changed.connect(
        lambda _s: shown.append((widget.online_label.text(), widget.toolTip()))
    )
    running, _pki = service
    running.stop()  # the service goes away: the widget says 离线, with the reason
    desk.worker.sync_now()
    qtbot.waitUntil(lambda: "离线" in widget.online_label.text(), timeout=15_000)
    assert widget.toolTip() == "无法连接同步服务器"
    assert all(tip for label, tip in shown if "离线" in label), shown


def test_service_lost_mid_pass_shows_offline_with_its_reason(
    qtbot: QtBot, zh: None, desk: Desk, service: tuple[LocalService, Pki]
) -> None:
    """The service answers /health, then goes away while the pass runs (the upload or the pull
    fails as offline). Every status the widget shows with 离线 carries the reason in its
    tooltip: the worker used to post 离线 first and its reason one update later."""
    running, _pki = service
    save_enrollment(desk.db, sample_draft(1, OFFICER_A), desk.key)
    widget = SyncStatusWidget(desk.worker)
    qtbot.addWidget(widget)
    shown: list[tuple[str, str]] = []
    widget.status_changed.connect(
        lambda _s: shown.append((widget.online_label.text(), widget.toolTip()))
    )

    stopped: list[bool] = []

    def stop_after_health(status: SyncStatus) -> None:  # worker thread, inside the pass
        if status.phase == "upload" and not stopped:  # /health answered: the pass is on
            stopped.append(True)
            running.stop()

    desk.worker.add_listener(stop_after_health)
    desk.worker.start()
    desk.worker.sync_now()
    qtbot.waitUntil(lambda: "离线" in widget.online_label.text(), timeout=15_000)
    qtbot.waitUntil(lambda: not widget.status.busy, timeout=15_000)
    assert widget.toolTip() == "无法连接同步服务器"
    offline = [(label, tip) for label, tip in shown if "离线" in label]
    assert offline and all(tip for _label, tip in offline), shown


def test_status_widget_shows_the_newest_of_a_burst_without_repainting_each(
    qtbot: QtBot, zh: None
) -> None:
    """A drain reports every upload from the worker thread; the widget shows the newest
    status, not each one (each QProgressBar.setValue repaints the window synchronously)."""
    widget = SyncStatusWidget(None)
    qtbot.addWidget(widget)
    widget.show()
    shown: list[SyncStatus] = []
    widget.status_changed.connect(shown.append)
    burst = [
        SyncStatus(online=True, pending=left, busy=left > 0, phase="upload", done=200 - left,
                   total=200)
        for left in range(200, -1, -1)
    ]  # fmt: skip

    def report() -> None:
        for status in burst:
            widget._listener(status)  # the worker's listener, called on the worker thread

    worker = threading.Thread(target=report)
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: bool(shown) and shown[-1] == burst[-1], timeout=5000)
    assert "待上传 0" in widget.pending_label.text() and not widget.progress.isVisible()
    assert 1 <= len(shown) < 20, len(shown)


def test_status_widget_without_a_service(qtbot: QtBot, zh: None) -> None:
    widget = SyncStatusWidget(None)
    qtbot.addWidget(widget)
    assert "未配置同步服务器" in widget.online_label.text()
    assert not widget.sync_button.isEnabled()


def test_outbox_tab_lists_refusals_with_reasons_and_retries(
    qtbot: QtBot, zh: None, desk: Desk, service: tuple[LocalService, Pki]
) -> None:
    running, _pki = service
    update_record(running.app.state.db, 4, state=str(RecordState.CANCELLED))
    refused = sample_draft(4, OFFICER_A, with_face=False)
    save_enrollment(desk.db, refused, desk.key)
    save_enrollment(desk.db, sample_draft(5, OFFICER_B), desk.key)  # B is not logged in
    desk.worker.run_once()
    officer = [OFFICER_A]
    page = OutboxPage(desk.db, desk.worker, lambda: officer[0] if officer else None, "desk-test")
    qtbot.addWidget(page)
    page.resize(1100, 320)
    qtbot.waitUntil(lambda: len(page.entries) == 2, timeout=5000)
    assert outbox_page.page_title() == "上传队列"
    assert page.table.horizontalHeaderItem(6).text() == "原因"
    first, second = page.entries
    assert first.state is OutboxState.REFUSED and first.uuid == refused.uuid
    assert page.table.item(0, 0).text() == "被拒绝"
    assert page.table.item(0, 6).text() == first.last_error and first.last_error
    assert page.table.item(1, 6).text() == "等待关员 王芳（GZ2002）登录后上传"
    assert "被拒绝 1 条" in page.summary.text()
    page.show()
    page.grab().save(str(SHOTS / "e2_outbox_page.png"))

    page.table.selectRow(1)  # a waiting entry: nothing to retry
    assert not page.retry_button.isEnabled()
    page.table.selectRow(0)
    assert page.retry_button.isEnabled()
    officer.clear()  # nobody logged in: 重试 is not possible
    page.table.selectRow(1)
    page.table.selectRow(0)
    assert not page.retry_button.isEnabled()
    officer.append(OFFICER_A)
    page.table.selectRow(1)
    page.table.selectRow(0)

    # The central system makes the record 正常 again; 重试 sends it and the row goes away.
    update_record(running.app.state.db, 4, state=str(RecordState.NORMAL))
    desk.worker.start()
    qtbot.keyClick(page, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: outbox_counts(desk.db).refused == 0, timeout=10_000)
    qtbot.waitUntil(lambda: [e.uuid for e in page.entries] == [second.uuid], timeout=10_000)
    assert outbox_counts(desk.db).acknowledged == 1


def test_audit_tab_shows_who_when_which_what(qtbot: QtBot, zh: None, desk: Desk) -> None:
    save_enrollment(desk.db, sample_draft(6, OFFICER_A), desk.key)
    record(desk.db, OFFICER_B, AuditAction.VIEW_DETAIL, 7, "查看详情", desk_id="desk-test")
    page = AuditPage(desk.db)
    qtbot.addWidget(page)
    page.resize(1100, 300)
    qtbot.waitUntil(lambda: len(page.entries) == 3, timeout=5000)  # and the fixture's pull
    assert audit_page.page_title() == "操作日志"
    assert page.entries[2].action == AuditAction.PULL and "同步拉取" in page.entries[2].detail
    assert page.table.item(2, 1).text() == "李明（GZ1001）"  # who pulled, by name too
    rows = [[page.table.item(r, c).text() for c in range(6)] for r in range(2)]
    assert rows[0][1:5] == ["王芳（GZ2002）", "查看详情", "7", "边民0007"]
    assert rows[1][1:5] == ["李明（GZ1001）", "生物特征补录", "6", "边民0006"]
    assert "指纹2枚" in rows[1][5]
    page.show()
    page.grab().save(str(SHOTS / "e2_audit_page.png"))

    codes = {page.action.itemData(i) for i in range(1, page.action.count())}
    assert codes == {str(code) for code in AuditAction}  # every kind can be filtered by
    assert page.action.itemText(page.action.findData(str(AuditAction.LOCK))) == "锁定"
    page.action.setCurrentIndex(page.action.findData(str(AuditAction.PULL)))
    page.search()
    qtbot.waitUntil(lambda: [e.action for e in page.entries] == [AuditAction.PULL], timeout=5000)
    page.action.setCurrentIndex(page.action.findData(str(AuditAction.ENROLL)))
    qtbot.mouseClick(page.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(page.entries) == 1, timeout=5000)
    page.date_from.setDate(QDate.currentDate().addDays(1))
    page.search()
    assert page.message.text == "起始日期不能晚于结束日期"
