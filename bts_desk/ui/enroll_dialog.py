"""The 补录 dialog (人脸识别信息录入): two fingers, three presses each, then an optional face.

The manual's steps 2–6: 第一指纹录入 ("请按三次指纹" → "指纹采集成功", 指纹1 turns green),
第二指纹录入 ("请换个手指再按三次指纹", a different finger), 人脸 (开始拍照 / 拍照 / 重拍),
保存 ("保存成功"). Device work runs on the scanner and camera workers; the save runs on Qt's
thread pool; this widget only reacts to their callbacks on the GUI thread. Captured data lives
only in this dialog until 保存 (the session lock covers the dialog and keeps it as it is).

Layout as in the manual's picture: the 指纹1 / 指纹2 pictures side by side, each with its
red/green lamp under it and the finger it is for (右手食指 / 左手食指 by default, remembered per
desk), and the buttons 第一指纹录入 / 第二指纹录入 at the bottom left. The keyboard does it all
(the manual: Enter goes on): Enter starts the next step — 第一指纹录入, 第二指纹录入, the 人脸 tab,
开始拍照, 拍照, 保存 — Tab walks the controls in that order, every button has an Alt mnemonic,
and Esc asks before discarding what was captured.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import Future

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from bts_desk.capture.finger import (
    EventKind,
    FingerCaptureHandle,
    FingerEvent,
    start_finger_capture,
)
from bts_desk.devices.camera import CameraMonitor
from bts_desk.devices.fingerprint import ScannerMonitor
from bts_desk.domain import (
    DEFAULT_FINGER_POSITIONS,
    BioException,
    Borderer,
    EnrollmentDraft,
    FaceCapture,
    FingerCapture,
    FingerPosition,
    Officer,
    exceptions_problem,
)
from bts_desk.errors import DeskError
from bts_desk.ui.exception_dialog import ExceptionDialog, exception_text
from bts_desk.ui.face_panel import FacePanel
from bts_desk.ui.finger_slot import AMBER, GREEN, GREY, RED, FingerSlot
from bts_desk.ui.labels import field_caption, label
from bts_desk.ui.tasks import gui_poster, run_in_background

__all__ = ["AMBER", "GREEN", "GREY", "RED", "EnrollDialog", "FingerSlot"]  # lamps: tests

log = logging.getLogger(__name__)

SaveFunction = Callable[[EnrollmentDraft], None]  # runs on a pool thread; raises DeskError
RememberFingers = Callable[[FingerPosition, FingerPosition], None]  # GUI thread
SAME_FINGER_MARK = "换个手指"  # in the capture's reason when finger 2 is finger 1 again


class EnrollDialog(QDialog):
    """Modal 补录 of one record. ``saved(uuid)`` after 保存成功; the caller refreshes the table.

    Dependencies come in as parameters: the officer of the session, the scanner and camera
    monitors (their workers own the devices), and ``save`` (store + key, run off the GUI
    thread)."""

    saved = Signal(str)

    def __init__(
        self,
        borderer: Borderer,
        *,
        officer: Officer,
        desk_id: str,
        scanner: ScannerMonitor,
        camera: CameraMonitor,
        save: SaveFunction,
        parent: QWidget | None = None,
        finger_timeout: float = 30.0,
        positions: tuple[FingerPosition, FingerPosition] | None = None,
        remember_fingers: RememberFingers | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("enrollDialog")
        self.setWindowTitle(self.tr("Biometric information entry"))
        self.setModal(True)
        self.borderer, self.officer, self.desk_id = borderer, officer, desk_id
        self._scanner, self._save = scanner, save
        self._finger_timeout = finger_timeout
        self.fingers: dict[int, FingerCapture] = {}
        self.face: FaceCapture | None = None
        # 无法采集 / 无法拍照 entries by finger (None: the face), confirmed by the officer
        self.exceptions: dict[FingerPosition | None, BioException] = {}
        self.exception_dialog: ExceptionDialog | None = None
        self._capture: FingerCaptureHandle | None = None
        self._capturing_finger = 0
        self._same_finger_refused = False
        self._saving = False
        self._positions = positions or (DEFAULT_FINGER_POSITIONS[1], DEFAULT_FINGER_POSITIONS[2])
        if self._positions[0] == self._positions[1]:
            self._positions = (DEFAULT_FINGER_POSITIONS[1], DEFAULT_FINGER_POSITIONS[2])
        self._remember_fingers = remember_fingers
        self.saved_notice: QMessageBox | None = None
        self.face_panel = FacePanel(camera.factory, monitor=camera)
        self.face_panel.captured.connect(self._face_captured)
        self.face_panel.dropped.connect(self._face_dropped)
        self.face_unable_button = QPushButton(self.tr("&No photo possible"))
        self.face_unable_button.setObjectName("faceUnableButton")
        self.face_unable_button.clicked.connect(self.ask_face_exception)
        self.face_panel.add_button(self.face_unable_button)
        self._build()
        self._update_actions()

    # --- layout ---------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(self._identity_box())
        self.pages = QTabWidget(self)
        self.pages.addTab(self._finger_page(), self.tr("Fin&gerprints"))
        self.pages.addTab(self.face_panel, self.tr("&Face"))
        layout.addWidget(self.pages, 1)
        self.message = QLabel(self)
        self.message.setObjectName("enrollMessage")
        self.message.setWordWrap(True)
        self.save_button = QPushButton(self.tr("&Save"), self)
        self.save_button.setObjectName("primaryButton")
        self.cancel_button = QPushButton(self.tr("&Cancel"), self)
        self.save_button.clicked.connect(self.save)
        self.cancel_button.clicked.connect(self.request_cancel)
        bottom = QHBoxLayout()
        bottom.addWidget(self.message, 1)
        bottom.addWidget(self.save_button)
        bottom.addWidget(self.cancel_button)
        layout.addLayout(bottom)
        for button in self.findChildren(QPushButton):
            button.setAutoDefault(False)  # Enter means "next step" (keyPressEvent), not a button
        self._tab_order()
        self.resize(900, 640)

    def _tab_order(self) -> None:
        """The order of the work: the fingers' choices, the two captures, stop, the tabs,
        the face panel's buttons, 保存, 取消."""
        chain: list[QWidget] = [
            self.slots[1].finger,
            self.slots[2].finger,
            self.first_button,
            self.second_button,
            self.stop_button,
            self.slots[1].unable_button,
            self.slots[2].unable_button,
            self.pages.tabBar(),
            self.face_panel.start_button,
            self.face_panel.shoot_button,
            self.face_panel.retake_button,
            self.face_unable_button,
            self.face_panel.retry_button,
            self.save_button,
            self.cancel_button,
        ]
        for before, after in itertools.pairwise(chain):
            QWidget.setTabOrder(before, after)

    def _identity_box(self) -> QWidget:
        box = QFrame(self)
        box.setObjectName("enrollIdentity")
        form = QFormLayout(box)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        row = QHBoxLayout()
        for caption_text, value in (
            (field_caption("name"), self.borderer.name),
            (field_caption("id_number_masked"), self.borderer.id_number_masked),
            (field_caption("customs_code"), self.borderer.customs_code),
        ):
            caption = QLabel(caption_text + "：", box)
            shown = QLabel(value, box)
            shown.setObjectName("identityValue")
            shown.setStyleSheet("font-weight: bold;")
            row.addWidget(caption)
            row.addWidget(shown)
            row.addSpacing(24)
        row.addStretch(1)
        form.addRow(row)
        return box

    def _finger_page(self) -> QWidget:
        page = QWidget(self)
        self.slots = {
            1: FingerSlot(
                self.tr("Finger 1"), self._positions[0], self.tr("Finger 1 &unavailable"), page
            ),
            2: FingerSlot(
                self.tr("Finger 2"), self._positions[1], self.tr("Finger 2 una&vailable"), page
            ),
        }
        for number, slot in self.slots.items():
            slot.finger.activated.connect(lambda _i, n=number: self._finger_chosen(n))
            slot.unable_button.clicked.connect(lambda _c=False, n=number: self.ask_exception(n))
        slots = QHBoxLayout()
        for slot in self.slots.values():
            slots.addWidget(slot)
            slots.addSpacing(24)
        slots.addStretch(1)
        self.prompt = QLabel(page)
        self.prompt.setObjectName("fingerPrompt")
        self.prompt.setStyleSheet("font-size: 18px;")
        self.reason = QLabel(page)  # why the last press was refused; stays until one is taken
        self.reason.setObjectName("fingerRetryReason")
        self.reason.setStyleSheet(f"color: {RED}; font-weight: bold;")
        self.presses = QLabel(page)
        self.presses.setObjectName("fingerPresses")
        self.exceptions_label = QLabel(page)  # every 无法采集 / 无法拍照 recorded so far
        self.exceptions_label.setObjectName("exceptionsList")
        self.exceptions_label.setWordWrap(True)
        self.exceptions_label.setStyleSheet(f"color: {GREY}; font-weight: bold;")
        self.first_button = QPushButton(page)
        self.first_button.setObjectName("firstFingerButton")
        self.second_button = QPushButton(page)
        self.second_button.setObjectName("secondFingerButton")
        self.stop_button = QPushButton(self.tr("S&top capture"), page)
        self.first_button.clicked.connect(lambda: self.start_finger(1))
        self.second_button.clicked.connect(lambda: self.start_finger(2))
        self.stop_button.clicked.connect(self.stop_capture)
        buttons = QHBoxLayout()  # the manual: bottom left, under the pictures
        buttons.addWidget(self.first_button)
        buttons.addWidget(self.second_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(page)
        layout.addLayout(slots)
        layout.addWidget(self.prompt)
        layout.addWidget(self.reason)
        layout.addWidget(self.presses)
        layout.addWidget(self.exceptions_label)
        layout.addStretch(1)
        layout.addLayout(buttons)
        return page

    @property
    def finger_positions(self) -> tuple[FingerPosition, FingerPosition]:
        """The fingers chosen for 指纹1 and 指纹2 (always two different ones)."""
        return self.slots[1].position, self.slots[2].position

    def _finger_chosen(self, number: int) -> None:
        """A finger was chosen for one slot; the same finger in the other slot swaps with the
        slot's previous choice, so the two always differ. Remembered for the next 补录."""
        other = 2 if number == 1 else 1
        chosen, previous = self.slots[number].position, self._positions[number - 1]
        if self.slots[other].position == chosen:
            self.slots[other].set_position(previous)
        self._positions = self.finger_positions
        if self._remember_fingers is not None:
            self._remember_fingers(*self._positions)
        self._update_actions()

    # --- fingers --------------------------------------------------------------------------

    @property
    def capturing(self) -> bool:
        return self._capture is not None

    def start_finger(self, finger_no: int) -> None:
        """第一/第二指纹录入. Redoing finger 1 also clears finger 2 (it was checked against
        the old finger 1)."""
        if self.capturing or self._saving or (finger_no == 2 and not self.slot_done(1)):
            return
        self.fingers.pop(finger_no, None)
        if finger_no == 1 and self.fingers.pop(2, None) is not None:
            self.slots[2].show_capture(None)
        self.slots[finger_no].show_capture(None)
        self.slots[finger_no].set_state(AMBER)
        self._capturing_finger = finger_no
        poster = gui_poster()
        other = self.fingers[1].template if finger_no == 2 and 1 in self.fingers else None
        self._capture = start_finger_capture(
            self._scanner.worker,
            finger_no,
            poster.wrap(self._finger_event),
            other_template=other,
            finger_timeout=self._finger_timeout,
        )
        handle = self._capture
        handle.future.add_done_callback(poster.wrap(lambda f: self._finger_done(handle, f)))
        self._set_prompt(self._first_prompt(finger_no))
        self.reason.clear()
        self.presses.setText(self._press_dots(0))
        self._update_actions()

    def _first_prompt(self, finger_no: int) -> str:
        """请按右手食指三次 / 请换左手食指再按三次: the manual's prompts, naming the finger."""
        finger = label(self.slots[finger_no].position)
        if finger_no == 1:
            return self.tr("Press the %1 three times").replace("%1", finger)
        return self.tr("Change to the %1 and press three times").replace("%1", finger)

    def _press_dots(self, done: int, total: int = 3) -> str:
        return "  ".join("●" if i < done else "○" for i in range(total))

    def _finger_event(self, event: FingerEvent) -> None:
        if event.finger_no != self._capturing_finger:
            return
        if event.kind is EventKind.PRESS:
            base = self._first_prompt(event.finger_no)
            if self._same_finger_refused:  # until a press is taken: the manual's words
                base = self.tr("Change to another finger and press three times")
            text = self.tr("%1 (press %2 of %3)").replace("%1", base)
            self._set_prompt(text.replace("%2", str(event.press)).replace("%3", str(event.total)))
            self.presses.setText(self._press_dots(event.press - 1, event.total))
        elif event.kind is EventKind.ACCEPTED:
            self._same_finger_refused = False
            self.reason.clear()
            self.presses.setText(self._press_dots(event.press, event.total))
        elif event.kind is EventKind.LIFT:
            self._set_prompt(self.tr("Lift the finger"))
        elif event.kind in (EventKind.RETRY, EventKind.RESTART):
            self.reason.setText(event.reason)
            if SAME_FINGER_MARK in event.reason:  # finger 1 offered again: the manual's words
                self._same_finger_refused = True
                self._set_prompt(self.tr("Change to another finger and press three times"))
            if event.kind is EventKind.RESTART:
                self.presses.setText(self._press_dots(0, event.total))
        elif event.kind is EventKind.UPLOADING:
            self._set_prompt(self.tr("Reading the fingerprint from the scanner…"))

    def _finger_done(self, handle: FingerCaptureHandle, future: Future[FingerCapture]) -> None:
        if handle is not self._capture:
            return  # a capture this dialog already gave up on
        finger_no, self._capture, self._capturing_finger = self._capturing_finger, None, 0
        if future.cancelled():
            self._finger_failed(finger_no, self.tr("Capture stopped"))
        elif (exc := future.exception()) is not None:
            if isinstance(exc, DeskError):
                log.info("finger %d capture ended: %s", finger_no, exc.detail)
                self._finger_failed(finger_no, exc.user_message)
            else:
                log.error("finger %d capture failed", finger_no, exc_info=exc)
                self._finger_failed(finger_no, self.tr("Fingerprint capture failed"))
        else:
            capture = future.result()
            self.fingers[finger_no] = capture
            self.exceptions.pop(self.slots[finger_no].position, None)  # captured after all
            self.slots[finger_no].show_capture(capture)
            self.presses.setText(self._press_dots(3))
            self.reason.clear()
            self._set_prompt(self.tr("Fingerprint captured successfully"))
        self._update_actions()

    def _finger_failed(self, finger_no: int, reason: str) -> None:
        self.slots[finger_no].set_state(RED)
        self.presses.clear()
        self._set_prompt(reason, error=True)

    def stop_capture(self) -> None:
        if self._capture is not None:
            self._capture.cancel()

    # --- face ---------------------------------------------------------------------------

    def _face_captured(self, capture: FaceCapture) -> None:
        self.face = capture
        self.exceptions.pop(None, None)  # photographed after all
        self.face_panel.declined = ""
        self._update_actions()

    def _face_dropped(self) -> None:
        """重拍: the photo the officer rejected is not saved (保存 waits for the new one)."""
        self.face = None
        self._update_actions()

    # --- 无法采集 / 无法拍照 ----------------------------------------------------------------

    def slot_done(self, number: int) -> bool:
        """指纹1/2 is done: its finger captured, or recorded as impossible."""
        return number in self.fingers or self.slots[number].position in self.exceptions

    def ask_exception(self, number: int) -> None:
        """无法采集 of a slot's finger: the officer picks and confirms a reason. The slot then
        counts as done; choosing another finger for it asks for that finger instead (the
        entry for the first one stays recorded)."""
        if self.capturing or self._saving or number in self.fingers:
            return
        self._open_exception_dialog(self.slots[number].position)

    def ask_face_exception(self) -> None:
        """无法拍照: the officer picks and confirms a reason; the camera is switched off."""
        if self.capturing or self._saving or self.face is not None:
            return
        self._open_exception_dialog(None)

    def _open_exception_dialog(self, position: FingerPosition | None) -> None:
        dialog = ExceptionDialog(position, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.chosen.connect(self._exception_recorded)
        dialog.destroyed.connect(lambda _o=None: setattr(self, "exception_dialog", None))
        self.exception_dialog = dialog
        dialog.open()  # not exec(): no nested event loop while the workers report

    def _exception_recorded(self, exception: BioException) -> None:
        self.exceptions[exception.position] = exception
        text = exception_text(exception)
        log.info(
            "biometric exception recorded: %s %s",
            "face" if exception.position is None else int(exception.position),
            exception.reason.value,
        )
        if exception.position is None:
            self.face_panel.set_declined(text)
        self._set_prompt(text)
        self._update_actions()

    def outcome_problem(self) -> str | None:
        """Why the captures and entries so far cannot be saved (English, for the log), or
        None: at least one biometric captured, or every one recorded as impossible."""
        positions = {self.slots[n].position for n in self.fingers}
        exceptions = tuple(self.exceptions.values())
        return exceptions_problem(positions, self.face is not None, exceptions)

    def _show_slots(self) -> None:
        """Each idle slot's lamp: green captured, grey 无法采集 recorded, red to do."""
        for number, slot in self.slots.items():
            if number == self._capturing_finger or number in self.fingers:
                continue
            exception = self.exceptions.get(slot.position)
            if exception is not None:
                slot.show_exception(exception_text(exception))
            elif slot.colour == GREY or slot.image.text():
                slot.image.clear()
                slot.set_state(RED)
        listed = sorted(
            self.exceptions.values(), key=lambda x: (x.position is None, int(x.position or 0))
        )
        self.exceptions_label.setText("\n".join(exception_text(x) for x in listed))

    # --- save / cancel ------------------------------------------------------------------------

    def _update_actions(self) -> None:
        idle = not self.capturing and not self._saving
        slots_done = self.slot_done(1) and self.slot_done(2)
        self.first_button.setEnabled(idle)
        self.second_button.setEnabled(idle and self.slot_done(1))
        self.stop_button.setEnabled(self.capturing)
        self.save_button.setEnabled(idle and slots_done and self.outcome_problem() is None)
        self.face_unable_button.setEnabled(idle and self.face is None)
        for number, slot in self.slots.items():  # a captured finger keeps its name
            slot.finger.setEnabled(idle and number not in self.fingers)
            slot.unable_button.setEnabled(idle and number not in self.fingers)
        self._show_slots()
        # 第一指纹录入(&1) / 重新录入第一指纹(&1): Alt+1 and Alt+2 whatever the language
        first = self.tr("Re-enrol finger &1") if 1 in self.fingers else self.tr("Enrol finger &1")
        second = self.tr("Re-enrol finger &2") if 2 in self.fingers else self.tr("Enrol finger &2")
        self.first_button.setText(first)
        self.second_button.setText(second)

    def next_step(self) -> None:
        """Enter: the next step of the manual's order that is not done yet."""
        if self.capturing or self._saving:
            return
        face_done = self.face is not None or None in self.exceptions
        if not self.slot_done(1):
            self.start_finger(1)
        elif not self.slot_done(2):
            self.start_finger(2)
        elif not face_done and self.pages.currentWidget() is not self.face_panel:
            self.pages.setCurrentWidget(self.face_panel)
            self.face_panel.setFocus()
        elif face_done:
            self.save()

    def has_captured_data(self) -> bool:
        return bool(self.fingers or self.exceptions) or self.face is not None or self.capturing

    def draft(self) -> EnrollmentDraft:
        status = self._scanner.status()
        return EnrollmentDraft(
            uuid=str(uuid.uuid4()),
            borderer_id=self.borderer.id,
            officer=self.officer,
            desk_id=self.desk_id,
            captured_at=dt.datetime.now(dt.UTC),
            fingers=tuple(  # each capture carries the finger its slot names (ISO code)
                dataclasses.replace(self.fingers[n], position=self.slots[n].position)
                for n in (1, 2)
                if n in self.fingers
            ),
            face=self.face,
            exceptions=tuple(
                sorted(
                    self.exceptions.values(),
                    key=lambda x: (x.position is None, int(x.position or 0)),
                )
            ),
            scanner_model=status.model,
            scanner_serial=status.serial,
            camera_name=self.face_panel.camera_name if self.face else "",
        )

    def save(self) -> None:
        """保存: one transaction on a pool thread; 保存成功 closes the dialog."""
        if not self.save_button.isEnabled():
            return
        if not self.fingers and self.face is None and not self.confirm_nothing_captured():
            return
        draft = self.draft()
        self._saving = True
        self._update_actions()
        self._set_prompt(self.tr("Saving…"))
        run_in_background(
            lambda: self._save(draft), lambda _: self._saved(draft), self._save_failed
        )

    def _saved(self, draft: EnrollmentDraft) -> None:
        """保存成功: close the dialog (back to the query tab) and say so over the window."""
        self._saving = False
        log.info("enrollment %s saved for record %d", draft.uuid, draft.borderer_id)
        self._close_devices()
        self.accept()
        notice = QMessageBox(
            QMessageBox.Icon.Information,
            self.windowTitle(),
            self.tr("Saved successfully"),
            QMessageBox.StandardButton.Ok,
            self.parentWidget(),
        )
        notice.setObjectName("savedNotice")
        notice.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.saved_notice = notice  # owned by the window; without one, this keeps it alive
        notice.open()  # not exec(): no nested event loop while the workers report
        self.saved.emit(draft.uuid)

    def _save_failed(self, exc: BaseException) -> None:
        self._saving = False
        self._update_actions()
        if isinstance(exc, DeskError):
            log.error("saving the enrollment failed: %s", exc.detail)
            self._set_prompt(exc.user_message, error=True)
        else:
            log.error("saving the enrollment failed", exc_info=exc)
            self._set_prompt(self.tr("Saving failed; the captured data is still here"), error=True)

    def request_cancel(self) -> None:
        """取消, Esc or the window's close button: ask before discarding captured data."""
        if self._saving:
            return
        if self.has_captured_data() and not self.confirm_discard():
            return
        self.reject()

    def reject(self) -> None:
        """Close and discard without asking (the session ending, the application quitting);
        people go through ``request_cancel``."""
        self._close_devices()
        super().reject()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Esc: 取消 (asks first); Enter: the next step (the face panel takes its own Enter
        while the camera is to be started or the photo taken)."""
        if event.key() == Qt.Key.Key_Escape:
            event.accept()
            self.request_cancel()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            focus = self.focusWidget()
            if isinstance(focus, QComboBox) and focus.view().isVisible():
                super().keyPressEvent(event)  # choosing in an open list
                return
            event.accept()
            self.next_step()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.isVisible() and self.result() != QDialog.DialogCode.Accepted:
            event.ignore()
            self.request_cancel()
            return
        super().closeEvent(event)

    def confirm_nothing_captured(self) -> bool:
        """保存 with every biometric recorded as impossible: the officer confirms once more."""
        answer = QMessageBox.question(
            self,
            self.windowTitle(),
            self.tr(
                "No fingerprint and no photo were captured; every one is recorded as impossible"
                " with its reason. Save the entry?"
            ),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def confirm_discard(self) -> bool:
        answer = QMessageBox.question(
            self,
            self.windowTitle(),
            self.tr("The captured fingerprints and photo will be discarded. Cancel the entry?"),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _close_devices(self) -> None:
        self.stop_capture()
        self.face_panel.shutdown()

    def _set_prompt(self, text: str, *, error: bool = False) -> None:
        self.prompt.setText(text)
        self.prompt.setStyleSheet(f"font-size: 18px; color: {RED if error else '#303133'};")
        self.message.setText(text if error else "")
        self.message.setStyleSheet(f"color: {RED};" if error else "")
