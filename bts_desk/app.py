"""Entry point ``bts-desk``: settings → logging → QApplication → translators → window → store.

The window is shown before anything slow happens: the store is opened (Alembic migrations, demo
data on a first demo start) on a worker thread afterwards, and heavy modules (cv2, requests,
alembic, smartcard) are imported only when a part needs them. This module only wires parts
together; the parts live in ``ui/``, ``store/`` and ``demo.py``.

    bts-desk [--demo] [--config FILE] [--tour DIR]     the desk (optionally the offscreen tour)
    bts-desk --self-test                                Qt, translations, drivers, a temp store
    bts-desk --version
    bts-desk demo-data --rows N [--db URL | --demo]     fill a store with generated records
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
from bts_desk.logs import setup_logging

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from bts_desk.store.db import Database
    from bts_desk.ui.main_window import MainWindow

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
    parser.add_argument("--exit-when-shown", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["demo-data"]:
        return demo_data_command(argv[1:])
    args = parse_args(argv)
    try:
        settings = load_settings(user_file=args.config)
    except DeskError as exc:
        print(f"{exc.user_message}\n{exc.detail}", file=sys.stderr)
        return 2
    if args.demo:
        from bts_desk import demo

        settings = demo.demo_settings(settings)
    setup_logging(settings.log_dir, settings.logging.level)
    log.info("bts-desk %s starting (demo=%s)", bts_desk.__version__, args.demo)
    if args.self_test:
        from bts_desk.selftest import run_self_test

        return run_self_test(settings)
    if args.tour:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    return run_gui(settings, args)


def run_gui(settings: Settings, args: argparse.Namespace) -> int:
    """Show the window at once, then open the store on a worker and add the query tab."""
    from PySide6.QtCore import QTimer

    from bts_desk.ui.main_window import MainWindow

    app = _make_application(settings)
    window = MainWindow()
    window.show()
    if args.exit_when_shown:  # startup_bench.py: time to the first window shown
        app.processEvents()
        heavy = sorted(m for m in HEAVY_MODULES if m in sys.modules)
        print(SHOWN_MARKER, ",".join(heavy) or "-", flush=True)
        return 0
    shell = _Shell(app, window, settings, args)
    QTimer.singleShot(0, shell.start)
    code = app.exec()
    shell.close()
    return code


def _make_application(settings: Settings) -> QApplication:
    from PySide6.QtWidgets import QApplication

    from bts_desk.ui.i18n import install_translators
    from bts_desk.ui.style import apply_style

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("bts-desk")
    app.setApplicationVersion(bts_desk.__version__)
    install_translators(app, settings.ui.language)  # parented to app: they stay loaded
    apply_style(app)
    return app


class _Shell:
    """Start-up after the window is shown: open the store, register pages, run the tour."""

    def __init__(
        self, app: QApplication, window: MainWindow, settings: Settings, args: argparse.Namespace
    ) -> None:
        self.app, self.window, self.settings, self.args = app, window, settings, args
        self.db: Database | None = None

    def start(self) -> None:
        from bts_desk.ui.main_window import OPENING_STORE
        from bts_desk.ui.tasks import run_in_background

        self.window.show_status(self.window.tr(OPENING_STORE))
        run_in_background(self._open_store, self._store_ready, self._store_failed)

    def _open_store(self) -> Database:
        if self.args.demo:
            from bts_desk import demo

            return demo.open_demo_database(self.settings)
        from bts_desk.store.db import open_database

        return open_database(self.settings.database_url)

    def _store_ready(self, db: Database) -> None:
        from PySide6.QtCore import QSettings

        from bts_desk.ui import query_page

        self.db = db
        self.window.show_status("")
        ui_state = QSettings(
            str(self.settings.data_dir / "ui-state.ini"), QSettings.Format.IniFormat, self.window
        )
        key = query_page.register(self.window, db, ui_state)
        self.window.open_page(key)
        if self.args.tour:
            from bts_desk.ui.tour import Tour, add_query_steps

            tour = Tour(self.window, self.args.tour)
            add_query_steps(tour, self.window, key)
            code = 1
            try:
                code = tour.run()
            except Exception:  # the tour must end the process whatever happens
                log.exception("the tour failed")
            finally:
                self.app.exit(code)

    def _store_failed(self, exc: BaseException) -> None:
        from PySide6.QtWidgets import QMessageBox

        message = exc.user_message if isinstance(exc, DeskError) else str(exc)
        log.error("cannot open the store: %s", exc)
        if self.args.tour:
            self.app.exit(1)
            return
        QMessageBox.critical(self.window, self.window.windowTitle(), message)

    def close(self) -> None:
        if self.db is not None:
            self.db.dispose()


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

    try:
        settings = load_settings(user_file=args.config)
        if args.demo:
            from bts_desk import demo

            settings = demo.demo_settings(settings)
        url = args.db or settings.database_url
        db = open_database(url)
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
