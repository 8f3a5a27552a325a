"""Suite-wide set-up: Qt offscreen, an isolated config/data directory per test, a fresh store.

Every test runs on emulated devices at the far end of the real stack (DESIGN.md, "Testing
without hardware"); nothing here mocks a transport.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_NO_GLIB", "1")  # as the app does: GLib's default context is libfprint's

from collections.abc import Iterator
from pathlib import Path

import pytest

from bts_desk.config import Settings, load_settings
from bts_desk.store.db import Database
from bts_desk.store.desk_store import open_desk_store

# Plugin modules in tests/ (on sys.path through this conftest): real device stacks.
pytest_plugins = [
    "pcsc_stack",  # pcscd + vpcd + virtual PIV cards (issue 3)
    "pkcs11_stack",  # OpenSC's PKCS#11 module over the virtual card, SoftHSM2 tokens (issue 17)
    "scanner_stack",  # emulated R30x fingerprint module on a pty + the real driver (issue 4)
    "pg_cluster",  # throw-away PostgreSQL cluster for the sync service tests (issue 7)
    "sync_service_stack",  # the reference sync service on SQLite and PostgreSQL (issue 7)
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings that write only below tmp_path (no machine, user or env layers)."""
    base = load_settings(machine_file=tmp_path / "none", user_file=tmp_path / "none", env={})
    base = base.replace("paths", data_dir=str(tmp_path / "data"))
    return base.replace("logging", dir=str(tmp_path / "logs"))


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """The desk's own store, as the desk opens it: SQLCipher with the desk key of settings."""
    database, _key = open_desk_store(settings)
    yield database
    database.dispose()


def _unblock_input(*, flush: bool) -> None:
    """End modal dialogs and lock input guards left by a test (see below); ``flush`` first
    delivers what the test left queued (only at its own teardown: at the next test's set-up,
    stale callbacks would log into that test)."""
    if "PySide6.QtWidgets" not in sys.modules:
        return
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QDialog, QWidget

    if QApplication.instance() is None:
        return
    if flush:
        QApplication.processEvents()  # queued session signals of the test lock its desk now
    for _ in range(20):
        modal = QApplication.activeModalWidget()
        if modal is None:
            break
        modal.reject() if isinstance(modal, QDialog) else modal.close()
        modal.setWindowModality(Qt.WindowModality.NonModal)
        modal.hide()
    if "bts_desk.ui.input_guard" in sys.modules:
        from bts_desk.ui.input_guard import installed_guards

        for guard in installed_guards():  # a lock's guard: its parent's parent is the window
            lock = guard.parent()
            window = lock.parent() if lock is not None else None
            if not (isinstance(window, QWidget) and window.isVisible()):
                guard.remove()


@pytest.fixture(autouse=True)
def _no_blocked_input_left_behind() -> Iterator[None]:
    """The QApplication lives for the whole run: a test that ends with a modal dialog open or
    its desk locked (often through a session signal still queued when it ends) would leave
    input blocked for the next test, whose clicks are then swallowed. pytest-qt closes the
    test's windows but does not delete them, so closed windows' guards are removed before and
    after each test. (In the app, closing the main window quits.)"""
    _unblock_input(flush=False)
    yield
    _unblock_input(flush=True)
