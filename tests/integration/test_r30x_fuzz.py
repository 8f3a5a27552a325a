"""The driver under random wire faults (hypothesis): whatever the emulated module sends, every
call ends in a result or a ScannerError, and the driver works again once the line is clean."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bts_desk.drivers.r30x.driver import R30xScanner
from bts_desk.drivers.r30x.emulator import Fault, R30xEmulator
from bts_desk.errors import ScannerError

Step = Callable[[R30xScanner], object]
STEPS: dict[str, Step] = {
    "check": lambda s: s.check(),
    "capture": lambda s: s.capture(),
    "extract": lambda s: s.extract(1),
    "compare": lambda s: s.compare(),
    "up_char": lambda s: s.read_template(1),
    "down_char": lambda s: s.write_template(2, bytes(512)),
    "merge": lambda s: s.merge(),
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[R30xEmulator, R30xScanner]]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "ttyR30x"
    with R30xEmulator(path) as emulator:
        scanner = R30xScanner(str(path), timeout=0.4, retries=0)
        yield emulator, scanner
        scanner.close()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    plan=st.lists(
        st.tuples(st.sampled_from(sorted(STEPS)), st.none() | st.sampled_from(list(Fault))),
        min_size=1,
        max_size=6,
    ),
    finger=st.booleans(),
)
def test_driver_survives_any_fault_sequence(
    stack: tuple[R30xEmulator, R30xScanner],
    plan: list[tuple[str, Fault | None]],
    finger: bool,
) -> None:
    emulator, scanner = stack
    if finger:
        emulator.place(1, 2, gap=0)
    for name, fault in plan:
        if fault is not None:
            emulator.inject(fault)
        try:
            STEPS[name](scanner)
        except ScannerError as exc:
            assert exc.user_message and exc.detail
    emulator.clear_faults()
    for _ in range(3):  # a clean line: at most a stale reply or two to get past
        try:
            assert scanner.check().capacity == emulator.capacity
            break
        except ScannerError:
            continue
    else:
        pytest.fail("the driver did not recover on a clean line")
