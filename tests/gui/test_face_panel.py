"""The 人脸 panel in pytest-qt, on real OpenCV video-file sources (made here with VideoWriter)."""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from bts_desk.capture.face import PORTRAIT_ASPECT
from bts_desk.domain import FaceCapture
from bts_desk.drivers.camera_standin import compose_frame, load_demo_face, room_scene
from bts_desk.drivers.opencv_camera import OpenCvCamera
from bts_desk.errors import CameraError
from bts_desk.ui import face_panel
from bts_desk.ui.face_panel import GREEN, GREY, FacePanel

LEFT = Qt.MouseButton.LeftButton


def write_video(path: Path, frames: list[np.ndarray], fps: float = 25.0) -> str:
    size = (frames[0].shape[1], frames[0].shape[0])
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, size)
    for frame in frames:
        writer.write(frame)
    writer.release()
    return str(path)


@pytest.fixture(scope="module")
def portrait_video(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 1280×720 webcam stand-in: the demo's person well placed in the guide frame in front of
    the backdrop, swaying a little."""
    face, eyes = load_demo_face()
    room = room_scene()
    frames = [compose_frame(face, eyes, 100 + i % 3, (638 + i % 5, 300), room) for i in range(20)]
    return write_video(tmp_path_factory.mktemp("cam") / "portrait.avi", frames)


@pytest.fixture(scope="module")
def empty_video(tmp_path_factory: pytest.TempPathFactory) -> str:
    frames = [np.full((480, 640, 3), 120 + i, np.uint8) for i in range(10)]
    return write_video(tmp_path_factory.mktemp("cam") / "empty.avi", frames)


def make_panel(qtbot: QtBot, source: str, *, loop: bool = True) -> FacePanel:
    panel = FacePanel(lambda: OpenCvCamera(source, loop=loop))
    qtbot.addWidget(panel)
    panel.resize(900, 560)
    panel.show()
    return panel


def test_start_take_photo_and_retake(qtbot: QtBot, portrait_video: str) -> None:
    panel = make_panel(qtbot, portrait_video)
    assert panel.start_button.isEnabled()
    assert not panel.shoot_button.isEnabled() and not panel.retake_button.isEnabled()

    qtbot.mouseClick(panel.start_button, LEFT)
    assert not panel.start_button.isEnabled()
    qtbot.waitUntil(panel.shoot_button.isEnabled, timeout=10000)  # the gate passes
    assert panel.preview.frame_colour() == GREEN
    assert panel.preview.banner == "Ready: take the photo"

    with qtbot.waitSignal(panel.captured, timeout=5000) as signal:
        qtbot.mouseClick(panel.shoot_button, LEFT)
    capture = signal.args[0]
    assert isinstance(capture, FaceCapture) and capture is panel.capture
    photo = cv2.imdecode(np.frombuffer(capture.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert photo.shape[1] / photo.shape[0] == pytest.approx(PORTRAIT_ASPECT, abs=0.01)
    assert capture.quality["sharpness"] > 0
    assert panel.camera_name == "OpenCV file portrait.avi"
    # 拍照 greys out, the preview freezes on the photo and the camera is released.
    assert not panel.shoot_button.isEnabled() and panel.retake_button.isEnabled()
    assert panel.preview.frozen and not panel.photo.pixmap().isNull()
    frozen = panel.preview.image
    qtbot.wait(200)
    assert panel.preview.image is frozen and not panel.shoot_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.worker.is_capturing, timeout=5000)

    qtbot.mouseClick(panel.retake_button, LEFT)  # 重拍
    assert panel.capture is None and not panel.preview.frozen
    qtbot.waitUntil(panel.shoot_button.isEnabled, timeout=10000)
    panel.shutdown()


def test_no_face_keeps_take_photo_disabled(qtbot: QtBot, empty_video: str) -> None:
    panel = make_panel(qtbot, empty_video)
    panel.start()
    qtbot.waitUntil(lambda: panel.preview.banner == "No face detected", timeout=10000)
    qtbot.wait(300)
    assert not panel.shoot_button.isEnabled()
    assert panel.preview.frame_colour() == GREY
    panel.take_photo()  # even if called, nothing is captured
    assert panel.capture is None
    panel.shutdown()


def test_take_photo_pressed_between_passing_frames_takes_the_next(
    qtbot: QtBot, portrait_video: str
) -> None:
    """The button follows the gate one poll late: a press that finds the last passing frame
    stale is kept and served by the next passing frame, not silently dropped."""
    panel = make_panel(qtbot, portrait_video)
    panel.start()
    assert panel._fresh_pass() is None  # nothing has passed yet: the press must wait
    with qtbot.waitSignal(panel.captured, timeout=10000):
        panel.take_photo()
        assert not panel.shoot_button.isEnabled()
    assert panel.capture is not None and panel.error_label.text() == ""


def test_take_photo_without_a_passing_frame_says_why(qtbot: QtBot, empty_video: str) -> None:
    panel = make_panel(qtbot, empty_video)
    panel.start()
    qtbot.waitUntil(lambda: panel.preview.image is not None, timeout=5000)
    panel.take_photo()
    qtbot.waitUntil(lambda: panel.error_label.text() != "", timeout=5000)
    assert panel.error_label.text() == (
        "No photo taken: follow the hint in the picture, then take the photo"
    )
    assert panel.capture is None and not panel.shoot_button.isEnabled()


def test_source_ending_shows_error_and_retry(qtbot: QtBot, empty_video: str) -> None:
    panel = make_panel(qtbot, empty_video, loop=False)
    panel.start()
    qtbot.waitUntil(lambda: panel.error_label.text() == "视频源已结束", timeout=10000)
    assert panel.retry_button.isVisible() and panel.start_button.isEnabled()
    assert not panel.shoot_button.isEnabled()
    assert panel.preview.image is None and panel.preview.banner == "视频源已结束"
    qtbot.mouseClick(panel.retry_button, LEFT)  # 重试: runs again, ends again
    assert panel.error_label.text() == "" and not panel.retry_button.isVisible()
    qtbot.waitUntil(lambda: panel.error_label.text() == "视频源已结束", timeout=10000)
    panel.shutdown()


def test_missing_camera_is_reported_inline(qtbot: QtBot, tmp_path: Path) -> None:
    panel = make_panel(qtbot, str(tmp_path / "no-such-camera.avi"))
    panel.start()
    qtbot.waitUntil(lambda: "找不到摄像头视频源" in panel.error_label.text(), timeout=10000)
    assert panel.retry_button.isVisible() and panel.start_button.isEnabled()


def test_hiding_the_panel_releases_the_camera(qtbot: QtBot, portrait_video: str) -> None:
    panel = make_panel(qtbot, portrait_video)
    panel.start()
    qtbot.waitUntil(lambda: panel.preview.image is not None, timeout=10000)
    panel.hide()  # the officer switched to the 指纹 tab
    qtbot.waitUntil(lambda: not panel.worker.is_capturing, timeout=5000)
    assert panel.start_button.isEnabled() and not panel.shoot_button.isEnabled()


def test_enter_starts_then_takes_the_photo_but_never_retakes(
    qtbot: QtBot, portrait_video: str
) -> None:
    panel = make_panel(qtbot, portrait_video)
    panel.setFocus()
    qtbot.keyClick(panel, Qt.Key.Key_Return)  # 开始拍照
    assert not panel.start_button.isEnabled()
    qtbot.waitUntil(panel.shoot_button.isEnabled, timeout=10000)
    with qtbot.waitSignal(panel.captured, timeout=5000):
        qtbot.keyClick(panel, Qt.Key.Key_Return)  # 拍照
    photo = panel.capture
    qtbot.keyClick(panel, Qt.Key.Key_Return)
    assert panel.capture is photo and panel.preview.frozen
    panel.shutdown()


class HangingCamera:
    """A webcam whose driver hangs in read() after a few frames (cable pulled mid-preview):
    the real OpenCV file camera until then."""

    def __init__(self, source: str, frames: int) -> None:
        self.inner = OpenCvCamera(source, loop=True)
        self.frames = frames
        self.released = threading.Event()
        self.name = "hanging test camera"

    def open(self) -> None:
        self.inner.open()

    def read(self) -> np.ndarray:
        if self.frames == 0:
            self.released.wait(30)  # blocked in the driver
            raise CameraError("摄像头已断开，请检查连接后重试", "read returned after unplug")
        self.frames -= 1
        return self.inner.read()

    def close(self) -> None:
        self.inner.close()


def test_camera_hanging_mid_preview_is_reported(
    qtbot: QtBot, portrait_video: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(face_panel, "STALL_S", 0.5)
    camera = HangingCamera(portrait_video, frames=5)
    panel = FacePanel(lambda: camera)
    qtbot.addWidget(panel)
    panel.show()
    panel.start()
    qtbot.waitUntil(lambda: "摄像头没有画面" in panel.error_label.text(), timeout=10000)
    assert panel.retry_button.isVisible() and not panel.shoot_button.isEnabled()
    assert panel.worker.is_capturing  # the hung read is abandoned, not waited for
    camera.released.set()
    qtbot.waitUntil(lambda: not panel.worker.is_capturing, timeout=5000)
    assert "摄像头没有画面" in panel.error_label.text()  # the late driver error is not shown
