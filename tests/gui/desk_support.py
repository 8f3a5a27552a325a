"""Shared helpers of the desk's GUI tests: Chinese translations, a populated store, waiting."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QTranslator
from PySide6.QtGui import QFont, QTextLayout
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from bts_desk.paths import resource_path
from bts_desk.store.db import Database
from bts_desk.store.demo_data import populate
from bts_desk.ui.i18n import compile_all
from bts_desk.ui.query_page import QueryPage


@pytest.fixture
def zh(qapp: QApplication, tmp_path: Path) -> Iterator[None]:
    """The zh_CN translations installed for one test (removed afterwards).

    Loaded from private copies: QTranslator maps its file, and the shared tree's .qm files are
    rewritten whenever anyone runs ``i18n compile``."""
    source = resource_path("i18n", "zh_CN")
    if not list(source.glob("*.qm")):
        compile_all("zh_CN")
    translators = []
    for qm in sorted(source.glob("*.qm")):
        copy = tmp_path / qm.name
        shutil.copyfile(qm, copy)
        translator = QTranslator(qapp)
        assert translator.load(str(copy)), qm
        qapp.installTranslator(translator)
        translators.append(translator)
    assert QCoreApplication.translate("Domain", "Normal") == "正常"
    yield
    for translator in translators:
        qapp.removeTranslator(translator)


@pytest.fixture
def store(db: Database) -> Database:
    """2,000 generated residents plus the manual's five rows."""
    populate(db, 2000, seed=42)
    return db


def wait_loaded(qtbot: QtBot, page: QueryPage) -> None:
    """Until the page's count and its first page of rows have arrived."""
    qtbot.waitUntil(lambda: page.model.ready and not page.model.busy, timeout=10_000)


def missing_glyphs(text: str, font: QFont) -> str:
    """Characters of ``text`` that the font (with Qt's fallback fonts) renders as .notdef."""
    layout = QTextLayout(text, font)
    layout.beginLayout()
    layout.createLine()
    layout.endLayout()
    glyphs = [g for run in layout.glyphRuns() for g in run.glyphIndexes()]
    if 0 not in glyphs:
        return ""
    return "".join(ch for ch in text if not ch.isspace() and missing_glyphs_single(ch, font))


def missing_glyphs_single(ch: str, font: QFont) -> bool:
    layout = QTextLayout(ch, font)
    layout.beginLayout()
    layout.createLine()
    layout.endLayout()
    return any(0 in run.glyphIndexes() for run in layout.glyphRuns())
