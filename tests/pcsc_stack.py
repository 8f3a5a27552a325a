"""pytest plugin: the real PC/SC stack for card tests (pcscd + vsmartcard vpcd + virtual cards).

- ``pcscd`` (session): uses the running pcscd, or starts ``pcscd --foreground`` when none runs
  (it does not start by itself on CI), waits until vpcd's readers appear, and stops only what it
  started. Its output goes to ``<basetemp>/pcscd.log``.
- ``test_ca`` (session): a throw-away CA; ``officer_credentials`` issues officer certificates.
- ``virtual_cards``: makes virtual PIV cards on vpcd slots and pulls every one of them out at
  the end of the test (waiting until pcscd sees the reader empty), so tests do not leak cards.

vpcd slot n is the reader "Virtual PCD 00 0n" on TCP port 35963 + n (``/etc/reader.conf.d/vpcd``).
Registered from ``tests/conftest.py`` (``pytest_plugins``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bts_desk.drivers.piv_card.officer_card import make_card
from bts_desk.drivers.piv_card.pki import OfficerCredentials, TestCa, issue_officer, make_ca
from bts_desk.drivers.piv_card.vpcd import VPCD_PORT, VirtualPivCard
from smartcard import scard

VPCD_READER = "Virtual PCD 00 0{slot}"
PCSCD_PID_FILE = Path("/run/pcscd/pcscd.pid")


def reader_name(slot: int) -> str:
    return VPCD_READER.format(slot=slot)


def _pcsc_readers() -> list[str] | None:
    """Reader names, or None when pcscd does not answer."""
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        return None
    try:
        hresult, readers = scard.SCardListReaders(context, [])
        return [str(r) for r in readers] if hresult == scard.SCARD_S_SUCCESS else []
    finally:
        scard.SCardReleaseContext(context)


def pcscd_running() -> bool:
    try:
        pid = int(PCSCD_PID_FILE.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return _pcsc_readers() is not None


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
    process: subprocess.Popen[bytes] | None = None
    if not pcscd_running():
        binary = shutil.which("pcscd") or "/usr/sbin/pcscd"
        if not Path(binary).exists():
            pytest.fail("pcscd is not installed (dev.sh installs pcscd and vsmartcard-vpcd)")
        log_path = tmp_path_factory.getbasetemp() / "pcscd.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [binary, "--foreground", "--info"],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    try:
        readers = _wait_for_vpcd(process)
        yield readers
    finally:
        if process is not None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_vpcd(process: subprocess.Popen[bytes] | None) -> list[str]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            pytest.fail(f"pcscd exited with {process.returncode} (see pcscd.log in basetemp)")
        readers = _pcsc_readers() or []
        vpcd = [r for r in readers if r.startswith("Virtual PCD")]
        if vpcd:
            return vpcd
        time.sleep(0.1)
    pytest.fail("vpcd readers did not appear in pcscd (is vsmartcard-vpcd installed?)")


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
