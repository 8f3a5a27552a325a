"""Fixtures of the installer tests: the Linux bundle, built at most once per session.

``packaging/build.py bundle`` (PyInstaller, about half a minute of CPU) itself skips the build
when nothing the bundle is made from changed since the last one (``dist/bts-desk.stamp``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging_helpers import ROOT, run_build


@pytest.fixture(scope="session")
def linux_bundle() -> Path:
    """``dist/bts-desk``: the PyInstaller one-folder bundle of this checkout."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the Linux bundle is built on Linux")
    run_build("bundle")
    bundle = ROOT / "dist" / "bts-desk"
    assert (bundle / "bts-desk").is_file()
    return bundle
