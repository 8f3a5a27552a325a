"""The whole desk, end to end, in pytest-qt, through the real stacks and their emulators:

the virtual PIV card behind the real pcscd + vpcd, the R30x scanner emulator on a pty, OpenCV on
the camera stand-in video, the local sync service on 127.0.0.1, and the desk's own store. The
demo's walk-through (``bts-desk --demo --tour``) is the script: login with the card, query,
详情, 补录 (two fingers, face, 保存), the record's 生物标识, the upload, card pulled and back.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from bts_desk.config import Settings
from bts_desk.domain import OutboxState
from bts_desk.store.audit import AuditAction, query_audit
from bts_desk.store.models import EnrollmentRow, OutboxRow
from bts_desk.ui.enroll_dialog import EnrollDialog
from bts_desk.ui.main_window import MainWindow
from bts_desk.ui.shell import DeskShell
from bts_desk.ui.tour import (
    DEMO_PIN,
    Tour,
    _EnrollmentStory,
    add_demo_steps,
)

pytestmark = [
    pytest.mark.pcscd,
    pytest.mark.skipif(os.geteuid() != 0, reason="the demo starts pcscd: needs root here"),
]


@pytest.fixture
def desk(qtbot: QtBot, settings: Settings, pcscd: list[str]) -> Iterator[DeskShell]:
    """The demo desk as ``bts-desk --demo`` builds it, with everything started."""
    from PySide6.QtWidgets import QApplication

    from bts_desk import demo

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    window = MainWindow()
    window.resize(1360, 820)
    window.show()
    shell = DeskShell(app, window, demo.demo_settings(settings), demo=True)
    outcome: list[bool] = []
    shell.ready_callbacks.append(outcome.append)
    shell.start()
    qtbot.waitUntil(lambda: bool(outcome), timeout=120_000)
    assert outcome == [True]
    yield shell
    for dialog in window.findChildren(EnrollDialog):
        dialog.reject()
    shell.close()
    window.close()
    window.deleteLater()


def test_the_manual_story_end_to_end(desk: DeskShell, tmp_path: Path) -> None:
    tour = Tour(desk.window, tmp_path / "shots")
    add_demo_steps(tour, desk)
    assert tour.run() == 0, "a step of the story did not complete (see the log)"
    shots = sorted(p.name for p in (tmp_path / "shots").iterdir())
    # the demo's person first offers 指纹1's finger for 指纹2: the picture of the refusal
    assert any(name.endswith("-finger-2-same-finger-refused.png") for name in shots), shots

    parts = desk.parts
    assert parts is not None
    with parts.db.session() as s:
        enrollments = s.scalars(select(EnrollmentRow)).all()
        assert len(enrollments) == 1
        enrollment = enrollments[0]
        assert enrollment.has_face and enrollment.has_finger
        assert enrollment.officer_id == "GY860901"
        outbox = s.scalars(select(OutboxRow)).one()
        assert outbox.state == OutboxState.ACKNOWLEDGED.value
        assert enrollment.payload is None  # acknowledged: the biometric bytes left the desk
    actions = {entry.action for entry in query_audit(parts.db)}
    assert {AuditAction.VIEW_DETAIL.value, AuditAction.ENROLL.value} <= actions


def test_card_pulled_mid_dialog_keeps_the_capture(
    desk: DeskShell, qtbot: QtBot, record_property: pytest.RecordProperty
) -> None:
    from bts_desk.card.session import SessionState

    bridge, lock, control = desk.bridge, desk.lock, desk.card_control
    assert bridge is not None and lock is not None and control is not None
    logged: list[object] = []
    bridge.login(DEMO_PIN, logged.append, logged.append)
    qtbot.waitUntil(lambda: bridge.state is SessionState.LOGGED_IN, timeout=30_000)

    story = _EnrollmentStory(desk)
    story.find_candidates()
    qtbot.waitUntil(story.candidates_loaded, timeout=30_000)
    story.open_enrollment()
    qtbot.waitUntil(lambda: story.dialog() is not None, timeout=10_000)
    dialog = story.dialog()
    assert dialog is not None
    story.press("first_button")()
    qtbot.waitUntil(story.has_finger(1), timeout=60_000)

    pulled = time.monotonic()
    control.toggle()  # the card is pulled while the dialog is open
    qtbot.waitUntil(lambda: lock.covered, timeout=5_000)
    record_property("lock_after_pull_ms", round((time.monotonic() - pulled) * 1000))
    assert dialog.isVisible() and 1 in dialog.fingers  # covered, not closed

    control.toggle()  # the same card goes back in
    qtbot.waitUntil(
        lambda: bridge.presence is not None and bridge.presence.card_reader is not None,
        timeout=10_000,
    )
    bridge.unlock(DEMO_PIN, logged.append, logged.append)
    qtbot.waitUntil(lambda: not lock.covered, timeout=30_000)
    assert story.dialog() is dialog and 1 in dialog.fingers  # the captured finger is still there
    assert dialog.second_button.isEnabled()
