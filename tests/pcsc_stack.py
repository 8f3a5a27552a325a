"""pytest plugin: the real PC/SC stack for card tests (pcscd + vsmartcard vpcd + virtual cards).

- ``pcscd`` (session): uses the running pcscd, or starts ``pcscd --foreground`` when none runs
  (it does not start by itself on CI), waits until vpcd's readers appear, and stops only what it
  started (``bts_desk.drivers.piv_card.pcscd``). Its output goes to ``<basetemp>/pcscd.log``.
- ``test_ca`` (session): a throw-away CA; ``officer_credentials`` issues officer certificates.
- ``virtual_cards``: makes virtual PIV cards on vpcd slots and pulls every one of them out at
  the end of the test (waiting until pcscd sees the reader empty), so tests do not leak cards.

vpcd slot n is the reader "Virtual PCD 00 0n" on TCP port 35963 + n (``/etc/reader.conf.d/vpcd``).
Registered from ``tests/conftest.py`` (``pytest_plugins``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from smartcard import scard

from bts_desk.card.session import SessionEvent, SessionState
from bts_desk.drivers.piv_card.officer_card import make_card
from bts_desk.drivers.piv_card.pcscd import (
    VPCD_READER_PREFIX,
    ensure_pcscd,
    pcsc_readers,
    stop_pcscd,
)
from bts_desk.drivers.piv_card.pki import OfficerCredentials, TestCa, issue_officer, make_ca
from bts_desk.drivers.piv_card.vpcd import VPCD_PORT, VirtualPivCard
from bts_desk.errors import CardError

VPCD_READER = "Virtual PCD 00 0{slot}"


def reader_name(slot: int) -> str:
    return VPCD_READER.format(slot=slot)


def wait_card_state(reader: str, present: bool, timeout: float = 5.0) -> float:
    """Block until pcscd reports ``reader`` with (or without) a card; seconds waited."""
    start = time.monotonic()
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    assert hresult == scard.SCARD_S_SUCCESS
    try:
        while time.monotonic() - start < timeout:
            hresult, states = scard.SCardGetStatusChange(
                context, 50, [(reader, scard.SCARD_STATE_UNAWARE)]
            )
            in_reader = bool(states[0][1] & scard.SCARD_STATE_PRESENT) if states else None
            if hresult == scard.SCARD_S_SUCCESS and in_reader == present:
                return time.monotonic() - start
            time.sleep(0.02)
    finally:
        scard.SCardReleaseContext(context)
    raise AssertionError(f"{reader}: card {'in' if present else 'out'} not seen in {timeout} s")


@pytest.fixture(scope="session")
def pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """A pcscd with vpcd's readers; yields their names."""
    try:
        process = ensure_pcscd(tmp_path_factory.getbasetemp() / "pcscd.log")
    except CardError as exc:
        pytest.fail(f"no PC/SC stack for the card tests: {exc.detail}")
    try:
        yield [r for r in pcsc_readers() or [] if r.startswith(VPCD_READER_PREFIX)]
    finally:
        stop_pcscd(process)


@pytest.fixture(scope="session")
def test_ca() -> TestCa:
    return make_ca("BTS Pytest Officer CA")


@pytest.fixture(scope="session")
def ca_pem(test_ca: TestCa, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    path.write_bytes(test_ca.pem)
    return path


@pytest.fixture
def officer_credentials(test_ca: TestCa) -> Callable[..., OfficerCredentials]:
    def issue(
        name: str = "李海关", officer_id: str = "GY860901", district: str = "8609"
    ) -> OfficerCredentials:
        return issue_officer(test_ca, name, officer_id, district)

    return issue


CardFactory = Callable[..., VirtualPivCard]


@pytest.fixture
def virtual_cards(pcscd: list[str]) -> Iterator[CardFactory]:
    """``make(credentials, pin="123456", slot=0, insert=True, **applet options)``."""
    made: list[tuple[VirtualPivCard, int]] = []

    def make(
        credentials: OfficerCredentials | None,
        pin: str = "123456",
        *,
        slot: int = 0,
        insert: bool = True,
        **options: object,
    ) -> VirtualPivCard:
        # A card some other test left in this slot would answer in place of this one.
        wait_card_state(reader_name(slot), present=False)
        card = make_card(credentials, pin, port=VPCD_PORT + slot, **options)  # type: ignore[arg-type]
        made.append((card, slot))
        if insert:
            card.insert()
            wait_card_state(reader_name(slot), present=True)
        return card

    yield make
    for card, slot in made:
        if card.inserted:
            card.remove()
            wait_card_state(reader_name(slot), present=False)


class Events:
    """A session listener that remembers every event; ``wait`` blocks until a state is seen
    (events arrive on the monitor's and the caller's threads)."""

    def __init__(self) -> None:
        self.seen: list[SessionEvent] = []
        self._cond = threading.Condition()

    def __call__(self, event: SessionEvent) -> None:
        with self._cond:
            self.seen.append(event)
            self._cond.notify_all()

    def wait(self, state: SessionState, timeout: float = 3.0) -> SessionEvent:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.seen:
                    if event.state is state:
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {state} in {timeout} s: {self.seen}")
                self._cond.wait(left)
