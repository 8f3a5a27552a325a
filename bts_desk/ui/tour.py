"""``bts-desk --tour DIR``: an offscreen walk through the desk, one PNG per step.

Each step does something on the GUI thread and then waits until a readiness check passes (data
loaded, dialog open) before the picture is taken, so the pictures show real results. Other parts
add their steps (login, 补录) with ``add_step``. GUI thread; runs inside the event loop.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QAbstractButton, QApplication, QWidget

from bts_desk.domain import BioFlag, EnableState, ExceptionReason
from bts_desk.ui.enroll_dialog import SAME_FINGER_MARK, EnrollDialog
from bts_desk.ui.main_window import MainWindow
from bts_desk.ui.query_page import QueryPage
from bts_desk.ui.verify_page import VerifyPage

if TYPE_CHECKING:
    from bts_desk.ui.shell import DeskShell

log = logging.getLogger(__name__)


@dataclass
class Step:
    name: str
    action: Callable[[], None]
    ready: Callable[[], bool]
    timeout_s: float
    subject: Callable[[], QWidget | None] | None


class Tour:
    """A sequence of steps over ``window``; ``run()`` returns 0 when every step got ready."""

    def __init__(self, window: QWidget, out_dir: Path) -> None:
        self.window = window
        self.out_dir = out_dir
        self.steps: list[Step] = []

    def add_step(
        self,
        name: str,
        action: Callable[[], None],
        ready: Callable[[], bool] = lambda: True,
        *,
        timeout_s: float = 60.0,
        subject: Callable[[], QWidget | None] | None = None,
    ) -> None:
        """``action`` runs, then the tour waits for ``ready``; the picture is of ``subject()``
        (default: the active modal dialog if there is one, else the main window)."""
        self.steps.append(Step(name, action, ready, timeout_s, subject))

    def wait_until(self, ready: Callable[[], bool], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        while time.monotonic() < deadline:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            if ready():
                app.processEvents()
                return True
            time.sleep(0.02)
        return False

    def run(self) -> int:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for number, step in enumerate(self.steps, start=1):
            step.action()
            if not self.wait_until(step.ready, step.timeout_s):
                log.error("tour step %s did not get ready within %.0f s", step.name, step.timeout_s)
                return 1
            target = step.subject() if step.subject else None
            target = target or QApplication.activeModalWidget() or self.window
            path = self.out_dir / f"{number:02d}-{step.name}.png"
            if not target.grab().save(str(path)):
                log.error("cannot save %s", path)
                return 1
            print(path, flush=True)
        return 0


def add_query_steps(tour: Tour, window: MainWindow, page_key: str) -> None:
    """The 边民备案查询 steps: the tab over the data, a query by name, 详情 of a record."""

    def page() -> QueryPage:
        widget = window.open_page(page_key)
        assert isinstance(widget, QueryPage)
        return widget

    def loaded() -> bool:
        p = page()
        return p.model.ready and not p.model.busy

    def query_by_name() -> None:
        p = page()
        p.name_edit.setText("吴")
        p.run_query()

    def open_details() -> None:
        p = page()
        p.table.selectRow(0)
        p.show_details()

    tour.add_step("query-tab", lambda: None, loaded)
    tour.add_step("query-by-name", query_by_name, loaded)
    tour.add_step("details", open_details, lambda: QApplication.activeModalWidget() is not None)
    tour.add_step("details-closed", _close_modal, lambda: QApplication.activeModalWidget() is None)


def _close_modal() -> None:
    dialog = QApplication.activeModalWidget()
    if dialog is not None:
        dialog.close()


# --- the whole demo story (bts-desk --demo --tour DIR) -----------------------------------------

DEMO_PIN = "123456"


def run_tour_when_ready(shell: DeskShell, out_dir: Path) -> None:
    """Once the shell's parts are up, walk the manual's story and exit with the tour's code."""

    def go(ok: bool) -> None:
        code = 1
        try:
            if ok:
                tour = Tour(shell.window, out_dir)
                add_demo_steps(tour, shell)
                code = tour.run()
        except Exception:  # the tour must end the process whatever happens
            log.exception("the tour failed")
        finally:
            shell.app.exit(code)

    shell.ready_callbacks.append(go)


def add_demo_steps(tour: Tour, shell: DeskShell) -> None:
    """Login → query → 详情 → 补录 (two fingers, face, 保存) → flag changed → upload → lock."""
    from bts_desk.card.session import SessionState

    bridge = shell.bridge
    assert bridge is not None and shell.lock is not None
    lock = shell.lock
    tour.add_step("locked-before-login", lambda: None, lambda: lock.covered)
    tour.add_step(
        "logged-in",
        lambda: bridge.login(DEMO_PIN, lambda _o: None, lambda e: log.error("login: %s", e)),
        lambda: bridge.state is SessionState.LOGGED_IN and not lock.covered,
        timeout_s=30,
    )
    add_query_steps(tour, shell.window, shell.query_key)
    story = add_enrollment_steps(tour, shell)
    add_verify_steps(tour, shell, story)
    add_exception_steps(tour, shell)
    add_lock_steps(tour, shell)


def add_enrollment_steps(tour: Tour, shell: DeskShell) -> _EnrollmentStory:
    """The manual's 补录 steps 1–6 on the first 正常 record without biometrics."""
    story = _EnrollmentStory(shell)
    window = shell.window
    tour.add_step("no-biometrics", story.find_candidates, story.candidates_loaded)
    tour.add_step("enroll-dialog", story.open_enrollment, lambda: story.dialog() is not None)
    tour.add_step("finger-1", story.press("first_button"), story.has_finger(1), timeout_s=90)
    # the demo's person first offers 指纹1's finger again: the desk refuses it (请换个手指)
    tour.add_step(
        "finger-2-same-finger-refused",
        story.press("second_button"),
        story.same_finger_refused,
        timeout_s=90,
    )
    tour.add_step("finger-2", lambda: None, story.has_finger(2), timeout_s=90)
    tour.add_step("face-preview", story.start_face, story.face_ready, timeout_s=60)
    tour.add_step("face-taken", story.press_face, story.face_taken)
    tour.add_step("saved", story.press("save_button"), story.saved_notice, subject=lambda: window)
    tour.add_step("flag-changed", story.show_person, story.flag_changed, subject=lambda: window)
    tour.add_step("uploaded", lambda: None, story.uploaded, timeout_s=120, subject=lambda: window)
    return story


OTHER_FINGER = 77  # a finger of the demo's person that was never enrolled


def add_verify_steps(tour: Tour, shell: DeskShell, story: _EnrollmentStory) -> None:
    """边民核验 of the borderer just enrolled (from the 核验 button of the query page, after the
    upload, i.e. from the desk's own templates): 指纹1's finger passes, another finger fails.
    The demo's scanner person is told which finger to press (the emulator)."""
    env = shell.parts.env if shell.parts else None
    person = env.scanner if env is not None else None
    if person is None:
        return
    window = shell.window

    def page() -> VerifyPage | None:
        widget = window.page(shell.verify_key)
        return widget if isinstance(widget, VerifyPage) else None

    def open_page() -> None:
        story.page().verify_button.click()

    def shown() -> bool:
        p = page()
        return p is not None and p.plan is not None and p.live.image is not None

    def press(finger: Callable[[], int]) -> Callable[[], None]:
        def go() -> None:
            p = page()
            if p is not None:
                p.last_outcome = None
                person.place(finger(), 1)
                p.verify_button.click()

        return go

    def result(passed: bool) -> Callable[[], bool]:
        def ready() -> bool:  # the result, and the day's summary counting it
            p = page()
            if p is None or p.last_outcome is None or p.last_outcome.passed is not passed:
                return False
            return p.summary.checked >= 1 and p.summary.passed >= 1

        return ready

    enrolled_first = lambda: person.fingers_enrolled[-2]  # noqa: E731 - 指纹1 of the 补录
    tour.add_step("verify-page", open_page, shown, timeout_s=30, subject=lambda: window)
    tour.add_step("verify-passed", press(enrolled_first), result(True), subject=lambda: window)
    tour.add_step("verify-other-finger-failed", press(lambda: OTHER_FINGER), result(False),
                  subject=lambda: window)  # fmt: skip


def add_exception_steps(tour: Tour, shell: DeskShell) -> None:
    """A 补录 with exceptions (issue 18): neither index finger can be taken (手指缺失, 包扎),
    the face is photographed; saved, uploaded, and the record reads 有人脸没有指纹 with the
    entries in 详情. The scanner is not used, so the demo person's next fingers are as before."""
    story = _EnrollmentStory(shell)
    window = shell.window

    def ask_first() -> None:
        if (d := story.dialog()) is not None:
            d.slots[1].unable_button.click()

    def reason_asked() -> bool:
        d = story.dialog()
        return d is not None and d.exception_dialog is not None and d.exception_dialog.isVisible()

    def confirm_both() -> None:
        d = story.dialog()
        if d is None or d.exception_dialog is None:
            return
        d.exception_dialog.choose(ExceptionReason.MISSING)
        d.exception_dialog.confirm()
        d.slots[2].unable_button.click()
        if d.exception_dialog is not None:
            d.exception_dialog.choose(ExceptionReason.BANDAGED)
            d.exception_dialog.confirm()

    def both_recorded() -> bool:
        d = story.dialog()
        return d is not None and d.slot_done(1) and d.slot_done(2) and not d.fingers

    def open_details() -> None:
        for notice in story.notices():
            notice.close()
        story.page().show_details()

    tour.add_step("exception-no-biometrics", story.find_candidates, story.candidates_loaded)
    tour.add_step(
        "exception-enroll-dialog", story.open_enrollment, lambda: story.dialog() is not None
    )
    tour.add_step("exception-reason", ask_first, reason_asked, subject=story.exception_dialog)
    tour.add_step("exception-fingers", confirm_both, both_recorded, subject=story.dialog)
    tour.add_step("exception-face-preview", story.start_face, story.face_ready, timeout_s=60)
    tour.add_step("exception-face-taken", story.press_face, story.face_taken)
    tour.add_step(
        "exception-saved", story.press("save_button"), story.saved_notice, subject=lambda: window
    )
    tour.add_step(
        "exception-flag",
        story.show_person,
        story.flag_is(BioFlag.FACE_ONLY),
        subject=lambda: window,
    )
    tour.add_step("exception-uploaded", lambda: None, story.uploaded, timeout_s=120)
    tour.add_step("exception-details", open_details, lambda: story.details() is not None)
    tour.add_step("exception-details-closed", story.close_details, lambda: story.details() is None)


class _EnrollmentStory:
    """Actions and readiness checks of the 补录 part of the tour (GUI thread)."""

    def __init__(self, shell: DeskShell) -> None:
        self.shell = shell
        self.name = ""
        self.borderer_id: int | None = None  # the record being enrolled
        self._pressed_at = time.monotonic()  # the last press made again (``_again``)
        self._saved_at: dt.datetime | None = None  # when the last save's notice was first seen

    def page(self) -> QueryPage:
        widget = self.shell.window.open_page(self.shell.query_key)
        assert isinstance(widget, QueryPage)
        return widget

    def dialog(self) -> EnrollDialog | None:
        found = self.shell.window.findChildren(EnrollDialog)
        return next((d for d in found if d.isVisible()), None)

    def loaded(self) -> bool:
        model = self.page().model
        return model.ready and not model.busy and model.rowCount() > 0

    def find_candidates(self) -> None:
        p = self.page()
        p.reset()
        p.bio_combo.setCurrentIndex(p.bio_combo.findData(BioFlag.NONE.value))
        p.enable_combo.setCurrentIndex(p.enable_combo.findData(EnableState.ENABLED.value))
        p.run_query()

    def candidates_loaded(self) -> bool:
        return self.loaded()

    def open_enrollment(self) -> None:
        p = self.page()
        for row in range(min(p.model.rowCount(), 200)):
            borderer = p.model.borderer(row)
            if borderer is not None and borderer.can_enroll:
                self.name, self.borderer_id = borderer.name, borderer.id
                p.table.selectRow(row)
                p.enroll_button.click()
                return

    def press(self, button: str) -> Callable[[], None]:
        def click() -> None:
            if (d := self.dialog()) is not None:
                if button == "save_button":
                    self._saved_at = None  # a new save: ``uploaded`` waits for a pass after it
                getattr(d, button).click()

        return click

    def same_finger_refused(self) -> bool:
        """指纹2's first press was 指纹1's finger: the dialog says to change finger."""
        d = self.dialog()
        return d is not None and SAME_FINGER_MARK in d.reason.text() and 2 not in d.fingers

    def has_finger(self, number: int) -> Callable[[], bool]:
        """Finger ``number`` captured; a capture that failed (a press the scanner did not
        take, e.g. on a loaded machine) is started again, as the officer would."""
        name = "first_button" if number == 1 else "second_button"

        def ready() -> bool:
            d = self.dialog()
            if d is None:
                return False
            if number in d.fingers:
                return True
            if not d.capturing:
                self._again(getattr(d, name), f"finger {number} capture")
            return False

        return ready

    def _again(self, button: QAbstractButton, what: str) -> None:
        """Press ``button`` again (at most every 3 s) when it is enabled: the step's first
        press did not get there."""
        now = time.monotonic()
        if button.isEnabled() and now - self._pressed_at > 3.0:
            self._pressed_at = now
            log.info("tour: %s did not complete, pressing %r again", what, button.objectName())
            button.click()

    def start_face(self) -> None:
        if (d := self.dialog()) is not None:
            d.pages.setCurrentWidget(d.face_panel)
            d.face_panel.start_button.click()

    def face_ready(self) -> bool:
        return (d := self.dialog()) is not None and d.face_panel.shoot_button.isEnabled()

    def press_face(self) -> None:
        if (d := self.dialog()) is not None:
            d.face_panel.shoot_button.click()

    def face_taken(self) -> bool:
        """The photo is taken; 拍照 is pressed again if the press found no fresh passing frame
        (the preview lagged: the button stays enabled until its next poll)."""
        d = self.dialog()
        if d is None:
            return False
        if d.face is None:
            self._again(d.face_panel.shoot_button, "the photo")
        return d.face is not None

    def notices(self) -> list[QWidget]:
        found = self.shell.window.findChildren(QWidget, "savedNotice")
        return [w for w in found if w.isVisible()]

    def saved_notice(self) -> bool:
        saved = bool(self.notices())
        if saved and self._saved_at is None:
            self._saved_at = dt.datetime.now(dt.UTC)
        return saved

    def show_person(self) -> None:
        for notice in self.notices():
            notice.close()
        p = self.page()
        p.reset()
        p.name_edit.setText(self.name)
        p.run_query()

    def exception_dialog(self) -> QWidget | None:
        d = self.dialog()
        return None if d is None else d.exception_dialog

    def details(self) -> QWidget | None:
        found = self.shell.window.findChildren(QWidget, "detailsDialog")
        return next((w for w in found if w.isVisible()), None)

    def close_details(self) -> None:
        if (d := self.details()) is not None:
            d.close()

    def flag_is(self, flag: BioFlag) -> Callable[[], bool]:
        return lambda: self._record_flag() is flag

    def flag_changed(self) -> bool:
        """The enrolled record itself (by id, not any namesake) reads 人脸指纹都有."""
        return self._record_flag() is BioFlag.BOTH

    def _record_flag(self) -> BioFlag | None:
        """The 生物标识 of the enrolled record itself (by id, not any namesake), selected."""
        if not self.loaded() or self.borderer_id is None:
            return None
        p = self.page()
        model = p.model
        for row in range(model.rowCount()):
            borderer = model.borderer(row)
            if borderer is not None and borderer.id == self.borderer_id:
                p.table.selectRow(row)
                p.table.scrollTo(model.index(row, model.columnCount() - 2))  # 生物标识 shown
                return borderer.bio_flag
        return None

    def uploaded(self) -> bool:
        """The status bar's 待上传 reads 0 after a sync pass that ended since the save (what
        the picture shows). The worker's own counts, not SQL: this runs on the GUI thread."""
        from bts_desk.ui.sync_status import SyncStatusWidget

        if self.shell.sync is None:
            return True
        widget = self.shell.window.findChild(SyncStatusWidget)
        if widget is None or self._saved_at is None:
            return False
        status = widget.status
        return (
            status.pending == 0
            and status.last_sync is not None
            and status.last_sync >= self._saved_at
        )


def add_lock_steps(tour: Tour, shell: DeskShell) -> None:
    """Pull the card (locks at once), put it back and unlock with the PIN; the device panel."""
    from bts_desk.card.session import SessionState

    bridge, lock, control = shell.bridge, shell.lock, shell.card_control
    assert bridge is not None and lock is not None
    if control is None:
        return
    window = shell.window

    def card_back() -> bool:
        presence = bridge.presence
        return presence is not None and presence.card_reader is not None

    def unlock() -> None:
        bridge.unlock(DEMO_PIN, lambda _o: None, lambda e: log.error("unlock: %s", e))

    def open_devices() -> None:
        from bts_desk.ui import device_panel

        window.open_page(device_panel.PAGE_KEY)

    tour.add_step("card-pulled-locked", control.toggle, lambda: lock.covered, timeout_s=10)
    tour.add_step("card-inserted", control.toggle, card_back, timeout_s=10)
    tour.add_step(
        "unlocked",
        unlock,
        lambda: bridge.state is SessionState.LOGGED_IN and not lock.covered,
        timeout_s=30,
    )
    tour.add_step("device-status", open_devices, lambda: True)
