"""综合查询 › 边民核验 through the real stack: the R30x driver on a pty with the emulator at its
far end, OpenCV on the demo camera stand-in, the encrypted store with a 补录 made from the
emulator. Found by full ID number (masked on screen), 核验通过 in green for the enrolled finger,
核验未通过 in red for another, every try audited, the day's summary, three tries then the other
finger, and the 核验 button of 边民备案查询."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from desk_support import zh
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from bts_desk.capture.finger import FingerEnroller
from bts_desk.config import CameraSettings, ScannerSettings, Settings
from bts_desk.devices.camera import CameraMonitor
from bts_desk.devices.fingerprint import ScannerMonitor
from bts_desk.domain import BioFlag, FingerPosition, Officer
from bts_desk.drivers.camera_standin import demo_camera_source
from bts_desk.drivers.r30x import fingerimage as fi
from bts_desk.drivers.r30x.driver import R30xScanner
from bts_desk.drivers.r30x.emulator import R30xEmulator
from bts_desk.drivers.r30x.fingerimage import MATCH_THRESHOLD
from bts_desk.errors import SyncError
from bts_desk.store.crypto import DeskKey
from bts_desk.store.db import Database
from bts_desk.store.demo_data import populate
from bts_desk.store.desk_store import open_desk_store
from bts_desk.store.enrollments import mark_acknowledged, save_enrollment
from bts_desk.store.models import AuditRow, BordererRow, EnrollmentRow
from bts_desk.sync.samples import sample_draft
from bts_desk.ui.query_page import QueryPage
from bts_desk.ui.style import apply_style
from bts_desk.ui.verify_page import FAIL_COLOUR, PASS_COLOUR, VerifyPage

__all__ = ["zh"]

OFFICER = Officer(officer_id="GY860901", name="李海关", customs_code="8609")
RIGHT_FINGER, LEFT_FINGER, STRANGER = 81, 82, 83
FINGERS = (81, 82, 83)


@pytest.fixture(scope="module", autouse=True)
def _prints_made() -> None:
    """The emulator's synthetic prints of this module's fingers, made before the tests (the
    emulator's thread shares the cache): on a loaded machine the first image of a finger can
    take longer than the driver's 3 s reply timeout."""
    for finger in FINGERS:
        fi.master_print(finger)


@pytest.fixture(scope="module")
def camera_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    return demo_camera_source(tmp_path_factory.mktemp("camera"))


@dataclasses.dataclass
class Stand:
    db: Database
    key: DeskKey
    record_id: int
    id_number: str
    emulator: R30xEmulator
    scanner: ScannerMonitor


@pytest.fixture
def stand(settings: Settings, r30x_emulator: R30xEmulator) -> Iterator[Stand]:
    """A store with one borderer enrolled from the emulator (右手食指 81, 左手食指 82)."""
    db, key = open_desk_store(settings)
    populate(db, 50, seed=7)
    with db.session() as session:
        row = session.scalars(
            select(BordererRow).where(BordererRow.has_finger.is_(False)).limit(1)
        ).one()
        record_id, id_number = row.id, row.id_number
    driver = R30xScanner(str(r30x_emulator.path), timeout=3.0)
    captures = []
    for slot, finger, position in (
        (1, RIGHT_FINGER, FingerPosition.RIGHT_INDEX),
        (2, LEFT_FINGER, FingerPosition.LEFT_INDEX),
    ):
        r30x_emulator.place(finger, 3)
        capture = FingerEnroller(driver, slot, lambda _e: None, poll_interval=0.0).run()
        captures.append(dataclasses.replace(capture, position=position))
    driver.close()
    draft = dataclasses.replace(
        sample_draft(record_id, OFFICER), fingers=tuple(captures), scanner_model="R503"
    )
    save_enrollment(db, draft, key)
    monitor = ScannerMonitor(
        ScannerSettings(driver="r30x", port=str(r30x_emulator.path)), check_interval=0.5
    )
    monitor.start()
    yield Stand(db, key, record_id, id_number, r30x_emulator, monitor)
    monitor.stop()
    db.dispose()


@pytest.fixture
def page(qtbot: QtBot, zh: None, stand: Stand, camera_source: str) -> Iterator[VerifyPage]:
    qapp = QApplication.instance()
    assert isinstance(qapp, QApplication)
    apply_style(qapp)
    widget = VerifyPage(
        stand.db,
        stand.key,
        scanner=stand.scanner,
        camera=CameraMonitor(CameraSettings(source=camera_source, loop=True)),
        officer=lambda: OFFICER,
        desk_id="DX-TEST",
        threshold=MATCH_THRESHOLD,
    )
    qtbot.addWidget(widget)
    widget.resize(1200, 860)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.shutdown()


def _find(qtbot: QtBot, page: VerifyPage, number: str) -> None:
    page.id_edit.setFocus()
    qtbot.keyClicks(page.id_edit, number)
    qtbot.keyClick(page.id_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.plan is not None, timeout=10_000)


def _try(qtbot: QtBot, page: VerifyPage, emulator: R30xEmulator, finger: int) -> None:
    """Enter on 核验, then the person presses ``finger`` once the page asks for it."""
    tries = sum(page.plan.tries.values()) if page.plan and not page.plan.finished else 0
    qtbot.waitUntil(page.verify_button.isEnabled, timeout=5000)
    page.verify_button.setFocus()
    qtbot.keyClick(page.verify_button, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: page.handle is not None or page.plan is None, timeout=5000)
    qtbot.waitUntil(lambda: page.prompt.text().startswith("请按"), timeout=10_000)
    emulator.place(finger, 1)
    qtbot.waitUntil(
        lambda: page.plan is not None and sum(page.plan.tries.values()) == tries + 1,
        timeout=20_000,
    )


def test_found_by_id_number_passes_then_fails_audited(
    qtbot: QtBot, page: VerifyPage, stand: Stand, tmp_path: Path
) -> None:
    _find(qtbot, page, stand.id_number)
    assert page.id_edit.text() == ""  # the full number does not stay on the screen
    shown = page.record_labels["id_number_masked"].text()
    assert shown == f"{stand.id_number[:3]}*****{stand.id_number[-3:]}"
    assert page.fingers_label.text() == "右手食指、左手食指"
    assert page.portrait.pixmap() is not None and not page.portrait.pixmap().isNull()
    assert page.prompt.text() == "请按右手食指（第 1/3 次）"
    qtbot.waitUntil(lambda: page.live.image is not None, timeout=10_000)  # the live picture

    _try(qtbot, page, stand.emulator, RIGHT_FINGER)
    assert page.result.text() == "核验通过"
    assert PASS_COLOUR in page.result.styleSheet()
    assert page.last_outcome is not None and page.last_outcome.score >= MATCH_THRESHOLD
    assert f"阈值 {MATCH_THRESHOLD}" in page.figures.text()
    assert page.figures.text().startswith("右手食指：分数 ")
    qtbot.waitUntil(lambda: "通过 1 人" in page.summary_label.text(), timeout=5000)
    page.grab().save(str(tmp_path / "verify-passed.png"))

    _try(
        qtbot, page, stand.emulator, STRANGER
    )  # a new verification of the same person: another finger
    assert page.result.text() == "核验未通过"
    assert FAIL_COLOUR in page.result.styleSheet()
    assert page.last_outcome is not None and page.last_outcome.score < MATCH_THRESHOLD
    assert not page.portrait.pixmap().isNull()  # a new verification keeps the portrait
    page.grab().save(str(tmp_path / "verify-failed.png"))
    qtbot.waitUntil(lambda: _audit(stand.db) == ["verify_pass", "verify_fail"], timeout=5000)
    with stand.db.session() as session:
        details = session.scalars(select(AuditRow.detail).where(AuditRow.action != "enroll")).all()
        who = set(session.scalars(select(AuditRow.officer_id)).all())
        whom = set(session.scalars(select(AuditRow.borderer_id)).all())
    assert details[0].startswith("边民核验：右手食指第 1 次，分数 ") and details[0].endswith("通过")
    assert details[1].endswith("未通过") and stand.id_number not in "".join(details)
    assert who == {OFFICER.officer_id} and whom == {stand.record_id}
    assert page.summary_label.text() == "今日核验 1 人：通过 1 人，未通过 0 人"


def test_three_tries_then_the_other_finger(
    qtbot: QtBot, page: VerifyPage, stand: Stand, tmp_path: Path
) -> None:
    _find(qtbot, page, stand.id_number)
    for n in range(3):
        _try(qtbot, page, stand.emulator, STRANGER)
        assert page.result.text() == "核验未通过", n
    assert page.plan is not None and page.plan.current.position is FingerPosition.LEFT_INDEX
    assert page.finger_combo.currentText() == "左手食指"
    assert page.prompt.text() == "请按左手食指（第 1/3 次）"
    assert "请改用左手食指" in page.message_bar.text
    page.grab().save(str(tmp_path / "verify-other-finger.png"))
    _try(qtbot, page, stand.emulator, LEFT_FINGER)
    assert page.result.text() == "核验通过"
    qtbot.waitUntil(lambda: len(_audit(stand.db)) == 4, timeout=5000)
    qtbot.waitUntil(
        lambda: page.summary_label.text() == "今日核验 1 人：通过 1 人，未通过 0 人", timeout=5000
    )


def test_a_number_not_on_the_desk_and_a_wrong_number(
    qtbot: QtBot, page: VerifyPage, stand: Stand
) -> None:
    qtbot.keyClicks(page.id_edit, "12345")
    qtbot.keyClick(page.id_edit, Qt.Key.Key_Return)
    assert page.message_bar.text == "请输入或粘贴完整的18位身份证号。"
    page.id_edit.clear()
    qtbot.keyClicks(page.id_edit, "11010519491231002X")  # valid, but nobody here
    qtbot.keyClick(page.id_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "本机没有该身份证号" in page.message_bar.text, timeout=5000)
    assert page.plan is None and not page.verify_button.isEnabled()


def test_query_page_verify_button_follows_the_fingerprints(
    qtbot: QtBot, zh: None, stand: Stand, tmp_path: Path
) -> None:
    ui_state = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    query = QueryPage(stand.db, ui_state)
    qtbot.addWidget(query)
    query.resize(1400, 700)
    query.show()
    qtbot.waitUntil(lambda: query.model.ready and not query.model.busy, timeout=10_000)
    assert query.verify_button.text() == "核验"
    seen = {True: False, False: False}
    requested: list[int] = []
    query.verify_requested.connect(requested.append)
    for row in range(query.model.rowCount()):
        query.table.selectRow(row)
        borderer = query.selected_borderer()
        assert borderer is not None
        has = borderer.bio_flag in (BioFlag.BOTH, BioFlag.FINGER_ONLY)
        assert query.verify_button.isEnabled() is has
        seen[has] = True
        if borderer.id == stand.record_id:
            query.grab().save(str(tmp_path / "query-verify-button.png"))
            qtbot.mouseClick(query.verify_button, Qt.MouseButton.LeftButton)
    assert seen == {True: True, False: True}
    assert requested == [stand.record_id]


def _audit(db: Database) -> list[str]:
    with db.session() as session:
        return [
            a
            for a in session.scalars(select(AuditRow.action).order_by(AuditRow.id)).all()
            if a.startswith("verify")
        ]


def test_uploaded_and_offline_no_portrait_but_verifiable(
    qtbot: QtBot, zh: None, stand: Stand, tmp_path: Path
) -> None:
    """After the upload the bundle (portrait) is gone from the desk; the service is down: the
    page says so and still verifies from the desk's templates."""
    with stand.db.session() as session:
        uuid = session.scalars(select(EnrollmentRow.uuid)).one()
    mark_acknowledged(stand.db, [uuid])
    asked: list[int] = []

    def offline(record_id: int) -> bytes:
        asked.append(record_id)
        raise SyncError("无法连接同步服务", "connection refused (test: service down)")

    widget = VerifyPage(
        stand.db,
        stand.key,
        scanner=stand.scanner,
        camera=None,
        officer=lambda: OFFICER,
        desk_id="DX-TEST",
        threshold=MATCH_THRESHOLD,
        portrait_source=offline,
    )
    qtbot.addWidget(widget)
    widget.resize(1200, 860)
    widget.show()
    widget.open_borderer(stand.record_id)
    qtbot.waitUntil(lambda: widget.plan is not None, timeout=10_000)
    qtbot.waitUntil(lambda: "无法连接同步服务" in widget.portrait.text(), timeout=5000)
    assert asked == [stand.record_id]
    _try(qtbot, widget, stand.emulator, RIGHT_FINGER)
    assert widget.result.text() == "核验通过"
    widget.grab().save(str(tmp_path / "verify-offline-no-portrait.png"))
    widget.shutdown()
