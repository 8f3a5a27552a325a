"""The face quality gate and the ID-photo crop on real photos (scikit-image's bundled NASA
portrait of astronaut Eileen Collins) and non-faces (other bundled photos, a blank frame)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from bts_desk.capture.face import (
    PORTRAIT_ASPECT,
    Box,
    FaceGate,
    Hint,
    SteadyHint,
    guide_frame,
    make_face_capture,
    portrait_box,
)
from bts_desk.drivers.camera_standin import compose_frame, load_demo_face
from bts_desk.errors import CaptureError

ASTRONAUT_FACE = (177, 66, 95, 95)  # Haar box of the face in data.astronaut()
GREY_WALL = np.full((480, 640, 3), 150, np.uint8)


@pytest.fixture(scope="module")
def gate() -> FaceGate:
    return FaceGate()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def portrait(astronaut: np.ndarray, face_width: float = 180, cx: float = 320, cy: float = 200):
    """A 640×480 webcam-like frame of the astronaut with her face at (cx, cy)."""
    return compose_frame(astronaut, ASTRONAUT_FACE, face_width, (cx, cy), GREY_WALL)


def test_well_placed_face_passes(gate: FaceGate, astronaut: np.ndarray) -> None:
    verdict = gate.check(portrait(astronaut))
    assert verdict.hint is Hint.OK, verdict
    assert verdict.ok and verdict.hint_zh == "可以拍照"
    assert verdict.face is not None and verdict.guide.contains(verdict.face)
    assert verdict.eye_tilt_deg is not None and abs(verdict.eye_tilt_deg) < 8
    assert 0.45 < verdict.face_to_guide < 0.8


def test_shipped_demo_face_passes(gate: FaceGate) -> None:
    face, box = load_demo_face()
    assert gate.check(compose_frame(face, box, 180, (320, 200), GREY_WALL)).ok


@pytest.mark.parametrize("name", ["coffee", "rocket", "chelsea", "camera", "immunohistochemistry"])
def test_bundled_non_portraits_have_no_face(gate: FaceGate, name: str) -> None:
    # camera() is a man with a camera in profile-ish pose: Haar finds no frontal face in it.
    image = getattr(data, name)()
    code = cv2.COLOR_GRAY2BGR if image.ndim == 2 else cv2.COLOR_RGB2BGR
    frame = cv2.resize(cv2.cvtColor(image, code), (640, 480))
    verdict = gate.check(frame)
    assert verdict.hint is Hint.NO_FACE
    assert verdict.hint_zh == "未检测到人脸" and not verdict.ok


def test_blank_frame_has_no_face(gate: FaceGate) -> None:
    assert gate.check(GREY_WALL.copy()).hint is Hint.NO_FACE


def test_two_faces_side_by_side(gate: FaceGate, astronaut: np.ndarray) -> None:
    half = np.full((480, 320, 3), 150, np.uint8)
    one = compose_frame(astronaut, ASTRONAUT_FACE, 140, (160, 200), half)
    verdict = gate.check(np.hstack([one, one]))
    assert verdict.hint is Hint.MULTIPLE_FACES and verdict.faces == 2
    assert verdict.hint_zh == "检测到多张人脸"


def test_small_face_asks_to_come_closer(gate: FaceGate, astronaut: np.ndarray) -> None:
    verdict = gate.check(portrait(astronaut, face_width=100, cy=215))
    assert verdict.hint is Hint.TOO_SMALL, verdict
    assert verdict.hint_zh == "请靠近一些"


def test_face_filling_the_frame_asks_to_move_back(gate: FaceGate, astronaut: np.ndarray) -> None:
    assert gate.check(portrait(astronaut, face_width=310)).hint is Hint.TOO_CLOSE


@pytest.mark.parametrize("cx", [120, 520])
def test_face_beside_the_guide(gate: FaceGate, astronaut: np.ndarray, cx: int) -> None:
    verdict = gate.check(portrait(astronaut, cx=cx))
    assert verdict.hint is Hint.OUT_OF_FRAME, verdict
    assert verdict.hint_zh == "请将脸部置于框内"


def test_dark_face_and_black_frame(gate: FaceGate, astronaut: np.ndarray) -> None:
    frame = portrait(astronaut)
    dim = gate.check((frame * 0.35).astype(np.uint8))
    assert dim.hint is Hint.TOO_DARK and dim.face is not None  # face found, but too dark
    black = gate.check((frame * 0.12).astype(np.uint8))
    assert black.hint is Hint.TOO_DARK and black.hint_zh == "光线太暗"


def test_overexposed(gate: FaceGate, astronaut: np.ndarray) -> None:
    frame = portrait(astronaut).astype(np.int16)
    verdict = gate.check(np.clip(frame + 120, 0, 255).astype(np.uint8))
    assert verdict.hint is Hint.TOO_BRIGHT and verdict.hint_zh == "光线过亮"


def test_blurred(gate: FaceGate, astronaut: np.ndarray) -> None:
    sharp = gate.check(portrait(astronaut))
    blurred = gate.check(cv2.GaussianBlur(portrait(astronaut), (0, 0), 3.5))
    assert blurred.hint is Hint.BLURRED and blurred.hint_zh == "画面模糊"
    assert blurred.sharpness < gate.config.min_sharpness < sharp.sharpness


def test_tilted_head_is_not_frontal(gate: FaceGate, astronaut: np.ndarray) -> None:
    frame = portrait(astronaut)
    turn = cv2.getRotationMatrix2D((320, 200), 20, 1.0)
    tilted = cv2.warpAffine(frame, turn, (640, 480), borderValue=(150, 150, 150))
    verdict = gate.check(tilted)
    assert verdict.hint in (Hint.NOT_FRONTAL, Hint.NO_FACE), verdict
    slight = cv2.warpAffine(frame, cv2.getRotationMatrix2D((320, 200), 6, 1.0), (640, 480))
    assert gate.check(slight).ok


def test_guide_frame_is_a_centred_portrait() -> None:
    guide = guide_frame(640, 480)
    assert guide.w / guide.h == pytest.approx(PORTRAIT_ASPECT, abs=0.01)
    assert guide.cx == pytest.approx(320, abs=1) and guide.cy == pytest.approx(240, abs=1)


def test_portrait_box_proportions_and_head_position() -> None:
    face = Box(250, 120, 140, 140)
    box = portrait_box(face)
    assert box.w / box.h == pytest.approx(PORTRAIT_ASPECT, abs=0.01)
    assert box.cx == pytest.approx(face.cx, abs=1)  # head centred
    assert box.y < face.y - 0.4 * face.h  # a margin above the head (hair/crown)
    assert box.y + box.h > face.y + face.h  # chin and neck inside


def test_face_capture_jpeg_and_figures(gate: FaceGate, astronaut: np.ndarray) -> None:
    frame = portrait(astronaut)
    verdict = gate.check(frame)
    capture = make_face_capture(frame, verdict)
    photo = cv2.imdecode(np.frombuffer(capture.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert photo.shape[1] / photo.shape[0] == pytest.approx(PORTRAIT_ASPECT, abs=0.01)
    assert capture.quality["sharpness"] == pytest.approx(verdict.sharpness, abs=0.1)
    assert {"brightness", "face_to_guide", "eye_tilt_deg"} <= set(capture.quality)
    again = gate.check(cv2.resize(photo, (360, 480)))  # the crop is still one clear face
    assert again.faces == 1 and again.face is not None
    assert again.face.w / photo.shape[1] == pytest.approx(1 / 1.5, abs=0.1)  # crop = 1.5 face


def test_face_capture_refuses_a_failing_frame(gate: FaceGate) -> None:
    verdict = gate.check(GREY_WALL.copy())
    with pytest.raises(CaptureError) as info:
        make_face_capture(GREY_WALL, verdict)
    assert "未检测到人脸" in info.value.user_message


def test_steady_hint_needs_a_few_frames_in_a_row() -> None:
    steady = SteadyHint(frames=3)
    assert steady.update(Hint.NO_FACE) is Hint.NO_FACE  # the first hint shows at once
    flicker = [Hint.OK, Hint.NO_FACE, Hint.OK, Hint.OK, Hint.TOO_SMALL, Hint.OK]
    assert [steady.update(h) for h in flicker] == [Hint.NO_FACE] * 6
    steady.update(Hint.NO_FACE)
    assert [steady.update(Hint.OK) for _ in range(3)] == [Hint.NO_FACE, Hint.NO_FACE, Hint.OK]
    assert steady.update(Hint.BLURRED) is Hint.OK
    steady.reset()
    assert steady.update(Hint.BLURRED) is Hint.BLURRED
