"""The face quality gate and the ISO token portrait on real photographs.

Photographs: the evaluation set of ``tests/face_photos.py`` (packages' own photographs, with
sources and licences listed there) and the demo's webcam stand-in (``camera_standin``: the US
Navy portrait of Grace Hopper in front of a light backdrop in a photographed room, 1280×720)."""

from __future__ import annotations

import math
import statistics

import cv2
import numpy as np
import pytest
from face_photos import evaluation_set, original, score, stock_cascade_counter

from bts_desk.capture.face import (
    PORTRAIT_ASPECT,
    FaceGate,
    GateConfig,
    Hint,
    SteadyHint,
    guide_frame,
    make_face_capture,
    yaw_estimate,
)
from bts_desk.capture.face_detect import Box
from bts_desk.capture.portrait import TOKEN_SIZE, token_eyes, token_portrait, token_transform
from bts_desk.drivers.camera_standin import compose_frame, load_demo_face, room_scene
from bts_desk.errors import CaptureError

Point = tuple[float, float]


@pytest.fixture(scope="module")
def gate() -> FaceGate:
    return FaceGate()


@pytest.fixture(scope="module")
def room() -> np.ndarray:
    return room_scene()


def hopper(room: np.ndarray, d: float = 100, mid: Point = (640, 300)) -> np.ndarray:
    """A 1280×720 webcam-like frame: the demo's person, eyes ``d`` px apart at ``mid``."""
    face, eyes = load_demo_face()
    return compose_frame(face, eyes, d, mid, room)


def true_eyes(d: float, mid: Point) -> tuple[Point, Point]:
    """Where ``hopper`` puts the annotated eye centres."""
    _, ((lx, ly), (rx, ry)) = load_demo_face()
    scale = d / math.hypot(rx - lx, ry - ly)
    mx, my = (lx + rx) / 2, (ly + ry) / 2
    return (
        (mid[0] + (lx - mx) * scale, mid[1] + (ly - my) * scale),
        (mid[0] + (rx - mx) * scale, mid[1] + (ry - my) * scale),
    )


# --- the evaluation set -----------------------------------------------------------------


def test_gate_at_least_as_good_as_the_stock_cascade_on_the_evaluation_set(gate: FaceGate) -> None:
    photos = evaluation_set()
    stock = stock_cascade_counter()
    counts, accepted, baseline = {}, {}, {}
    for photo in photos:
        grey = cv2.cvtColor(photo.image, cv2.COLOR_BGR2GRAY)
        counts[photo.name] = len(gate.detect_faces(grey))
        accepted[photo.name] = gate.check(photo.image).ok
        baseline[photo.name] = stock(photo.image)
    ours, theirs = score(counts, accepted), score(baseline)
    assert ours["one_face_recall"] >= theirs["one_face_recall"], (ours, theirs)
    # the whole 1927 group photograph has faces smaller than the gate looks for (tiny_faces):
    # the stock cascade finds several there, the gate none; every other group is several
    no_tiny = "two_face_as_several_no_tiny"
    assert ours[no_tiny] >= theirs[no_tiny], (ours, theirs)
    assert ours[no_tiny] == 1.0, [p.name for p in photos if p.kind == "two"]
    assert ours["non_faces_accepted"] == 0
    assert ours["non_faces_with_a_face"] <= theirs["non_faces_with_a_face"]
    for photo in photos:
        if photo.kind == "two" and not photo.tiny_faces:
            assert gate.check(photo.image).hint is Hint.MULTIPLE_FACES, photo.name


@pytest.mark.parametrize("name", ["coffee", "rocket", "chelsea", "camera", "brick"])
def test_photographs_without_a_frontal_face(gate: FaceGate, name: str) -> None:
    verdict = gate.check(original(name))
    assert verdict.hint is Hint.NO_FACE and verdict.hint_zh == "未检测到人脸"


# --- the hints, each from a photograph that shows it ---------------------------------------


def test_centred_person_in_front_of_the_backdrop_passes(gate: FaceGate, room: np.ndarray) -> None:
    verdict = gate.check(hopper(room))
    assert verdict.hint is Hint.OK, verdict
    assert verdict.hint_zh == "可以拍照"
    assert verdict.eye_distance >= gate.config.min_eye_distance_px
    assert verdict.eye_tilt_deg is not None and abs(verdict.eye_tilt_deg) <= 8
    assert verdict.yaw_deg is not None and abs(verdict.yaw_deg) <= 10


def test_eyes_too_close_together_asks_to_come_closer(gate: FaceGate, room: np.ndarray) -> None:
    verdict = gate.check(hopper(room, d=72))
    assert verdict.hint is Hint.TOO_SMALL and verdict.hint_zh == "请靠近一些", verdict
    lenient = FaceGate(GateConfig(min_eye_distance_px=60, min_face_to_guide=0.25))
    assert lenient.check(hopper(room, d=72)).hint is not Hint.TOO_SMALL  # configurable


def test_tilted_head(gate: FaceGate, room: np.ndarray) -> None:
    turn = cv2.getRotationMatrix2D((640, 300), 12, 1.0)
    tilted = cv2.warpAffine(hopper(room), turn, (1280, 720), borderMode=cv2.BORDER_REFLECT)
    verdict = gate.check(tilted)
    assert verdict.hint is Hint.HEAD_TILTED and verdict.hint_zh == "请摆正头部，不要歪头"
    assert verdict.eye_tilt_deg is not None and abs(verdict.eye_tilt_deg) > 8


@pytest.mark.parametrize("mid", [(640, 215), (640, 225)])
def test_head_near_the_top_edge_asks_to_move(gate: FaceGate, room: np.ndarray, mid: Point) -> None:
    verdict = gate.check(hopper(room, mid=mid))
    assert verdict.hint is Hint.AT_EDGE and verdict.hint_zh == "头部太靠近画面边缘，请移到画面中间"
    assert verdict.placement is not None and not verdict.placement.fits
    with pytest.raises(CaptureError):
        make_face_capture(hopper(room, mid=mid), verdict)


def test_busy_background(gate: FaceGate) -> None:
    busy = cv2.resize(original("stereo_motorcycle"), (1280, 720))
    verdict = gate.check(hopper(busy))
    assert verdict.hint is Hint.BACKGROUND and verdict.hint_zh == "请站在浅色纯色背景前"
    assert verdict.background is not None
    assert verdict.background[1] > gate.config.max_background_std


def test_yaw_estimate_model() -> None:
    face = Box(100, 100, 200, 200)
    assert yaw_estimate(face, ((160, 180), (240, 180))) == pytest.approx(0)
    turned = yaw_estimate(face, ((180, 180), (260, 180)))  # eyes 20 px right of centre
    assert turned == pytest.approx(math.degrees(math.asin(0.2)))


def test_dark_and_overexposed(gate: FaceGate, room: np.ndarray) -> None:
    frame = hopper(room)
    assert gate.check((frame * 0.12).astype(np.uint8)).hint_zh == "光线太暗"
    bright = np.clip(frame.astype(np.int16) + 150, 0, 255).astype(np.uint8)
    assert gate.check(bright).hint is Hint.TOO_BRIGHT


def test_blurred(gate: FaceGate, room: np.ndarray) -> None:
    verdict = gate.check(cv2.GaussianBlur(hopper(room), (0, 0), 6))
    assert verdict.hint in (Hint.BLURRED, Hint.NOT_FRONTAL, Hint.NO_FACE), verdict


@pytest.mark.parametrize("cx", [330, 950])
def test_face_beside_the_guide(gate: FaceGate, room: np.ndarray, cx: int) -> None:
    assert gate.check(hopper(room, mid=(cx, 300))).hint is Hint.OUT_OF_FRAME


# --- the token portrait ---------------------------------------------------------------------


@pytest.mark.parametrize(("d", "mid"), [(100, (640, 300)), (110, (630, 320)), (122, (650, 340))])
def test_portrait_puts_the_eyes_at_the_token_geometry(
    gate: FaceGate, room: np.ndarray, d: float, mid: Point
) -> None:
    frame = hopper(room, d, mid)
    verdict = gate.check(frame)
    assert verdict.ok, verdict
    capture = make_face_capture(frame, verdict)
    photo = cv2.imdecode(np.frombuffer(capture.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert (photo.shape[1], photo.shape[0]) == TOKEN_SIZE
    assert photo.shape[1] / photo.shape[0] == pytest.approx(PORTRAIT_ASPECT)
    # ISO/IEC 19794-5 token: eyes at 0.375 W / 0.625 W, 0.6 W from the top (0.45 H)
    assert capture.eyes == token_eyes(TOKEN_SIZE) == ((135.0, 216.0), (225.0, 216.0))
    # where the annotated (true) eye centres land in the portrait: within a few pixels
    assert verdict.placement is not None
    matrix = verdict.placement.matrix
    for (tx, ty), (ex, ey) in zip(true_eyes(d, mid), capture.eyes, strict=True):
        px, py = matrix @ (tx, ty, 1.0)
        assert math.hypot(px - ex, py - ey) <= 7.0, (px, py, ex, ey)


def test_accepted_portraits_have_no_replicated_edges(gate: FaceGate, room: np.ndarray) -> None:
    accepted = 0
    for d, mid in [(100, (640, 300)), (96, (600, 262)), (104, (680, 330)), (125, (640, 320))]:
        frame = hopper(room, d, mid)
        verdict = gate.check(frame)
        if not verdict.ok:
            continue
        accepted += 1
        assert verdict.eyes is not None and verdict.placement is not None
        assert verdict.placement.fits
        portrait, _ = token_portrait(frame, verdict.eyes)
        for a, b in ((portrait[0], portrait[1]), (portrait[-1], portrait[-2])):
            assert not np.array_equal(a, b)  # no row repeated at the top or bottom edge
        for a, b in ((portrait[:, 0], portrait[:, 1]), (portrait[:, -1], portrait[:, -2])):
            assert not np.array_equal(a, b)
        assert portrait.min(axis=2).max() > 0 and np.count_nonzero(portrait.max(axis=2) == 0) == 0
    assert accepted >= 3


def test_token_transform_refuses_to_invent_pixels() -> None:
    eyes = ((600.0, 60.0), (700.0, 60.0))  # eyes 60 px below the top: the portrait sticks out
    placement = token_transform(eyes, (1280, 720))
    assert not placement.fits and placement.margins((1280, 720))[1] < 0
    with pytest.raises(ValueError):
        token_portrait(np.zeros((720, 1280, 3), np.uint8), eyes)


def test_face_capture_refuses_a_failing_frame(gate: FaceGate) -> None:
    wall = np.full((720, 1280, 3), 150, np.uint8)
    verdict = gate.check(wall)
    assert verdict.hint is Hint.NO_FACE
    with pytest.raises(CaptureError) as info:
        make_face_capture(wall, verdict)
    assert "未检测到人脸" in info.value.user_message


def test_face_capture_figures(gate: FaceGate, room: np.ndarray) -> None:
    frame = hopper(room)
    verdict = gate.check(frame)
    capture = make_face_capture(frame, verdict)
    assert {"eye_distance_px", "eye_tilt_deg", "yaw_deg", "eye_open", "background_grey"} <= set(
        capture.quality
    )
    assert capture.quality["width_px"] == 360 and capture.quality["height_px"] == 480


# --- the live gate: tracking between full searches ------------------------------------------


def test_live_gate_tracks_eyes_as_accurately_as_a_full_search(room: np.ndarray) -> None:
    """Live frames of a person swaying: the live gate (face and eyes searched near where they
    were, a full search every few frames) passes the same frames and finds the eyes about as
    close to the annotated centres as the still gate's full search on every frame."""
    live, still = FaceGate(live=True), FaceGate()
    errors: dict[str, list[float]] = {"live": [], "still": []}
    passed = {"live": 0, "still": 0}
    tracked = 0
    for step in range(24):
        mid = (640 + 10 * math.sin(step / 4), 300 + 2 * step / 3)
        frame = hopper(room, 100 + step / 4, mid)
        truth = true_eyes(100 + step / 4, mid)
        for name, gate in (("live", live), ("still", still)):
            verdict = gate.check(frame)
            passed[name] += verdict.ok
            assert verdict.eyes is not None, (name, step, verdict)
            worst = max(math.dist(a, b) for a, b in zip(verdict.eyes, truth, strict=True))
            errors[name].append(worst / verdict.eye_distance)
        track = live.detector._eye_track
        tracked += track is not None and track.age > 0
    assert tracked >= 12  # most frames were tracked, not searched in full
    assert passed["live"] >= passed["still"] - 1 and passed["live"] >= 20
    assert statistics.median(errors["live"]) <= statistics.median(errors["still"]) + 0.02
    assert max(errors["live"]) <= 0.2, errors["live"]


def test_live_gate_notices_a_second_person_while_tracking(room: np.ndarray) -> None:
    """A second person stepping in beside the tracked one is found by the next full search:
    检测到多张人脸 within 5 frames (1/6 s at 30 fps; the default ``track_every``)."""
    gate = FaceGate(live=True)
    for _ in range(6):
        assert gate.check(hopper(room)).ok
    face, eyes = load_demo_face()
    crowded = compose_frame(face, eyes, 80, (250, 340), hopper(room))
    hints = [gate.check(crowded).hint for _ in range(5)]
    assert Hint.MULTIPLE_FACES in hints, hints
    assert hints[-1] is Hint.MULTIPLE_FACES


def test_guide_frame_is_a_centred_portrait() -> None:
    guide = guide_frame(1280, 720)
    assert guide.w / guide.h == pytest.approx(PORTRAIT_ASPECT, abs=0.01)
    assert guide.cx == pytest.approx(640, abs=1) and guide.cy == pytest.approx(360, abs=1)


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
