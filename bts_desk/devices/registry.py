"""The registry of device drivers, in the style of python-can's interface table.

A driver is named in the config (``[scanner] driver = "r30x"``); the table maps that name to
``module:Class``, imported only when chosen, so a desk never imports drivers it does not use and
the core never imports ``bts_desk.drivers`` statically. Add a device model by adding its module
under ``drivers/`` and one line here.
"""

from __future__ import annotations

import importlib
from typing import Any

from bts_desk.errors import ConfigError

SCANNER_DRIVERS: dict[str, tuple[str, str]] = {
    # EF 01 serial protocol: Synochip AS608, ZhianTec ZFM-20, Grow R307/R503 and compatibles.
    "r30x": ("bts_desk.drivers.r30x.driver", "R30xScanner"),
    # USB readers through libfprint 2 (Linux, PyGObject): port = "auto", a driver or device id.
    "libfprint": ("bts_desk.drivers.libfprint.driver", "LibfprintScanner"),
}

CAMERA_DRIVERS: dict[str, tuple[str, str]] = {
    # OpenCV VideoCapture on a device index, or a file / image sequence / URL stand-in.
    "opencv": ("bts_desk.drivers.opencv_camera", "OpenCvCamera"),
}

CARD_PROFILES: dict[str, tuple[str, str]] = {
    # NIST SP 800-73-4 PIV: the reference officer card profile.
    "piv": ("bts_desk.card.piv", "PivProfile"),
    # Any card or USB key through its vendor's PKCS#11 module ([card] pkcs11_module).
    "pkcs11": ("bts_desk.card.pkcs11", "Pkcs11TokenSource"),
}


def load_class(table: dict[str, tuple[str, str]], name: str, kind: str) -> Any:
    """Import and return the class registered as ``name`` in ``table``; ConfigError if unknown."""
    try:
        module_name, class_name = table[name]
    except KeyError:
        known = ", ".join(sorted(table))
        raise ConfigError(
            f"未知的{kind}驱动：{name}", f"unknown {kind} driver {name!r}; known: {known}"
        ) from None
    return getattr(importlib.import_module(module_name), class_name)
