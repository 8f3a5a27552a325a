"""综合查询 › 边民核验: a borderer's live finger checked against the enrolled one (issue 18).

The officer finds the borderer by the full ID number (typed or pasted, Enter runs the search;
the number is shown masked once found) or comes from the 核验 button of 边民备案查询. The page
shows the record masked, the enrolled portrait large beside the live camera picture (for the
officer's own comparison), the enrolled finger positions, and asks "请按右手食指" for the
chosen finger. Each try runs on the scanner worker (``bts_desk.capture.verify``); the result is
核验通过 in green or 核验未通过 in red with the module's score and the threshold; after three
tries of a finger the other enrolled finger is offered (``VerificationPlan``). Every try is
audited; the day's summary (checked, passed, failed) sits at the bottom.

GUI thread only: store reads and the audit run through ``run_in_background``, the device
through the scanner worker and the camera worker; their callbacks come back through
``gui_poster``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future

from PySide6.QtCore import QCoreApplication, Qt, QTimer, Slot
from PySide6.QtGui import QHideEvent, QKeyEvent, QPixmap, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from bts_desk.capture.events import EventKind, FingerEvent
from bts_desk.capture.verify import (
    Next,
    TemplateFormatError,
    VerificationPlan,
    VerifyHandle,
    VerifyOutcome,
    start_verification,
)
from bts_desk.devices.camera import CameraMonitor, CameraWorker
from bts_desk.devices.fingerprint import ScannerMonitor
from bts_desk.domain import FingerPosition, Officer, is_valid_id_number
from bts_desk.errors import DeskError
from bts_desk.store import verifications
from bts_desk.store.crypto import DeskKey
from bts_desk.store.db import Database
from bts_desk.store.verifications import DaySummary, Subject
from bts_desk.ui.face_panel import PreviewView, to_qimage
from bts_desk.ui.labels import field_caption, label
from bts_desk.ui.main_window import MainWindow
from bts_desk.ui.message_bar import MessageBar
from bts_desk.ui.tasks import gui_poster, run_in_background

log = logging.getLogger(__name__)

PAGE_KEY = "borderer_verify"
POLL_MS = 66  # the live picture, about 15 frames a second
PASS_COLOUR, FAIL_COLOUR = "#1a9e3f", "#d9363e"


class VerifyPage(QWidget):
    """The 边民核验 tab. ``officer()`` is the logged-in officer (None: locked/logged out)."""

    def __init__(
        self,
        db: Database,
        key: DeskKey,
        *,
        scanner: ScannerMonitor,
        camera: CameraMonitor | None,
        officer: Callable[[], Officer | None],
        desk_id: str,
        threshold: int,
        portrait_source: Callable[[int], bytes] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("verifyPage")
        self._db, self._key, self._scanner = db, key, scanner
        self._officer, self._desk_id, self._threshold = officer, desk_id, threshold
        # the enrolled face from the sync service (online only; a worker thread calls it)
        self._portrait_source = portrait_source
        self.subject: Subject | None = None
        self.plan: VerificationPlan | None = None
        self.handle: VerifyHandle | None = None
        self.last_outcome: VerifyOutcome | None = None
        self.summary = DaySummary()
        self._camera: CameraWorker[None] | None = None
        if camera is not None:
            self._camera = CameraWorker(camera.factory)
            camera.watch(self._camera)
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll_camera)
        self._show_subject(None)
        self.refresh_summary()

    # --- building ------------------------------------------------------------------------

    def _build(self) -> None:
        self.id_edit = QLineEdit(self)
        self.id_edit.setObjectName("verifyIdNumber")
        self.id_edit.setPlaceholderText(self.tr("Full ID number (typed or pasted)"))
        self.id_edit.setMaxLength(18)
        self.id_edit.returnPressed.connect(self.find_borderer)
        self.find_button = QPushButton(self.tr("Find"), self)
        self.find_button.setAutoDefault(True)
        self.find_button.clicked.connect(self.find_borderer)
        search = QHBoxLayout()
        search.addWidget(QLabel(field_caption("id_number_masked"), self))
        search.addWidget(self.id_edit, 1)
        search.addWidget(self.find_button)
        search.addStretch(1)
        self._build_record()
        pictures = self._build_pictures()
        actions, outcome = self._build_actions()
        self.summary_label = QLabel(self)
        self.summary_label.setObjectName("verifySummary")
        self.message_bar = MessageBar(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 0)
        layout.addLayout(search)
        layout.addWidget(self.record_box)
        layout.addLayout(pictures, 1)
        layout.addLayout(actions)
        layout.addLayout(outcome)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.message_bar)
        QWidget.setTabOrder(self.id_edit, self.find_button)
        QWidget.setTabOrder(self.find_button, self.finger_combo)
        QWidget.setTabOrder(self.finger_combo, self.verify_button)

    def _build_record(self) -> None:
        self.record_box = QGroupBox(self.tr("Record"), self)
        grid = QGridLayout(self.record_box)
        self.record_labels: dict[str, QLabel] = {}
        keys = ("name", "gender", "id_number_masked", "customs_code", "state", "bio_flag")
        for i, key in enumerate(keys):
            value = QLabel(self.record_box)
            value.setObjectName(f"verify_{key}")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(QLabel(field_caption(key), self.record_box), i // 3, (i % 3) * 2)
            grid.addWidget(value, i // 3, (i % 3) * 2 + 1)
            self.record_labels[key] = value
        self.fingers_label = QLabel(self.record_box)
        self.fingers_label.setObjectName("verifyFingers")
        grid.addWidget(QLabel(self.tr("Enrolled fingers"), self.record_box), 2, 0)
        grid.addWidget(self.fingers_label, 2, 1, 1, 5)

    def _build_pictures(self) -> QHBoxLayout:
        self.portrait = QLabel(self)
        self.portrait.setObjectName("verifyPortrait")
        self.portrait.setFixedSize(270, 360)
        self.portrait.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.portrait.setFrameShape(QFrame.Shape.StyledPanel)
        self.portrait.setWordWrap(True)
        self.live = PreviewView(self)
        self.live.setMinimumSize(360, 270)
        pictures = QHBoxLayout()
        pictures.addLayout(
            _captioned(self.tr("Enrolled portrait"), self.portrait, self, grow=False)
        )
        pictures.addLayout(_captioned(self.tr("Live camera"), self.live, self, grow=True), 1)
        return pictures

    def _build_actions(self) -> tuple[QHBoxLayout, QHBoxLayout]:
        self.finger_combo = QComboBox(self)
        self.finger_combo.setObjectName("verifyFingerChoice")
        self.finger_combo.setMinimumWidth(130)
        self.finger_combo.activated.connect(self._finger_chosen)
        self.verify_button = QPushButton(self.tr("&Verify"), self)
        self.verify_button.setObjectName("primaryButton")
        self.verify_button.setAutoDefault(True)
        self.verify_button.clicked.connect(self.start)
        self.cancel_button = QPushButton(self.tr("Cancel"), self)
        self.cancel_button.clicked.connect(self.cancel)
        self.prompt = QLabel(self)
        self.prompt.setObjectName("verifyPrompt")
        self.prompt.setStyleSheet("font-size: 20px; font-weight: bold;")
        self.result = QLabel(self)
        self.result.setObjectName("verifyResult")
        self.figures = QLabel(self)
        self.figures.setObjectName("verifyFigures")
        actions = QHBoxLayout()
        actions.addWidget(QLabel(self.tr("Finger"), self))
        actions.addWidget(self.finger_combo)
        actions.addWidget(self.verify_button)
        actions.addWidget(self.cancel_button)
        actions.addSpacing(16)
        actions.addWidget(self.prompt, 1)
        outcome = QHBoxLayout()
        outcome.addWidget(self.result)
        outcome.addSpacing(16)
        outcome.addWidget(self.figures, 1)
        return actions, outcome

    # --- finding the borderer ------------------------------------------------------------

    @Slot()
    def find_borderer(self) -> None:
        """查找: the full ID number in the field (18 characters, check digit)."""
        number = self.id_edit.text().strip().upper()
        if not is_valid_id_number(number):
            self.message_bar.show_error(self.tr("Type or paste the full 18-character ID number."))
            return
        self.message_bar.clear()
        self.id_edit.clear()  # the full number is not left on the screen
        run_in_background(
            lambda: verifications.find_by_id_number(self._db, number),
            self._found,
            self._failed,
        )

    def _found(self, borderer_id: int | None) -> None:
        if not isValid(self):
            return
        if borderer_id is None:
            self.message_bar.show_error(self.tr("No record with this ID number on this desk."))
            return
        self.open_borderer(borderer_id)

    def open_borderer(self, borderer_id: int) -> None:
        """Show a record for verification (the 核验 button of 边民备案查询 comes here)."""
        self.cancel()
        run_in_background(
            lambda: verifications.load_subject(self._db, borderer_id, self._key),
            self._loaded,
            self._failed,
        )

    def _loaded(self, subject: Subject | None) -> None:
        if not isValid(self):
            return
        if subject is None:
            self.message_bar.show_error(self.tr("No record with this ID number on this desk."))
            return
        self.message_bar.clear()
        self._show_subject(subject)
        if subject.portrait is None and self._portrait_source is not None:
            self._fetch_portrait(subject.borderer.id)
        if not subject.fingers:
            self.message_bar.show_error(
                self.tr("No fingerprint of this borderer is on this desk: sync, then try again.")
            )

    def _show_subject(self, subject: Subject | None) -> None:
        self.subject = subject
        self.plan = VerificationPlan(subject.fingers) if subject and subject.fingers else None
        self.last_outcome = None
        b = subject.borderer if subject else None
        values = {
            "name": b.name if b else "",
            "gender": label(b.gender) if b else "",
            "id_number_masked": b.id_number_masked if b else "",
            "customs_code": b.customs_code if b else "",
            "state": label(b.state) if b else "",
            "bio_flag": label(b.bio_flag) if b else "",
        }
        for key, text in values.items():
            self.record_labels[key].setText(text)
        fingers = subject.fingers if subject else ()
        self.fingers_label.setText("、".join(label(f.position) for f in fingers) or "—")
        self.finger_combo.clear()
        for finger in fingers:
            self.finger_combo.addItem(label(finger.position), int(finger.position))
        self._show_portrait(subject.portrait if subject else None, subject is not None)
        self._set_result(None)
        self._prompt_current()
        self._update_buttons()
        self._camera_live(subject is not None and self.isVisible())

    def _show_portrait(self, jpeg: bytes | None, have_subject: bool) -> None:
        self.portrait.clear()
        pixmap = QPixmap()
        if jpeg and pixmap.loadFromData(jpeg, "JPG"):
            size = self.portrait.size()
            self.portrait.setPixmap(pixmap.scaled(size, Qt.AspectRatioMode.KeepAspectRatio))
        elif have_subject:
            self.portrait.setText(self.tr("The enrolled portrait is not kept on this desk"))

    def _fetch_portrait(self, record_id: int) -> None:
        source = self._portrait_source
        assert source is not None
        self.portrait.setText(self.tr("Asking the sync service for the enrolled portrait…"))

        def show(jpeg: bytes) -> None:
            if isValid(self) and self.subject is not None and self.subject.borderer.id == record_id:
                self._show_portrait(jpeg, True)

        def failed(exc: BaseException) -> None:
            if isValid(self) and self.subject is not None and self.subject.borderer.id == record_id:
                log.info("no portrait from the service: %r", exc)
                why = exc.user_message if isinstance(exc, DeskError) else ""
                self.portrait.setText(
                    self.tr("The enrolled portrait is not available: %1").replace("%1", why)
                )

        run_in_background(lambda: source(record_id), show, failed)

    # --- verifying -------------------------------------------------------------------------

    @Slot()
    def start(self) -> None:
        """核验: one try of the chosen finger on the scanner worker."""
        officer = self._officer()
        if self.plan is None or self.subject is None or self.handle is not None:
            return
        if officer is None:
            self.message_bar.show_error(self.tr("Log in with the officer card first."))
            return
        if self.plan.finished:  # a new verification of the same borderer (portrait kept)
            self.plan = VerificationPlan(self.subject.fingers)
            self.finger_combo.setCurrentIndex(0)
        self.message_bar.clear()
        self._set_result(None)
        finger = self.plan.current
        post = gui_poster()
        self.handle = start_verification(
            self._scanner.worker, finger, self._threshold, post.wrap(self._on_event)
        )
        handle = self.handle
        self.handle.future.add_done_callback(post.wrap(lambda f: self._done(handle, f, officer)))
        self._update_buttons()

    @Slot()
    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
            self._prompt_current()
            self._update_buttons()

    def _on_event(self, event: FingerEvent) -> None:
        if not isValid(self) or self.plan is None:
            return
        if event.kind is EventKind.LIFT:
            self.prompt.setText(self.tr("Lift the finger"))
        elif event.kind is EventKind.RETRY:
            self.prompt.setText(event.reason)
        elif event.kind is EventKind.PRESS:
            self._prompt_current()

    def _done(self, handle: VerifyHandle, future: Future[VerifyOutcome], officer: Officer) -> None:
        if not isValid(self) or handle is not self.handle or self.subject is None:
            return  # cancelled, or another borderer meanwhile
        self.handle = None
        record_id = self.subject.borderer.id
        try:
            outcome = future.result()
        except TemplateFormatError as exc:
            position = self.plan.current.position if self.plan else FingerPosition.UNKNOWN
            why = exc.user_message
            self.message_bar.show_error(why)
            self._audit(
                lambda: verifications.record_refusal(
                    self._db,
                    officer,
                    desk_id=self._desk_id,
                    borderer_id=record_id,
                    position=position,
                    why=why,
                )
            )
            self._update_buttons()
            return
        except DeskError as exc:
            self.message_bar.show_error(exc.user_message)
            self._prompt_current()
            self._update_buttons()
            return
        except Exception as exc:  # cancelled future
            log.debug("verification ended: %r", exc)
            return
        assert self.plan is not None
        n = self.plan.tries[outcome.position] + 1
        answer = self.plan.record(outcome)
        self.last_outcome = outcome
        self._set_result(outcome)
        self._audit(
            lambda: verifications.record_try(
                self._db,
                officer,
                desk_id=self._desk_id,
                borderer_id=record_id,
                outcome=outcome,
                n=n,
            )
        )
        self._after(answer)

    def _after(self, answer: Next) -> None:
        assert self.plan is not None
        if answer is Next.OTHER_FINGER:
            self.finger_combo.setCurrentIndex(self.plan.index)
            self.message_bar.show_info(
                self.tr("Three tries did not pass: now the %1.").replace(
                    "%1", label(self.plan.current.position)
                )
            )
        elif answer is Next.EXHAUSTED:
            self.message_bar.show_error(self.tr("Every enrolled finger has used its three tries."))
        self._prompt_current()
        self._update_buttons()

    def _audit(self, write: Callable[[], None]) -> None:
        run_in_background(write, lambda _r: self.refresh_summary(), self._failed)

    # --- showing -------------------------------------------------------------------------

    def _prompt_current(self) -> None:
        plan = self.plan
        if plan is None or plan.passed:
            self.prompt.setText("")
        elif plan.finished:
            self.prompt.setText(self.tr("No tries left"))
        else:
            text = self.tr("Press the %1 (try %2 of %3)")
            n = plan.max_tries - plan.tries_left + 1
            self.prompt.setText(
                text.replace("%1", label(plan.current.position))
                .replace("%2", str(n))
                .replace("%3", str(plan.max_tries))
            )

    def _set_result(self, outcome: VerifyOutcome | None) -> None:
        if outcome is None:
            self.result.setText("")
            self.figures.setText("")
            return
        text, colour = (
            (self.tr("Verification passed"), PASS_COLOUR)
            if outcome.passed
            else (self.tr("Verification failed"), FAIL_COLOUR)
        )
        self.result.setText(text)
        self.result.setStyleSheet(
            f"color: white; background: {colour}; font-size: 22px; font-weight: bold;"
            " padding: 4px 16px; border-radius: 4px;"
        )
        if outcome.threshold:
            figures = self.tr("%1: score %2, threshold %3")
            figures = figures.replace("%2", str(outcome.score)).replace(
                "%3", str(outcome.threshold)
            )
        else:
            figures = self.tr("%1: matched by the scanner (no score)")
        self.figures.setText(figures.replace("%1", label(outcome.position)))

    def _update_buttons(self) -> None:
        busy = self.handle is not None
        ready = self.plan is not None and not busy
        self.verify_button.setEnabled(ready)
        self.finger_combo.setEnabled(ready and self.plan is not None and not self.plan.finished)
        self.cancel_button.setEnabled(busy)
        if ready and not self.id_edit.hasFocus():
            self.verify_button.setFocus()

    @Slot(int)
    def _finger_chosen(self, index: int) -> None:
        if self.plan is not None and index >= 0:
            self.plan.choose(FingerPosition.from_code(int(self.finger_combo.itemData(index))))
            self._prompt_current()

    def refresh_summary(self) -> None:
        run_in_background(
            lambda: verifications.day_summary(self._db), self._show_summary, self._failed
        )

    def _show_summary(self, summary: DaySummary) -> None:
        if not isValid(self):
            return
        self.summary = summary
        text = self.tr("Today: %1 checked, %2 passed, %3 failed")
        self.summary_label.setText(
            text.replace("%1", str(summary.checked))
            .replace("%2", str(summary.passed))
            .replace("%3", str(summary.failed))
        )

    def _failed(self, exc: BaseException) -> None:
        if not isValid(self):
            return
        if isinstance(exc, DeskError):
            log.warning("verification page: %s", exc.detail)
            self.message_bar.show_error(exc.user_message)
        else:
            log.error("verification page: %r", exc)
            self.message_bar.show_error(self.tr("The store could not be read."))

    # --- the live camera -------------------------------------------------------------------

    def _camera_live(self, on: bool) -> None:
        if self._camera is None:
            self.live.show_message(self.tr("No camera configured"))
            return
        if on and not self._timer.isActive():
            self.live.show_message(self.tr("Opening the camera…"))
            self._camera.start()
            self._timer.start()
        elif not on and self._timer.isActive():
            self._timer.stop()
            self._camera.stop(timeout=0)
        if not on:
            self.live.show_message(self.tr("Find a borderer to verify"))

    def _poll_camera(self) -> None:
        assert self._camera is not None
        packet = self._camera.take_latest()
        if packet is not None:
            image = to_qimage(packet.image)
            self.live.show_frame(image, None, None, "")
        error = self._camera.error
        if error is not None:
            self.live.show_message(error.user_message)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._camera_live(self.subject is not None)

    def hideEvent(self, event: QHideEvent) -> None:
        self._camera_live(False)  # leaving the tab releases the webcam
        super().hideEvent(event)

    def shutdown(self) -> None:
        self.cancel()
        self._camera_live(False)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter (the officers' "go on") starts a try when the page is ready for one."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.verify_button.isEnabled():
            self.start()
            return
        super().keyPressEvent(event)


def _captioned(caption: str, widget: QWidget, parent: QWidget, *, grow: bool) -> QVBoxLayout:
    column = QVBoxLayout()
    text = QLabel(caption, parent)
    text.setAlignment(Qt.AlignmentFlag.AlignCenter)
    column.addWidget(text)
    column.addWidget(widget, 1 if grow else 0)
    if not grow:
        column.addStretch(1)
    return column


def register(
    window: MainWindow,
    group: str,
    build: Callable[[], VerifyPage],
) -> str:
    """Add 综合查询 › 边民核验 to the menu (``group`` is 综合查询); returns the page key."""
    return window.add_page(
        group,
        QCoreApplication.translate("VerifyPage", "Borderer verification"),
        build,
        key=PAGE_KEY,
    )
