"""Where the shipped resources are (icons, styles, translations, demo media).

``resources/`` is installed as the package ``bts_desk.resources`` (see setup.py), so this works
the same from a checkout, a wheel and a PyInstaller bundle. Safe on any thread.
"""

from __future__ import annotations

import functools
from importlib.resources import files
from pathlib import Path


@functools.cache
def resource_dir() -> Path:
    # resources/ is mapped to the package bts_desk.resources by setup.py.
    return Path(str(files("bts_desk.resources"))).resolve()


def resource_path(*parts: str) -> Path:
    return resource_dir().joinpath(*parts)
