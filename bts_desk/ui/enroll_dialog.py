"""The 补录 dialog (人脸识别信息录入): two fingers, three presses each, then an optional face.

The manual's steps 2–6: 第一指纹录入 ("请按三次指纹" → "指纹采集成功", 指纹1 turns green),
第二指纹录入 ("请换个手指再按三次指纹", a different finger), 人脸 (开始拍照 / 拍照 / 重拍),
保存 ("保存成功"). Device work runs on the scanner and camera workers; the save runs on Qt's
thread pool; this widget only reacts to their callbacks on the GUI thread. Captured data lives
only in this dialog until 保存 (the session lock covers the dialog and keeps it as it is).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import Future

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent, QPixmap
from PySide6.QtWidgets import (
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
from bts_desk.domain import Borderer, EnrollmentDraft, FaceCapture, FingerCapture, Officer
from bts_desk.errors import DeskError
from bts_desk.ui.face_panel import FacePanel
from bts_desk.ui.labels import field_caption
from bts_desk.ui.tasks import gui_poster, run_in_background

log = logging.getLogger(__name__)

SaveFunction = Callable[[EnrollmentDraft], None]  # runs on a pool thread; raises DeskError
RED, GREEN, AMBER = "#d9363e", "#2e9e44", "#e6a23c"


class FingerSlot(QFrame):
    """指纹1 / 指纹2: the captured image (once there) and the red/green indicator under it."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.image = QLabel(self)
        self.image.setFixedSize(128, 144)
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setStyleSheet("background: #f4f6f8; border: 1px solid #dcdfe6;")
        self.lamp = QLabel(self)
        self.lamp.setFixedSize(16, 16)
        self.caption = QLabel(title, self)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.lamp)
        row.addWidget(self.caption)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.image, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addLayout(row)
        self.set_state(RED)

    def set_state(self, colour: str) -> None:
        self.lamp.setProperty("colour", colour)
        self.lamp.setStyleSheet(f"background: {colour}; border-radius: 8px;")

    @property
    def colour(self) -> str:
        return str(self.lamp.property("colour"))

    def show_capture(self, capture: FingerCapture | None) -> None:
        if capture is None:
            self.image.clear()
            self.set_state(RED)
            return
        pixmap = QPixmap()
        pixmap.loadFromData(capture.image_png, "PNG")
        self.image.setPixmap(
            pixmap.scaled(
                self.image.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )
        self.set_state(GREEN)


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
        self._capture: FingerCaptureHandle | None = None
        self._capturing_finger = 0
        self._saving = False
        self.saved_notice: QMessageBox | None = None
        self.face_panel = FacePanel(camera.factory, monitor=camera)
        self.face_panel.captured.connect(self._face_captured)
        self._build()
        self._update_actions()

    # --- layout ---------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(self._identity_box())
        self.pages = QTabWidget(self)
        self.pages.addTab(self._finger_page(), self.tr("Fingerprints"))
        self.pages.addTab(self.face_panel, self.tr("Face"))
        layout.addWidget(self.pages, 1)
        self.message = QLabel(self)
        self.message.setObjectName("enrollMessage")
        self.message.setWordWrap(True)
        self.save_button = QPushButton(self.tr("Save"), self)
        self.save_button.setObjectName("primaryButton")
        self.cancel_button = QPushButton(self.tr("Cancel"), self)
        self.save_button.clicked.connect(self.save)
        self.cancel_button.clicked.connect(self.request_cancel)
        bottom = QHBoxLayout()
        bottom.addWidget(self.message, 1)
        bottom.addWidget(self.save_button)
        bottom.addWidget(self.cancel_button)
        layout.addLayout(bottom)
        self.resize(900, 640)

    def _identity_box(self) -> QWidget:
        box = QFrame(self)
        box.setObjectName("enrollIdentity")
        form = QFormLayout(box)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        row = QHBoxLayout()
        for label, value in (
            (field_caption("name"), self.borderer.name),
            (field_caption("id_number_masked"), self.borderer.id_number_masked),
            (field_caption("customs_code"), self.borderer.customs_code),
        ):
            caption = QLabel(label + "：", box)
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
            1: FingerSlot(self.tr("Finger 1"), page),
            2: FingerSlot(self.tr("Finger 2"), page),
        }
        slots = QHBoxLayout()
        slots.addStretch(1)
        for slot in self.slots.values():
            slots.addWidget(slot)
            slots.addSpacing(32)
        slots.addStretch(1)
        self.prompt = QLabel(page)
        self.prompt.setObjectName("fingerPrompt")
        self.prompt.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.prompt.setStyleSheet("font-size: 18px;")
        self.reason = QLabel(page)  # why the last press was refused; stays until one is taken
        self.reason.setObjectName("fingerRetryReason")
        self.reason.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.reason.setStyleSheet(f"color: {RED}; font-weight: bold;")
        self.presses = QLabel(page)
        self.presses.setObjectName("fingerPresses")
        self.presses.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.first_button = QPushButton(self.tr("Enrol first finger"), page)
        self.second_button = QPushButton(self.tr("Enrol second finger"), page)
        self.stop_button = QPushButton(self.tr("Stop capture"), page)
        self.first_button.clicked.connect(lambda: self.start_finger(1))
        self.second_button.clicked.connect(lambda: self.start_finger(2))
        self.stop_button.clicked.connect(self.stop_capture)
        buttons = QHBoxLayout()
        buttons.addWidget(self.first_button)
        buttons.addWidget(self.second_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(page)
        layout.addLayout(slots)
        layout.addWidget(self.prompt)
        layout.addWidget(self.reason)
        layout.addWidget(self.presses)
        layout.addStretch(1)
        layout.addLayout(buttons)
        return page

    # --- fingers --------------------------------------------------------------------------

    @property
    def capturing(self) -> bool:
        return self._capture is not None

    def start_finger(self, finger_no: int) -> None:
        """第一/第二指纹录入. Redoing finger 1 also clears finger 2 (it was checked against
        the old finger 1)."""
        if self.capturing or self._saving or (finger_no == 2 and 1 not in self.fingers):
            return
        self.fingers.pop(finger_no, None)
        if finger_no == 1 and self.fingers.pop(2, None) is not None:
            self.slots[2].show_capture(None)
        self.slots[finger_no].show_capture(None)
        self.slots[finger_no].set_state(AMBER)
        self._capturing_finger = finger_no
        poster = gui_poster()
        other = self.fingers[1].template if finger_no == 2 else None
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
        if finger_no == 1:
            return self.tr("Press the finger three times")
        return self.tr("Change to another finger and press three times")

    def _press_dots(self, done: int, total: int = 3) -> str:
        return "  ".join("●" if i < done else "○" for i in range(total))

    def _finger_event(self, event: FingerEvent) -> None:
        if event.finger_no != self._capturing_finger:
            return
        if event.kind is EventKind.PRESS:
            text = self.tr("%1 (press %2 of %3)").replace("%1", self._first_prompt(event.finger_no))
            self._set_prompt(text.replace("%2", str(event.press)).replace("%3", str(event.total)))
            self.presses.setText(self._press_dots(event.press - 1, event.total))
        elif event.kind is EventKind.ACCEPTED:
            self.reason.clear()
            self.presses.setText(self._press_dots(event.press, event.total))
        elif event.kind is EventKind.LIFT:
            self._set_prompt(self.tr("Lift the finger"))
        elif event.kind in (EventKind.RETRY, EventKind.RESTART):
            self.reason.setText(event.reason)
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
        self._update_actions()

    # --- save / cancel ------------------------------------------------------------------------

    def _update_actions(self) -> None:
        idle = not self.capturing and not self._saving
        self.first_button.setEnabled(idle)
        self.second_button.setEnabled(idle and 1 in self.fingers)
        self.stop_button.setEnabled(self.capturing)
        self.save_button.setEnabled(idle and {1, 2} <= self.fingers.keys())
        for number, button in ((1, self.first_button), (2, self.second_button)):
            base = self.tr("Enrol first finger") if number == 1 else self.tr("Enrol second finger")
            button.setText(
                self.tr("Redo %1").replace("%1", base) if number in self.fingers else base
            )

    def has_captured_data(self) -> bool:
        return bool(self.fingers) or self.face is not None or self.capturing

    def draft(self) -> EnrollmentDraft:
        status = self._scanner.status()
        return EnrollmentDraft(
            uuid=str(uuid.uuid4()),
            borderer_id=self.borderer.id,
            officer=self.officer,
            desk_id=self.desk_id,
            captured_at=dt.datetime.now(dt.UTC),
            fingers=(self.fingers[1], self.fingers[2]),
            face=self.face,
            scanner_model=status.model,
            scanner_serial=status.serial,
            camera_name=self.face_panel.camera_name if self.face else "",
        )

    def save(self) -> None:
        """保存: one transaction on a pool thread; 保存成功 closes the dialog."""
        if not self.save_button.isEnabled():
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
        if event.key() == Qt.Key.Key_Escape:
            event.accept()
            self.request_cancel()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.isVisible() and self.result() != QDialog.DialogCode.Accepted:
            event.ignore()
            self.request_cancel()
            return
        super().closeEvent(event)

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
