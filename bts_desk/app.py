"""Entry point ``bts-desk``: settings → logging → QApplication → translators → window → parts.

The window is shown before anything slow happens: the store (Alembic migrations, demo data on a
first demo start), the desk key and the demo's emulators are prepared on a worker thread
afterwards by ``ui.shell.DeskShell``, and heavy modules (cv2, requests, alembic, smartcard) are
imported only when a part needs them.

    bts-desk [--demo] [--config FILE] [--tour DIR] [--card-profile piv|pkcs11]   the desk
    bts-desk --self-test                                Qt, translations, drivers, a temp store
    bts-desk --version
    bts-desk demo-data --rows N [--db URL | --demo]     fill a store with generated records
    bts-desk audit verify [--config FILE] [--demo]      check the audit log's hash chain
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import bts_desk
from bts_desk.config import Settings, load_settings
from bts_desk.errors import DeskError
from bts_desk.logs import open_log_file, setup_logging

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication, QDialog

log = logging.getLogger(__name__)

SHOWN_MARKER = "bts-desk: window shown"
# Imported only after the first window is shown (or when a part needs them).
HEAVY_MODULES = ("cv2", "requests", "alembic", "smartcard", "numpy", "cryptography")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bts-desk", description="边民互市贸易服务 desk client")
    parser.add_argument("--version", action="version", version=f"bts-desk {bts_desk.__version__}")
    parser.add_argument("--demo", action="store_true", help="run over generated demo data")
    parser.add_argument("--tour", metavar="DIR", type=Path, help="offscreen walk-through to DIR")
    parser.add_argument("--self-test", action="store_true", help="check the installation")
    parser.add_argument("--config", metavar="FILE", type=Path, help="per-user config file")
    parser.add_argument(
        "--card-profile", choices=("piv", "pkcs11"), help="officer card profile (card.profile)"
    )
    parser.add_argument("--exit-when-shown", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["demo-data"]:
        return demo_data_command(argv[1:])
    if argv[:1] == ["audit"]:
        return audit_command(argv[1:])
    args = parse_args(argv)
    try:
        settings = load_settings(user_file=args.config)
    except DeskError as exc:
        print(f"{exc.user_message}\n{exc.detail}", file=sys.stderr)
        return 2
    if args.card_profile:
        settings = settings.replace("card", profile=args.card_profile)
    if args.demo:
        from bts_desk import demo

        settings = demo.demo_settings(settings)
    gui = not args.self_test
    setup_logging(settings.log_dir, settings.logging.level, defer_file=gui)
    log.info("bts-desk %s starting (demo=%s)", bts_desk.__version__, args.demo)
    if args.self_test:
        from bts_desk.selftest import run_self_test

        return run_self_test(settings)
    if args.tour:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    return run_gui(settings, args)


def run_gui(settings: Settings, args: argparse.Namespace) -> int:
    """The login screen first (the PIN can be typed at once), then the main window behind it,
    then the store on a worker and the parts wired to it (``ui.shell``). What is not needed
    before the PIN is typed comes after the login screen is usable."""
    from PySide6.QtCore import QTimer

    app = _make_application(settings)
    login = None
    if not args.tour:  # the tour logs in by itself
        from bts_desk.ui.login_dialog import LoginDialog

        login = LoginDialog(None)  # top-level: the main window is built after it
        login.setModal(True)  # application-modal once shown (no Qt namespace yet: pin_field)
        login.finished.connect(login.deleteLater)
        login.show()
        login.activateWindow()
        login.pin_edit.setFocus()
    if args.exit_when_shown and login is not None:  # startup_bench.py: the usable login
        usable = _login_usable(app, login)
        heavy = sorted(m for m in HEAVY_MODULES if m in sys.modules)
        print(SHOWN_MARKER, "login-usable" if usable else "login-NOT-usable",
              ",".join(heavy) or "-", flush=True)  # fmt: skip
        return 0 if usable else 1
    open_log_file()  # the login screen is usable: the rest of the start is not waited for
    from bts_desk.ui.main_window import MainWindow
    from bts_desk.ui.shell import DeskShell

    window = MainWindow()
    window.show()
    if login is not None:  # stays in front of the window that opened behind it
        from bts_desk.ui.login_dialog import set_pin_hints

        set_pin_hints(login.pin_edit)
        login.raise_()
        login.activateWindow()
    shell = DeskShell(app, window, settings, demo=args.demo, user_config=args.config)
    if args.tour:
        from bts_desk.ui.tour import run_tour_when_ready

        run_tour_when_ready(shell, args.tour)
    elif login is not None:  # the desk could not start: attach_login shows why
        shell.ready_callbacks.append(lambda ok: shell.attach_login(login, ok))
    QTimer.singleShot(0, shell.start)
    try:
        return app.exec()
    finally:
        shell.close()


def _login_usable(app: QApplication, login: QDialog | None) -> bool:
    """The login screen is shown, its PIN field has the focus and takes a typed digit (a key
    press and release through Qt's event delivery, then cleared). What startup_bench.py
    waits for. QtTest types without building PySide's ``Qt`` enums (``pin_field``); the
    bundle leaves QtTest out, so there the key event is made by hand."""
    from PySide6.QtWidgets import QLineEdit

    app.processEvents()
    field = getattr(login, "pin_edit", None)
    if login is None or not login.isVisible() or not isinstance(field, QLineEdit):
        return False
    if app.focusWidget() is not field:
        return False
    try:
        from PySide6.QtTest import QTest
    except ImportError:
        from PySide6.QtCore import QEvent, Qt
        from PySide6.QtGui import QKeyEvent

        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            key = QKeyEvent(kind, Qt.Key.Key_1, Qt.KeyboardModifier.NoModifier, "1")
            app.sendEvent(field, key)
    else:
        QTest.keyClicks(field, "1")
    typed = field.text() == "1"
    field.clear()
    return typed


def _make_application(settings: Settings) -> QApplication:
    from PySide6.QtWidgets import QApplication

    from bts_desk.ui.i18n import install_translators
    from bts_desk.ui.style import apply_style

    # Qt's own event dispatcher, not GLib's: libfprint (drivers/libfprint) blocks in GLib's
    # default main context while enumerating, which Qt's GUI thread must then leave alone.
    os.environ.setdefault("QT_NO_GLIB", "1")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("bts-desk")
    app.setApplicationVersion(bts_desk.__version__)
    install_translators(app, settings.ui.language)  # parented to app: they stay loaded
    apply_style(app)
    return app


def demo_data_command(argv: list[str]) -> int:
    """``bts-desk demo-data``: add generated border residents to a store (progress on stderr)."""
    parser = argparse.ArgumentParser(prog="bts-desk demo-data")
    parser.add_argument("--rows", type=int, default=1_000_000, help="records to generate")
    parser.add_argument("--db", metavar="URL", help="database URL (default: the desk's store)")
    parser.add_argument("--seed", type=int, default=20260, help="random seed (reproducible)")
    parser.add_argument("--config", metavar="FILE", type=Path, help="per-user config file")
    parser.add_argument("--demo", action="store_true", help="fill the store of bts-desk --demo")
    args = parser.parse_args(argv)
    if args.rows < 0:
        parser.error("--rows must not be negative")
    from bts_desk.store import demo_data
    from bts_desk.store.db import open_database
    from bts_desk.store.desk_store import open_desk_store

    try:
        settings = load_settings(user_file=args.config)
        if args.demo:
            from bts_desk import demo

            settings = demo.demo_settings(settings)
        if args.db:  # a store of its own (benchmarks, IT tools): as given, not encrypted
            db = open_database(args.db)
        else:  # the desk's store: encrypted with the desk key
            db, _key = open_desk_store(settings)
        try:
            added = demo_data.populate(
                db, args.rows, seed=args.seed, progress=demo_data.ProgressBar()
            )
        finally:
            db.dispose()
    except DeskError as exc:
        print(f"{exc.user_message}\n{exc.detail}", file=sys.stderr)
        return 1
    print(f"{added} records written to {db.url}")
    return 0


def audit_command(argv: list[str]) -> int:
    """``bts-desk audit verify``: walk the audit log's keyed hash chain in the desk's store.
    Exit 0 when intact, 1 when a row was deleted, edited or cut off (it says which), 2 when
    the store cannot be opened."""
    parser = argparse.ArgumentParser(prog="bts-desk audit")
    parser.add_argument("action", choices=["verify"])
    parser.add_argument("--config", metavar="FILE", type=Path, help="per-user config file")
    parser.add_argument("--demo", action="store_true", help="the store of bts-desk --demo")
    args = parser.parse_args(argv)
    from bts_desk.store.audit import verify
    from bts_desk.store.desk_store import open_desk_store

    try:
        settings = load_settings(user_file=args.config)
        if args.demo:
            from bts_desk import demo

            settings = demo.demo_settings(settings)
        db, _key = open_desk_store(settings)
        try:
            verdict = verify(db)
        finally:
            db.dispose()
    except DeskError as exc:
        print(f"{exc.user_message}\n{exc.detail}", file=sys.stderr)
        return 2
    if verdict.ok:
        print(f"操作日志完整：{verdict.rows} 条记录（其中 {verdict.unchained} 条早于哈希链）")
        return 0
    where = f"第 {verdict.bad_row} 条" if verdict.bad_row is not None else "末尾"
    print(f"操作日志被篡改：{where}记录处断链（audit row {verdict.bad_row}: {verdict.problem}）")
    return 1
