"""The desk's look: the style sheet ``resources/styles/desk.qss`` and a Simplified Chinese font.

Without a preferred family Qt falls back to whichever CJK font it finds first (on Debian often
the Japanese variant of Noto CJK, whose glyph forms differ from the mainland standard), so the
application font names the Simplified Chinese families of each platform first. GUI thread,
before the first window is built.
"""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from bts_desk.paths import resource_path

CHINESE_FAMILIES = (
    "Microsoft YaHei UI",  # Windows
    "Microsoft YaHei",
    "Noto Sans CJK SC",  # Debian fonts-noto-cjk
    "Source Han Sans SC",
    "PingFang SC",
    "WenQuanYi Micro Hei",
)


def desk_font(base: QFont) -> QFont:
    """``base`` with the Simplified Chinese families first. Families that are not installed
    are skipped by Qt's font matching, so the font database need not be enumerated (that
    costs start-up time)."""
    font = QFont(base)
    font.setFamilies([*CHINESE_FAMILIES, *base.families()])
    return font


def apply_style(app: QApplication) -> None:
    """Set the desk font and style sheet on ``app``."""
    app.setFont(desk_font(app.font()))
    sheet = resource_path("styles", "desk.qss")
    if sheet.is_file():
        app.setStyleSheet(sheet.read_text("utf-8"))
