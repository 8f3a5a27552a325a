"""``bts-desk --self-test``: is this installation complete? (the installers' tests run it)

Loads Qt offscreen, the translations and a CJK font, imports every registered driver module
that is installed, and opens a temporary store (migrations included). Prints one line per check
and returns 0 when all pass, 1 otherwise. Main thread, no window shown.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bts_desk.config import Settings

Check = Callable[[], str]


def run_self_test(settings: Settings) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    checks: list[tuple[str, Check]] = [
        ("qt", _check_qt),
        ("translations", lambda: _check_translations(settings.ui.language)),
        ("cjk font", _check_cjk_font),
        *_driver_checks(),
        ("store", _check_store),
    ]
    failures = 0
    print(f"bts-desk self-test ({sys.platform}, Python {sys.version.split()[0]})")
    for name, check in checks:
        try:
            result = check()
        except Exception as exc:
            failures += 1
            print(f"FAIL {name}: {type(exc).__name__}: {exc}")
        else:
            print(f"ok   {name}: {result}")
    print("self-test passed" if not failures else f"self-test FAILED ({failures})")
    return 1 if failures else 0


def _app() -> object:
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication(["bts-desk-self-test"])


def _check_qt() -> str:
    from PySide6 import __version__ as pyside_version
    from PySide6.QtGui import QGuiApplication

    _app()
    return f"PySide6 {pyside_version}, platform {QGuiApplication.platformName()}"


def _check_translations(language: str) -> str:
    from PySide6.QtCore import QCoreApplication

    from bts_desk.ui.i18n import install_translators

    app = _app()
    translators = install_translators(app, language)
    probe = QCoreApplication.translate("Domain", "Normal")
    if language == "zh_CN" and probe != "正常":
        raise RuntimeError(f"{len(translators)} translators loaded but 'Normal' -> {probe!r}")
    return f"{len(translators)} translation files for {language}"


def _check_cjk_font() -> str:
    """Lay the system name out with the UI font (and Qt's fallbacks): no .notdef glyphs."""
    from PySide6.QtGui import QFont, QTextLayout

    from bts_desk.ui.style import desk_font

    _app()
    layout = QTextLayout("边民互市贸易服务", desk_font(QFont()))
    layout.beginLayout()
    layout.createLine()
    layout.endLayout()
    runs = layout.glyphRuns()
    if not runs or any(0 in run.glyphIndexes() for run in runs):
        raise RuntimeError("Chinese text shows as boxes (install fonts-noto-cjk)")
    return ", ".join(sorted({run.rawFont().familyName() for run in runs}))


def _driver_checks() -> list[tuple[str, Check]]:
    from bts_desk.devices.registry import CAMERA_DRIVERS, CARD_PROFILES, SCANNER_DRIVERS

    checks: list[tuple[str, Check]] = []
    for kind, table in (("scanner", SCANNER_DRIVERS), ("camera", CAMERA_DRIVERS),
                        ("card", CARD_PROFILES)):  # fmt: skip
        for name, (module, cls) in sorted(table.items()):
            checks.append((f"{kind} driver {name}", _driver_check(module, cls)))
    return checks


def _driver_check(module: str, cls: str) -> Check:
    def check() -> str:
        try:
            spec = importlib.util.find_spec(module)
        except ModuleNotFoundError:
            spec = None
        if spec is None:
            return f"{module} not installed (skipped)"
        getattr(importlib.import_module(module), cls)
        return f"{module}:{cls}"

    return check


def _check_store() -> str:
    from sqlalchemy import func, select, text

    from bts_desk.store.borderers import BORDERER
    from bts_desk.store.crypto import DeskKey
    from bts_desk.store.db import current_revision, open_database

    with tempfile.TemporaryDirectory() as tmp:  # SQLCipher, as the desk's own store
        db = open_database(f"sqlite:///{Path(tmp) / 'self-test.db'}", key=DeskKey.generate())
        try:
            with db.session() as session:
                session.execute(select(func.count()).select_from(BORDERER)).scalar_one()
                cipher = session.execute(text("PRAGMA cipher_version")).scalar()
            if not cipher:
                raise RuntimeError("the store is not encrypted: SQLCipher is missing")
            return f"SQLCipher {cipher} store at revision {current_revision(db.engine)}"
        finally:
            db.dispose()
