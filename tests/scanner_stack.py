"""Fixtures for the fingerprint scanner: the emulated R30x module on a pty and the real driver
(pyserial) opened on it. Registered from ``tests/conftest.py`` (``pytest_plugins``).

``emulator_model`` picks the emulated module (``r503`` unless a test module overrides the
fixture, as the driver's contract tests do with every model of ``EMULATED_MODELS``)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bts_desk.drivers.libfprint.virtual_image import ENV, VirtualImagePerson
from bts_desk.drivers.r30x.driver import R30xScanner
from bts_desk.drivers.r30x.emulator import EMULATED_MODELS, R30xEmulator

MODELS = sorted(EMULATED_MODELS)


@pytest.fixture
def emulator_model() -> str:
    return "r503"


@pytest.fixture
def r30x_emulator(tmp_path: Path, emulator_model: str) -> Iterator[R30xEmulator]:
    """An emulated module behind the stable path ``tmp_path/ttyR30x``."""
    emulator = R30xEmulator(tmp_path / "ttyR30x", model=emulator_model).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def r30x_scanner(r30x_emulator: R30xEmulator) -> Iterator[R30xScanner]:
    """The driver, opened on the emulator, without silent retries. The timeout leaves room for
    the emulator's image synthesis on a loaded CI machine (a new finger takes ~0.2 s)."""
    scanner = R30xScanner(str(r30x_emulator.path), timeout=3.0, retries=0)
    scanner.open()
    yield scanner
    scanner.close()


def require_libfprint() -> None:
    """pytest.fail with what is missing unless ``gi.repository.FPrint`` 2.0 imports."""
    try:
        import gi

        gi.require_version("FPrint", "2.0")
        from gi.repository import FPrint  # noqa: F401
    except (ImportError, ValueError) as exc:
        pytest.fail(
            f"libfprint tests need PyGObject (gi) in the venv and libfprint's typelib "
            f"(gir1.2-fprint-2.0): {type(exc).__name__}: {exc}. Run ./dev.sh setup.",
            pytrace=False,
        )


@pytest.fixture
def fprint_virtual_image(monkeypatch: pytest.MonkeyPatch) -> Iterator[VirtualImagePerson]:
    """libfprint's virtual image device, the USB family's test bed: ``FP_VIRTUAL_IMAGE`` names
    a socket (libfprint reads it when a driver's context enumerates, i.e. at ``open``; the
    device listens there once opened) and the person who presses synthetic fingers on it.
    The socket lives in a short /tmp directory (unix socket paths are limited to 108 bytes).

    Fails at once (not a skip: CI installs it) when PyGObject or libfprint's typelib is
    missing, instead of the test waiting out its timeouts for a scanner that never opens."""
    require_libfprint()
    directory = Path(tempfile.mkdtemp(prefix="fpvi-"))
    path = directory / "virtual-image.socket"
    monkeypatch.setenv(ENV, str(path))
    person = VirtualImagePerson(path)
    yield person
    person.close()
    shutil.rmtree(directory, ignore_errors=True)
