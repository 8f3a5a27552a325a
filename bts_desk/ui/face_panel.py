"""The 人脸 page of 补录 (manual, step 5): live preview, portrait guide frame, 拍照 / 重拍.

【开始拍照】 starts the camera; the preview shows the portrait guide frame, green while the face
quality gate passes (red when a face is there but something is wrong, grey otherwise) and the
live hint; 【拍照】 is enabled only while the gate passes, takes the photo, freezes the preview on
that frame and greys out; 【重拍】 starts again. Camera errors show inline with 【重试】, never as
a blocking dialog.

Threads: the camera and the gate run on the ``CameraWorker``'s capture thread; this widget
polls the worker's newest-frame mailbox with a QTimer on the GUI thread (frames nobody took are
dropped there, so a busy GUI never lags behind), and gets state changes through
``gui_poster().wrap``. Everything here runs on the GUI thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QHideEvent,
    QImage,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from bts_desk.capture.face import (
    Box,
    GateVerdict,
    Hint,
    Image,
    SteadyHint,
    ThreadLocalGate,
    guide_frame,
    make_face_capture,
)
from bts_desk.devices.camera import (
    CameraFactory,
    CameraMonitor,
    CameraState,
    CameraWorker,
    FramePacket,
)
from bts_desk.domain import FaceCapture
from bts_desk.errors import DeskError
from bts_desk.ui.labels import QT_TRANSLATE_NOOP
from bts_desk.ui.tasks import gui_poster

log = logging.getLogger(__name__)

POLL_MS = 30  # ~33 Hz: at least the camera's rate, so the newest frame is shown promptly
STALL_S = 5.0  # no frame for this long while previewing: the camera is reported lost
PASS_HOLD_S = 0.5  # 拍照 stays enabled this long after the last passing frame (no flicker)
SHOT_WAIT_S = 2.0  # a 拍照 pressed between passing frames waits this long for the next one
GREEN, RED, GREY = QColor("#2e9d46"), QColor("#d9363e"), QColor("#9aa3ad")

HINT_TEXT: dict[Hint, str] = {
    Hint.OK: QT_TRANSLATE_NOOP("FacePanel", "Ready: take the photo"),
    Hint.NO_FACE: QT_TRANSLATE_NOOP("FacePanel", "No face detected"),
    Hint.MULTIPLE_FACES: QT_TRANSLATE_NOOP("FacePanel", "More than one face detected"),
    Hint.OUT_OF_FRAME: QT_TRANSLATE_NOOP("FacePanel", "Place the face inside the frame"),
    Hint.TOO_CLOSE: QT_TRANSLATE_NOOP("FacePanel", "Move a little further away"),
    Hint.TOO_SMALL: QT_TRANSLATE_NOOP("FacePanel", "Come a little closer"),
    Hint.TOO_DARK: QT_TRANSLATE_NOOP("FacePanel", "Too dark"),
    Hint.TOO_BRIGHT: QT_TRANSLATE_NOOP("FacePanel", "Too bright"),
    Hint.BLURRED: QT_TRANSLATE_NOOP("FacePanel", "Image blurred: hold still"),
    Hint.NOT_FRONTAL: QT_TRANSLATE_NOOP("FacePanel", "Face the camera"),
    Hint.HEAD_TILTED: QT_TRANSLATE_NOOP("FacePanel", "Hold the head straight, do not tilt it"),
    Hint.HEAD_TURNED: QT_TRANSLATE_NOOP("FacePanel", "Do not turn the head: look at the camera"),
    Hint.EYES_CLOSED: QT_TRANSLATE_NOOP("FacePanel", "Open the eyes"),
    Hint.AT_EDGE: QT_TRANSLATE_NOOP(
        "FacePanel", "The head is too near the edge: move to the middle of the picture"
    ),
    Hint.BACKGROUND: QT_TRANSLATE_NOOP("FacePanel", "Stand in front of a plain, light background"),
}


def to_qimage(image: Image) -> QImage:
    """A QImage copy of a BGR frame (the copy owns its pixels; the array may be reused)."""
    height, width = image.shape[:2]
    data = image.tobytes()
    return QImage(data, width, height, 3 * width, QImage.Format.Format_BGR888).copy()


class PreviewView(QWidget):
    """Paints the frame scaled to fit, the portrait guide frame and the hint banner."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("facePreview")
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.image: QImage | None = None
        self.guide: Box | None = None
        self.hint: Hint | None = None  # the (steady) hint shown: decides the frame colour
        self.banner = ""
        self.frozen = False

    def sizeHint(self) -> QSize:
        return QSize(640, 480)

    def show_frame(self, image: QImage, guide: Box | None, hint: Hint | None, banner: str) -> None:
        self.image, self.guide, self.hint, self.banner = image, guide, hint, banner
        self.update()

    def show_message(self, text: str) -> None:
        """No picture: a dark area with ``text`` (before start, while opening, on errors)."""
        self.image, self.guide, self.hint = None, None, None
        self.banner, self.frozen = text, False
        self.update()

    def frame_colour(self) -> QColor:
        if self.hint is None or self.hint is Hint.NO_FACE:
            return GREY
        return GREEN if self.hint is Hint.OK else RED

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), QColor("#20252b"))
        if self.image is not None:
            target = self._target_rect()
            painter.drawImage(target, self.image)
            if self.guide is not None:
                self._paint_guide(painter, target)
            if self.frozen:
                painter.fillRect(target, QColor(255, 255, 255, 40))
        self._paint_banner(painter)
        painter.end()

    def _target_rect(self) -> QRectF:
        assert self.image is not None
        scale = min(self.width() / self.image.width(), self.height() / self.image.height())
        w, h = self.image.width() * scale, self.image.height() * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def _paint_guide(self, painter: QPainter, target: QRectF) -> None:
        assert self.image is not None and self.guide is not None
        scale = target.width() / self.image.width()
        guide = self.guide
        rect = QRectF(
            target.x() + guide.x * scale,
            target.y() + guide.y * scale,
            guide.w * scale,
            guide.h * scale,
        )
        painter.setPen(QPen(self.frame_colour(), 3))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(rect, 6, 6)
        head = QRectF(0, 0, rect.width() * 0.62, rect.height() * 0.62)  # where the head goes
        head.moveCenter(rect.center())
        head.moveTop(rect.top() + rect.height() * 0.09)
        painter.setPen(QPen(self.frame_colour(), 1.5, Qt.PenStyle.DashLine))
        painter.drawEllipse(head)

    def _paint_banner(self, painter: QPainter) -> None:
        if not self.banner:
            return
        font = QFont(self.font())
        font.setPixelSize(max(16, self.height() // 22))
        font.setBold(True)
        painter.setFont(font)
        height = font.pixelSize() * 2.2
        band = QRectF(0, self.height() - height, self.width(), height)
        if self.image is None:
            band = QRectF(self.rect())
        else:
            painter.fillRect(band, QColor(0, 0, 0, 150))
        painter.setPen(self.frame_colour() if self.image is not None else QColor("#dfe5ec"))
        if self.image is not None and self.frame_colour() == GREY:
            painter.setPen(QColor("white"))
        painter.drawText(band, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.banner)


class FacePanel(QWidget):
    """The 人脸 page. ``camera`` builds the configured camera (on the capture thread);
    ``captured(FaceCapture)`` is emitted when 拍照 succeeds. Call ``shutdown()`` before
    discarding the panel (hiding it also stops the camera)."""

    captured = Signal(object)  # FaceCapture
    dropped = Signal()  # 重拍 threw the photo away: the owner must not keep it either

    def __init__(
        self,
        camera: CameraFactory,
        parent: QWidget | None = None,
        *,
        monitor: CameraMonitor | None = None,
        gate: Callable[[Image], GateVerdict] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("facePanel")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.worker: CameraWorker[GateVerdict] = CameraWorker(
            camera, gate or ThreadLocalGate(), on_state=gui_poster().wrap(self._on_state)
        )
        if monitor is not None:
            monitor.watch(self.worker)
        self.capture: FaceCapture | None = None
        self.declined = ""  # 无法拍照 recorded: why (shown; Enter no longer starts the camera)
        self._live = False
        self._last_pass: FramePacket[GateVerdict] | None = None
        self._last_pass_at = 0.0
        self._shot_wanted_at: float | None = None  # 拍照 pressed, no fresh passing frame yet
        self._steady = SteadyHint()
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._poll)
        self._show_idle()

    def _build(self) -> None:
        self.preview = PreviewView(self)
        self.photo = QLabel(self)
        self.photo.setObjectName("facePhoto")
        self.photo.setFixedSize(180, 240)
        self.photo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.photo.setFrameShape(QFrame.Shape.StyledPanel)
        self.photo_caption = QLabel(self.tr("Photo"), self)
        self.photo_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error_label = QLabel(self)
        self.error_label.setObjectName("faceError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #d9363e; font-weight: bold;")
        self.start_button = QPushButton(self.tr("Start ca&mera"), self)
        self.start_button.setObjectName("primaryButton")
        self.shoot_button = QPushButton(self.tr("Take &photo"), self)
        self.retake_button = QPushButton(self.tr("&Retake"), self)
        self.retry_button = QPushButton(self.tr("Retr&y"), self)
        self.start_button.clicked.connect(self.start)
        self.shoot_button.clicked.connect(self.take_photo)
        self.retake_button.clicked.connect(self.retake)
        self.retry_button.clicked.connect(self.start)
        for button in (self.start_button, self.shoot_button, self.retake_button, self.retry_button):
            button.setAutoDefault(False)  # Enter is keyPressEvent's: start, then take the photo
        side = QVBoxLayout()
        side.addWidget(self.photo_caption)
        side.addWidget(self.photo)
        side.addStretch(1)
        top = QHBoxLayout()
        top.addWidget(self.preview, 1)
        top.addLayout(side)
        buttons = QHBoxLayout()
        self._buttons = buttons
        for button in (self.start_button, self.shoot_button, self.retake_button):
            buttons.addWidget(button)
        buttons.addSpacing(16)
        buttons.addWidget(self.error_label, 1)
        buttons.addWidget(self.retry_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top, 1)
        layout.addLayout(buttons)

    def add_button(self, button: QPushButton) -> None:
        """A button of the page's owner after 重拍 (the 补录 dialog's 无法拍照)."""
        button.setAutoDefault(False)
        self._buttons.insertWidget(3, button)

    def set_declined(self, text: str) -> None:
        """无法拍照 was recorded (``text`` says why; "" clears it): camera off, no photo, the
        reason shown in the preview, and Enter goes on to the dialog's next step instead of
        starting the camera. 开始拍照 stays available: a photo taken after all replaces it."""
        self.declined = text
        if text:
            self.reset()
            self.preview.show_message(text)
        elif not self._live and self.capture is None:
            self._show_idle()

    @property
    def camera_name(self) -> str:
        """The camera that took the photo (``EnrollmentDraft.camera_name``)."""
        return self.worker.camera_name

    # --- actions (buttons) -------------------------------------------------------------

    def start(self) -> None:
        """开始拍照 / 重试: open the camera and preview (after 无法拍照 too: the officer tries
        after all, so Enter takes the photo again)."""
        self.declined = ""
        self.error_label.clear()
        self.retry_button.hide()
        self._last_pass = None
        self._steady.reset()
        self._live = True
        self.preview.frozen = False
        self.preview.show_message(self.tr("Opening the camera…"))
        self._set_buttons(start=False, shoot=False, retake=self.capture is not None)
        self.worker.start()
        self._timer.start()
        self.setFocus()  # Enter now means 拍照 (keyPressEvent)

    def take_photo(self) -> None:
        """拍照: crop the newest passing frame, freeze the preview on it, stop the camera.

        Pressed when the last passing frame has just gone stale (the button follows the gate
        one poll late), the press is kept: the next passing frame within ``SHOT_WAIT_S`` is
        taken, and if none comes the officer is told why nothing was taken."""
        packet = self._fresh_pass()
        if packet is None or packet.analysis is None:
            if self._live and self._shot_wanted_at is None:
                self._shot_wanted_at = time.monotonic()
                self.shoot_button.setEnabled(False)
            return
        self._shot_wanted_at = None
        self.error_label.clear()
        try:
            capture = make_face_capture(packet.image, packet.analysis)
        except DeskError as exc:
            log.warning("face capture failed: %s", exc.detail)
            self._show_error(exc.user_message)
            return
        self._stop_camera()
        self.capture = capture
        self.preview.frozen = True
        self.preview.show_frame(
            to_qimage(packet.image), packet.analysis.guide, Hint.OK, self.tr("Photo taken")
        )
        pixmap = QPixmap()
        pixmap.loadFromData(capture.jpeg, "JPG")
        self.photo.setPixmap(pixmap.scaled(self.photo.size(), Qt.AspectRatioMode.KeepAspectRatio))
        self._set_buttons(start=False, shoot=False, retake=True)
        self.setFocus()  # not on 重拍: a second Enter must not throw the photo away
        log.info("face photo taken: %s", capture.quality)
        self.captured.emit(capture)

    def retake(self) -> None:
        """重拍: drop the photo and preview again."""
        self.capture = None
        self.photo.clear()
        self.dropped.emit()
        self.start()

    def reset(self) -> None:
        """Back to the start (a new person's 补录): camera off, no photo."""
        self._stop_camera()
        self.capture = None
        self.photo.clear()
        self._show_idle()

    def shutdown(self) -> None:
        """Stop the camera (the dialog closes)."""
        self._stop_camera()

    # --- internals ----------------------------------------------------------------------

    def _show_idle(self) -> None:
        self.error_label.clear()
        self.retry_button.hide()
        self.preview.show_message(
            self.tr("Click Start camera, then ask the person to look into the camera")
        )
        self._set_buttons(start=True, shoot=False, retake=False)

    def _set_buttons(self, *, start: bool, shoot: bool, retake: bool) -> None:
        self.start_button.setEnabled(start)
        self.shoot_button.setEnabled(shoot)
        self.retake_button.setEnabled(retake)

    def _stop_camera(self) -> None:
        self._live = False
        self._shot_wanted_at = None
        self._timer.stop()
        self.worker.stop(timeout=0)  # never wait on the GUI thread; the next start waits

    def _fresh_pass(self) -> FramePacket[GateVerdict] | None:
        if self._last_pass is None or time.monotonic() - self._last_pass_at > PASS_HOLD_S:
            return None
        return self._last_pass

    def _poll(self) -> None:
        if self._live and self.worker.check_stalled(STALL_S):
            return  # reported through _on_state
        packet = self.worker.take_latest()
        if packet is not None and self._live:
            self._show_packet(packet)
        if not self._live:
            return
        ready = self._steady.shown is Hint.OK and self._fresh_pass() is not None
        if self._shot_wanted_at is not None:
            self._serve_wanted_shot(ready)
            return
        if ready:
            self.error_label.clear()  # while live it holds only the "no photo taken" note
        self.shoot_button.setEnabled(ready)

    def _serve_wanted_shot(self, ready: bool) -> None:
        """A 拍照 press is waiting: take the first fresh passing frame, or give up with a
        message after ``SHOT_WAIT_S`` (the button comes back with the gate)."""
        assert self._shot_wanted_at is not None
        if ready:
            self.take_photo()
        elif time.monotonic() - self._shot_wanted_at > SHOT_WAIT_S:
            self._shot_wanted_at = None
            log.info("拍照 pressed but no passing frame came within %.1f s", SHOT_WAIT_S)
            self.error_label.setText(
                self.tr("No photo taken: follow the hint in the picture, then take the photo")
            )

    def _show_packet(self, packet: FramePacket[GateVerdict]) -> None:
        verdict = packet.analysis
        image = to_qimage(packet.image)
        if verdict is None:  # no analyser: plain preview
            self.preview.show_frame(image, guide_frame(image.width(), image.height()), None, "")
            return
        if verdict.ok:
            self._last_pass, self._last_pass_at = packet, time.monotonic()
        shown = self._steady.update(verdict.hint)
        self.preview.show_frame(image, verdict.guide, shown, self.tr(HINT_TEXT[shown]))

    def _on_state(self, state: CameraState, error: DeskError | None) -> None:
        if not self._live:
            return
        if state is CameraState.FAILED and error is not None:
            self._stop_camera()
            self._show_error(error.user_message)

    def _show_error(self, message: str) -> None:
        self.error_label.setText(message)
        self.retry_button.show()
        if self.capture is None:
            self.preview.show_message(message)
        self._set_buttons(start=True, shoot=False, retake=self.capture is not None)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Enter (the manual: the officers' key for "go on") starts the camera, or takes the
        photo while the gate passes. It never retakes: a photo is not lost by a stray key."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not self.declined:
            if self.start_button.isEnabled():
                self.start()
                return
            if self.shoot_button.isEnabled():
                self.take_photo()
                return
        super().keyPressEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        if self._live:  # leaving the 人脸 tab or closing the dialog: release the webcam
            self._stop_camera()
            if self.capture is None:
                self._show_idle()
            else:
                self._set_buttons(start=False, shoot=False, retake=True)
        super().hideEvent(event)
