"""Helpers of the installer tests: the build modules of ``packaging/`` and the build script.

Imported by the test modules as ``packaging_helpers`` (pytest puts this folder on sys.path);
``packaging`` itself is also the name of a PyPI package, so the build modules are loaded by path.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
BUILD = PACKAGING / "build.py"
PRODUCT_NAME = "边民互市贸易服务"
# A stand-in for the Windows bundle (which only a Windows machine can build).
PAYLOAD = (
    "bts-desk.exe",
    "_internal/python311.dll",
    "_internal/PySide6/plugins/platforms/qwindows.dll",
    "_internal/bts_desk/resources/i18n/zh_CN/main_window.qm",
    "_internal/cv2/data/haarcascade_frontalface_default.xml",
)


def load_packaging_module(name: str) -> ModuleType:
    """Import ``packaging/<name>.py`` by path (``packaging`` is also a PyPI package's name)."""
    if name in sys.modules:
        return sys.modules[name]
    if str(PACKAGING) not in sys.path:
        sys.path.append(
            str(PACKAGING)
        )  # the build modules import each other (as build.py runs them)
    spec = importlib.util.spec_from_file_location(name, PACKAGING / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run_build(*args: str | Path, timeout: float = 900) -> str:
    """Run ``packaging/build.py`` with this interpreter; returns its stdout, fails on error."""
    cmd = [sys.executable, str(BUILD), *map(str, args)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"{cmd} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def require_tools(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (./dev.sh setup installs them)")


def make_payload(folder: Path) -> Path:
    for rel in PAYLOAD:
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"MZ stand-in for " + rel.encode())
    return folder
