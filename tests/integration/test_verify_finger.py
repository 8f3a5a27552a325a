"""边民核验 through the real scanner stack: the R30x driver over pyserial on a pty, the emulated
module at the far end. A genuine press passes, another finger or another person fails, the
3-try rule moves to the other enrolled finger, a template of another format is refused before
any press is asked for, and a try queued on the scanner worker reports score and threshold."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from bts_desk.capture.events import CaptureCancelledError, EventKind, FingerEvent
from bts_desk.capture.finger import FingerEnroller, start_finger_capture
from bts_desk.capture.verify import (
    OTHER_FORMAT_MESSAGE,
    EnrolledFinger,
    Next,
    TemplateFormatError,
    TwoSlotVerifier,
    VerificationPlan,
    VerifyOutcome,
    VerifyState,
    decide,
    start_verification,
)
from bts_desk.devices.fingerprint import MatchResult, ScannerWorker
from bts_desk.domain import FingerPosition
from bts_desk.drivers.libfprint.driver import LibfprintScanner
from bts_desk.drivers.libfprint.virtual_image import VirtualImagePerson
from bts_desk.drivers.r30x import fingerimage as fi
from bts_desk.drivers.r30x.driver import R30xScanner
from bts_desk.drivers.r30x.emulator import R30xEmulator
from bts_desk.drivers.r30x.fingerimage import MATCH_THRESHOLD, PressKind
from bts_desk.drivers.r30x.protocol import Cmd

THRESHOLD = MATCH_THRESHOLD  # the desk's default, scanner.match_threshold
FINGERS = (21, 22, 23, 907, 31, 41, 42, 43, 51, 52, 16, 27, 24)


@pytest.fixture(scope="module", autouse=True)
def _prints_made() -> None:
    """The emulator's synthetic prints of this module's fingers, made before the tests (the
    emulator's thread shares the cache): on a loaded machine the first image of a finger can
    take longer than the driver's 3 s reply timeout."""
    for finger in FINGERS:
        fi.master_print(finger)


def _enroll(
    emulator: R30xEmulator, scanner: R30xScanner, finger: int, position: FingerPosition
) -> EnrolledFinger:
    emulator.place(finger, 3)
    capture = FingerEnroller(scanner, 1, lambda _e: None, poll_interval=0.0).run()
    return EnrolledFinger(position, capture.template, capture.template_format, "R503")


def _try(
    emulator: R30xEmulator, scanner: R30xScanner, enrolled: EnrolledFinger, finger: int
) -> tuple[VerifyOutcome, list[FingerEvent], TwoSlotVerifier]:
    emulator.place(finger, 1)
    events: list[FingerEvent] = []
    verifier = TwoSlotVerifier(scanner, enrolled, events.append)
    return decide(enrolled, verifier.run(), THRESHOLD), events, verifier


def test_genuine_passes_other_finger_and_other_person_fail(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    right_index = _enroll(r30x_emulator, r30x_scanner, 21, FingerPosition.RIGHT_INDEX)
    r30x_emulator.reset_counters()
    outcome, events, verifier = _try(r30x_emulator, r30x_scanner, right_index, 21)
    assert outcome.passed and outcome.module_matched and outcome.score >= THRESHOLD
    assert verifier.state is VerifyState.DONE
    assert [e.kind for e in events] == [EventKind.PRESS, EventKind.DONE]
    # DownChar into one slot, the press into the other, Match on the module; no image read
    assert r30x_emulator.commands.count(Cmd.DOWN_CHAR) == 1
    assert r30x_emulator.commands.count(Cmd.MATCH) == 1
    assert Cmd.UP_IMAGE not in r30x_emulator.commands
    for other in (22, 23, 907):  # the same person's other fingers, another person's
        outcome, _, verifier = _try(r30x_emulator, r30x_scanner, right_index, other)
        assert not outcome.passed and outcome.score < THRESHOLD, (other, outcome.score)
        assert verifier.state is VerifyState.DONE


@pytest.mark.parametrize(("enrolled", "pressed"), [(16, 22), (27, 24)])
def test_look_alike_prints_of_other_people_fail_on_the_wire(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner, enrolled: int, pressed: int
) -> None:
    """Fingers whose ridge flow is alike (the former orientation-only matcher of the emulator
    accepted them): the module's minutiae matcher tells them apart, and still passes the
    enrolled finger's own later press."""
    template = _enroll(r30x_emulator, r30x_scanner, enrolled, FingerPosition.RIGHT_INDEX)
    for _ in range(2):
        outcome, _, _ = _try(r30x_emulator, r30x_scanner, template, pressed)
        assert not outcome.passed and not outcome.module_matched, outcome.score
    outcome, _, _ = _try(r30x_emulator, r30x_scanner, template, enrolled)
    assert outcome.passed and outcome.score >= THRESHOLD


def test_unusable_press_is_asked_again(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    enrolled = _enroll(r30x_emulator, r30x_scanner, 31, FingerPosition.RIGHT_INDEX)
    r30x_emulator.place(31, 1, kind=PressKind.MESSY)
    r30x_emulator.place(31, 1)
    events: list[FingerEvent] = []
    result = TwoSlotVerifier(r30x_scanner, enrolled, events.append).run()
    assert decide(enrolled, result, THRESHOLD).passed
    assert [e.kind for e in events].count(EventKind.RETRY) == 1


def test_three_tries_then_the_other_finger(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    right = _enroll(r30x_emulator, r30x_scanner, 41, FingerPosition.RIGHT_INDEX)
    left = _enroll(r30x_emulator, r30x_scanner, 42, FingerPosition.LEFT_INDEX)
    plan = VerificationPlan([right, left])
    answers = []
    for _ in range(3):  # a damaged right index: another finger pressed each time
        outcome, _, _ = _try(r30x_emulator, r30x_scanner, plan.current, 43)
        answers.append(plan.record(outcome))
    assert answers == [Next.TRY_AGAIN, Next.TRY_AGAIN, Next.OTHER_FINGER]
    assert plan.current.position is FingerPosition.LEFT_INDEX and plan.tries_left == 3
    outcome, _, _ = _try(r30x_emulator, r30x_scanner, plan.current, 42)
    assert outcome.passed and outcome.position is FingerPosition.LEFT_INDEX
    assert plan.record(outcome) is Next.PASSED
    assert plan.finished and plan.passed


def test_every_finger_used_up_is_not_passed() -> None:
    right = EnrolledFinger(FingerPosition.RIGHT_INDEX, b"x", "grow-r50x-char")
    left = EnrolledFinger(FingerPosition.LEFT_INDEX, b"y", "grow-r50x-char")
    plan = VerificationPlan([right, left])
    answers = [plan.record(decide(plan.current, _match(False, 40), THRESHOLD)) for _ in range(6)]
    assert answers[2] is Next.OTHER_FINGER and answers[-1] is Next.EXHAUSTED
    assert plan.finished and not plan.passed
    with pytest.raises(RuntimeError):
        plan.record(decide(plan.current, _match(True, 300), THRESHOLD))


def test_module_match_below_the_threshold_does_not_pass() -> None:
    finger = EnrolledFinger(FingerPosition.RIGHT_INDEX, b"x", "grow-r50x-char")
    outcome = decide(finger, _match(True, 100), 150)
    assert not outcome.passed and outcome.module_matched
    assert (outcome.score, outcome.threshold) == (100, 150)


def test_template_of_another_format_is_refused_before_any_press(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner
) -> None:
    as608 = EnrolledFinger(
        FingerPosition.RIGHT_INDEX, bytes(512), "synochip-r30x-char", "AS608/ZFM-20"
    )
    libfprint = EnrolledFinger(FingerPosition.LEFT_INDEX, b"\x78\x9c", "libfprint-fpprint-zlib")
    for enrolled in (as608, libfprint):
        r30x_emulator.reset_counters()
        events: list[FingerEvent] = []
        verifier = TwoSlotVerifier(r30x_scanner, enrolled, events.append)
        with pytest.raises(TemplateFormatError) as info:
            verifier.run()
        assert (
            info.value.user_message
            == OTHER_FORMAT_MESSAGE
            == "该指纹由其他型号设备采集，本机无法比对"
        )
        assert verifier.state is VerifyState.FAILED
        assert [e.kind for e in events] == [EventKind.FAILED]
        assert Cmd.GEN_IMG not in r30x_emulator.commands
        assert Cmd.DOWN_CHAR not in r30x_emulator.commands


@pytest.fixture
def worker(r30x_scanner: R30xScanner) -> Iterator[ScannerWorker]:
    w = ScannerWorker(r30x_scanner, driver="r30x", check_interval=0.2).start()
    yield w
    w.stop()


def test_a_try_on_the_worker_reports_score_and_threshold(
    r30x_emulator: R30xEmulator, r30x_scanner: R30xScanner, worker: ScannerWorker
) -> None:
    enrolled = worker.submit(
        lambda s: _enroll(r30x_emulator, r30x_scanner, 51, FingerPosition.RIGHT_THUMB)
    ).result(timeout=60)
    r30x_emulator.place(51, 1)
    handle = start_verification(worker, enrolled, THRESHOLD, lambda _e: None)
    outcome = handle.future.result(timeout=30)
    assert outcome.passed and outcome.threshold == THRESHOLD and outcome.score >= THRESHOLD
    assert outcome.position is FingerPosition.RIGHT_THUMB
    r30x_emulator.place(52, 1)
    outcome = start_verification(worker, enrolled, THRESHOLD, lambda _e: None).future.result(30)
    assert not outcome.passed and outcome.score < THRESHOLD


def test_a_waiting_try_is_cancelled(r30x_emulator: R30xEmulator, worker: ScannerWorker) -> None:
    enrolled = EnrolledFinger(FingerPosition.RIGHT_INDEX, bytes(1536), "grow-r50x-char")
    events: list[FingerEvent] = []
    handle = start_verification(worker, enrolled, THRESHOLD, events.append)
    deadline = time.monotonic() + 10
    while not any(e.kind is EventKind.PRESS for e in events) and time.monotonic() < deadline:
        time.sleep(0.01)
    handle.cancel()
    with pytest.raises(CaptureCancelledError):
        handle.future.result(timeout=10)
    assert events[-1].kind is EventKind.CANCELLED


def _match(matched: bool, score: int) -> MatchResult:
    return MatchResult(matched, score)


# --- the libfprint family: libfprint's own verify ------------------------------------------------


def test_libfprint_verify_passes_the_finger_and_fails_another(
    fprint_virtual_image: VirtualImagePerson,
) -> None:
    scanner = LibfprintScanner("virtual_image")
    w = ScannerWorker(scanner, driver="libfprint", check_interval=0.2).start()
    try:
        person = fprint_virtual_image

        def presses(finger: int) -> Callable[[FingerEvent], None]:
            return lambda e: person.press(finger) if e.kind is EventKind.PRESS else None

        capture = start_finger_capture(w, 1, presses(61)).future.result(60)
        enrolled = EnrolledFinger(
            FingerPosition.RIGHT_INDEX, capture.template, capture.template_format
        )
        genuine = start_verification(w, enrolled, THRESHOLD, presses(61)).future.result(60)
        other = start_verification(w, enrolled, THRESHOLD, presses(62)).future.result(60)
        r30x = EnrolledFinger(FingerPosition.RIGHT_INDEX, bytes(1536), "grow-r50x-char")
        refused = start_verification(w, r30x, THRESHOLD, presses(61)).future
        with pytest.raises(TemplateFormatError):
            refused.result(30)
    finally:
        w.stop()
    assert genuine.passed and genuine.threshold == 0  # libfprint decides, without a score
    assert not other.passed
