"""边民核验: a borderer's live press checked 1:1 against one of their enrolled fingers.

``TwoSlotVerifier.run`` walks an explicit state machine (``VerifyState``, in the manner of
libfprint's verify) on the scanner worker's thread, for the two-slot modules of the R30x
family: the enrolled vendor template goes into feature slot 2 (DownChar), the live press is
imaged and extracted into slot 1, and the module matches the two (Match). The module's answer
and its score are both reported; the desk passes the press only when the module says "match"
AND the score reaches the configured threshold (``scanner.match_threshold``), so the officer
sees both figures and the decision is the desk's, not only the module's security level.

A template is compared only by a scanner that makes templates of the same format (the format
travels with every template, from the driver's ``ScannerInfo`` through enrollment, upload and
pull): anything else is refused with ``TemplateFormatError`` ("该指纹由其他型号设备采集，本机无
法比对") before the person is asked to press, instead of a meaningless score.

``VerificationPlan`` is the officer's side of the rule, pure logic with no device: at most
``MAX_TRIES`` (3) tries per finger, then the other enrolled finger is offered; a pass ends it.

``start_verification`` queues one try on the ``ScannerWorker``; ``on_event`` and the Future's
callbacks run on the worker thread (the UI wraps them with ``gui_poster().wrap``). Qt-free.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from bts_desk.capture.events import (
    DEFAULT_TIMING,
    CaptureCancelledError,
    EnrollTiming,
    EventCallback,
    EventKind,
    FingerEvent,
)
from bts_desk.capture.press_cycle import PressCycle, PressPrompts
from bts_desk.devices.fingerprint import (
    FingerprintScanner,
    MatchResult,
    PressRejectedError,
    ScannerWorker,
    TwoSlotModule,
)
from bts_desk.domain import FingerPosition
from bts_desk.errors import CaptureError, DeskError

log = logging.getLogger(__name__)

MAX_TRIES = 3  # per finger, then the other enrolled finger is offered
MAX_UNUSABLE_PRESSES = 8  # presses the module cannot image or extract, per try
LIVE_SLOT, ENROLLED_SLOT = 1, 2
OTHER_FORMAT_MESSAGE = "该指纹由其他型号设备采集，本机无法比对"
_PROMPTS = PressPrompts(
    no_finger="等待按压指纹超时，请重新核验",
    not_lifted="手指没有抬起，请抬起手指后重新核验",
    subject="verification",
)


class VerifyState(enum.Enum):
    CHECK_FORMAT = "check_format"
    LOAD_TEMPLATE = "load_template"
    WAIT_LIFT = "wait_lift"
    WAIT_FINGER = "wait_finger"
    EXTRACT = "extract"
    MATCH = "match"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TemplateFormatError(CaptureError):
    """The enrolled template was made by a scanner of another format: no comparison."""

    def __init__(self, enrolled: str, scanner: str) -> None:
        super().__init__(
            OTHER_FORMAT_MESSAGE,
            f"enrolled template format {enrolled or '(none)'!r}, scanner makes {scanner!r}",
        )


@dataclass(frozen=True)
class EnrolledFinger:
    """One enrolled finger as the desk keeps it for 核验 (sensitive: never logged)."""

    position: FingerPosition
    template: bytes = field(repr=False)
    template_format: str
    module_family: str = ""  # the scanner model that made it, for the officer's information


@dataclass(frozen=True)
class VerifyOutcome:
    """One try: the module's score, the desk's threshold, and the decision."""

    position: FingerPosition
    passed: bool
    score: int
    threshold: int
    module_matched: bool = False


def check_format(finger: EnrolledFinger, scanner_format: str) -> None:
    """TemplateFormatError unless the scanner makes templates of the enrolled one's format."""
    if not finger.template_format or finger.template_format != scanner_format:
        raise TemplateFormatError(finger.template_format, scanner_format)


def decide(finger: EnrolledFinger, result: MatchResult, threshold: int) -> VerifyOutcome:
    """Passed when the module matched and its score reaches ``threshold`` (a family that
    matches without a score, libfprint, is taken at its word: threshold reported as 0)."""
    if not result.scored:
        return VerifyOutcome(finger.position, result.matched, 0, 0, result.matched)
    passed = result.matched and result.score >= threshold
    return VerifyOutcome(finger.position, passed, result.score, threshold, result.matched)


class TwoSlotVerifier:
    """One try on a ``TwoSlotModule``. Build it and call ``run`` on the scanner's thread."""

    def __init__(
        self,
        module: TwoSlotModule,
        finger: EnrolledFinger,
        on_event: EventCallback,
        *,
        cancel: threading.Event | None = None,
        timing: EnrollTiming = DEFAULT_TIMING,
    ) -> None:
        self.module = module
        self.finger = finger
        self.cancel = cancel or threading.Event()
        self.state = VerifyState.CHECK_FORMAT
        self._emit_cb = on_event
        self._presses = PressCycle(module, self.cancel, _PROMPTS, timing)
        self._unusable = 0

    def run(self) -> MatchResult:
        """The module's answer for the live press against the enrolled template; raises
        TemplateFormatError, CaptureError (timeouts, no usable press) or ScannerError."""
        try:
            result = self._run()
        except CaptureCancelledError:
            self.state = VerifyState.CANCELLED
            self._emit(EventKind.CANCELLED)
            raise
        except DeskError as exc:
            self.state = VerifyState.FAILED
            log.info("verification failed: %s", exc.detail)
            self._emit(EventKind.FAILED, reason=exc.user_message)
            raise
        self.state = VerifyState.DONE
        self._emit(EventKind.DONE, quality=result.quality)
        return result

    def _run(self) -> MatchResult:
        self._set(VerifyState.CHECK_FORMAT)
        check_format(self.finger, self.module.open().template_format)
        self._set(VerifyState.LOAD_TEMPLATE)
        self.module.write_template(ENROLLED_SLOT, self.finger.template)
        self._wait_lift(announce=False)
        while True:
            self._emit(EventKind.PRESS, 1)
            try:
                self._wait_finger()
                self._set(VerifyState.EXTRACT)
                self.module.extract(LIVE_SLOT)
            except PressRejectedError as exc:
                self._unusable_press(exc)
                continue
            break
        self._set(VerifyState.MATCH)
        return self.module.compare()

    def _unusable_press(self, exc: PressRejectedError) -> None:
        self._unusable += 1
        if self._unusable > MAX_UNUSABLE_PRESSES:
            raise CaptureError(f"多次按压未成功：{exc.user_message}", exc.detail) from exc
        self._emit(EventKind.RETRY, 1, reason=exc.user_message)
        self._wait_lift()

    def _wait_finger(self) -> None:
        self._set(VerifyState.WAIT_FINGER)
        self._presses.wait_finger()

    def _wait_lift(self, *, announce: bool = True) -> None:
        self._set(VerifyState.WAIT_LIFT)
        self._presses.wait_lift(self._announce_lift if announce else None)

    def _announce_lift(self) -> None:
        self._emit(EventKind.LIFT)

    def _set(self, state: VerifyState) -> None:
        if self.cancel.is_set():
            raise CaptureCancelledError()
        self.state = state

    def _emit(
        self, kind: EventKind, press: int = 0, *, quality: float = 0.0, reason: str = ""
    ) -> None:
        event = FingerEvent(kind, 0, press, 1, quality, reason)
        try:
            self._emit_cb(event)
        except Exception:
            log.exception("verification event callback failed")


def verify_two_slot(
    module: TwoSlotModule,
    finger: EnrolledFinger,
    on_event: EventCallback,
    *,
    cancel: threading.Event | None = None,
    timing: EnrollTiming = DEFAULT_TIMING,
) -> MatchResult:
    """``FingerprintScanner.verify`` for a two-slot module: what the R30x driver calls."""
    return TwoSlotVerifier(module, finger, on_event, cancel=cancel, timing=timing).run()


# --- the officer's side: tries and fingers ------------------------------------------------------


class Next(enum.Enum):
    """What the page offers after a try."""

    PASSED = "passed"  # 核验通过: done
    TRY_AGAIN = "try_again"  # the same finger, tries left
    OTHER_FINGER = "other_finger"  # this finger's tries are used up: the other one
    EXHAUSTED = "exhausted"  # every enrolled finger used its tries: 核验未通过


class VerificationPlan:
    """At most ``max_tries`` tries per enrolled finger, then the next one; a pass ends it.
    Pure logic (any thread; the page keeps one per borderer it checks)."""

    def __init__(self, fingers: Sequence[EnrolledFinger], max_tries: int = MAX_TRIES) -> None:
        if not fingers:
            raise CaptureError("该边民没有已采集的指纹，无法核验", "verification without fingers")
        self.fingers = tuple(fingers)
        self.max_tries = max_tries
        self.index = 0
        self.tries: dict[FingerPosition, int] = {f.position: 0 for f in self.fingers}
        self.passed = False

    @property
    def current(self) -> EnrolledFinger:
        return self.fingers[self.index]

    @property
    def tries_left(self) -> int:
        return self.max_tries - self.tries[self.current.position]

    @property
    def finished(self) -> bool:
        return self.passed or all(n >= self.max_tries for n in self.tries.values())

    def choose(self, position: FingerPosition) -> None:
        """The officer picks another enrolled finger (its own tries count on)."""
        for i, finger in enumerate(self.fingers):
            if finger.position == position:
                self.index = i
                return
        raise ValueError(f"finger {int(position)} is not enrolled")

    def record(self, outcome: VerifyOutcome) -> Next:
        """Count one try of the current finger; what to offer next."""
        if self.finished:
            raise RuntimeError("verification already finished")
        self.tries[outcome.position] = self.tries.get(outcome.position, 0) + 1
        if outcome.passed:
            self.passed = True
            return Next.PASSED
        if self.tries_left > 0:
            return Next.TRY_AGAIN
        for i, finger in enumerate(self.fingers):
            if self.tries[finger.position] < self.max_tries:
                self.index = i
                return Next.OTHER_FINGER
        return Next.EXHAUSTED


# --- queued on the scanner worker ----------------------------------------------------------------


@dataclass
class VerifyHandle:
    """A try queued on the scanner worker: its Future and its cancel switch."""

    future: Future[VerifyOutcome]
    cancel_event: threading.Event

    def cancel(self) -> None:
        self.cancel_event.set()
        self.future.cancel()


def start_verification(
    worker: ScannerWorker,
    finger: EnrolledFinger,
    threshold: int,
    on_event: EventCallback,
    *,
    timing: EnrollTiming = DEFAULT_TIMING,
) -> VerifyHandle:
    """Queue one try of ``finger`` on ``worker``; returns at once. The Future gives the
    VerifyOutcome (or the DeskError: TemplateFormatError, CaptureError, ScannerError)."""
    cancel = threading.Event()

    def job(scanner: FingerprintScanner) -> VerifyOutcome:
        result = scanner.verify(finger, on_event, cancel=cancel, timing=timing)
        return decide(finger, result, threshold)

    return VerifyHandle(worker.submit(job, cancel), cancel)
