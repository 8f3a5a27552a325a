"""The Windows icon (.ico) of the desk, drawn from ``resources/icons/bts-desk.svg`` with Qt.

One ICO file with PNG images of the usual sizes (16 to 256 px; Windows Vista and later read PNG
inside ICO). Used for ``bts-desk.exe`` (the spec, on Windows) and for the MSI's Start-menu
shortcut and Programs-and-Features entry. Runs in the build process; Qt offscreen.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SVG = ROOT / "resources" / "icons" / "bts-desk.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256)


def _png(svg: Path, size: int) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    QSvgRenderer(str(svg)).render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError(f"cannot render {svg} at {size} px")
    return bytes(data.data())


def write_ico(ico: Path, svg: Path = SVG, sizes: tuple[int, ...] = SIZES) -> Path:
    """Write ``ico`` (ICONDIR, one ICONDIRENTRY per size, then the PNGs) and return it."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication.instance() or QGuiApplication([])  # QImage/QPainter need one
    images = [_png(svg, size) for size in sizes]
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = len(header) + 16 * len(images)
    entries = b""
    for size, png in zip(sizes, images, strict=True):
        side = 0 if size >= 256 else size  # 0 means 256 in an ICONDIRENTRY
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset)
        offset += len(png)
    ico.parent.mkdir(parents=True, exist_ok=True)
    ico.write_bytes(header + entries + b"".join(images))
    return ico
