"""What the officer does at the desk, into the audit log (``store.audit``).

``AuditFeed`` is connected where the desk is wired (``ui.shell``): the card session's events
(login, unlock, lock, logout), failed PIN attempts (wrong PIN with the tries left, a blocked
card) from ``CardSessionBridge.attempt_failed``, every 查询 of the query page and every 详情.
Slots run on the GUI thread and hand the write to the thread pool (SQL never on the GUI
thread); a failed write is logged, never shown: the officer's work goes on.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject

from bts_desk.card.profile import PinBlockedError, WrongPinError
from bts_desk.card.session import Reason, SessionEvent, SessionState
from bts_desk.domain import BordererFilter, Officer
from bts_desk.store.audit import AuditAction, record, search_summary
from bts_desk.store.db import Database
from bts_desk.ui.tasks import run_in_background

log = logging.getLogger(__name__)

UNKNOWN = Officer("", "（未识别的卡）", "")
LOCK_REASONS = {
    Reason.CARD_REMOVED: "拔卡锁定",
    Reason.READER_GONE: "读卡器断开，锁定",
    Reason.CARD_RESET: "卡片被其他程序复位，锁定",
    Reason.REVOKED: "证书已吊销，锁定",
}
LOGOUT_REASONS = {
    Reason.LOGOUT: "退出登录",
    Reason.OTHER_CARD: "插入另一关员的卡，会话结束",
    Reason.REVOKED: "证书已吊销，会话结束",
}


class AuditFeed(QObject):
    """Audit writers for the desk's UI events (GUI thread in, pool thread out)."""

    def __init__(self, db: Database, desk_id: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db, self.desk_id = db, desk_id

    def write(
        self, officer: Officer, action: AuditAction, borderer_id: int | None, detail: str
    ) -> None:
        db, desk_id = self.db, self.desk_id

        def task() -> None:
            record(db, officer, action, borderer_id, detail, desk_id=desk_id)

        run_in_background(task, lambda _: None, lambda exc: log.error("audit failed: %s", exc))

    def session_event(self, event: SessionEvent) -> None:
        officer = event.officer or UNKNOWN
        if event.state is SessionState.LOGGED_IN:
            if event.reason is Reason.UNLOCKED:
                self.write(officer, AuditAction.UNLOCK, None, "解锁")
            else:
                self.write(officer, AuditAction.LOGIN, None, "插卡登录")
        elif event.state is SessionState.LOCKED:
            self.write(officer, AuditAction.LOCK, None, LOCK_REASONS.get(event.reason, "锁定"))
        else:
            detail = LOGOUT_REASONS.get(event.reason, "会话结束")
            if event.other_officer is not None:
                detail += f"（{event.other_officer.display}）"
            self.write(officer, AuditAction.LOGOUT, None, detail)

    def attempt_failed(self, exc: object, officer: object) -> None:
        who = officer if isinstance(officer, Officer) else UNKNOWN
        if isinstance(exc, WrongPinError):
            self.write(who, AuditAction.WRONG_PIN, None, f"PIN 错误，还可尝试 {exc.tries_left} 次")
        elif isinstance(exc, PinBlockedError):
            self.write(who, AuditAction.CARD_BLOCKED, None, "卡片 PIN 已锁定")

    def search(self, officer: Officer | None, flt: BordererFilter) -> None:
        if officer is not None:
            self.write(officer, AuditAction.SEARCH, None, search_summary(flt))

    def detail(self, officer: Officer | None, borderer_id: int) -> None:
        if officer is not None:
            self.write(officer, AuditAction.VIEW_DETAIL, borderer_id, "查看详情")
