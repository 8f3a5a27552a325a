"""The ``bts-desk`` entry point as a process: --version, --self-test, the demo tour, start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

import bts_desk
from bts_desk.app import SHOWN_MARKER


def run_desk(tmp_path: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """``python -m bts_desk`` with every platform directory inside tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BTS_DESK_")}
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[name] = str(tmp_path / name.lower())
    env["BTS_DESK_CONFIG"] = str(tmp_path / "user.toml")
    env["QT_QPA_PLATFORM"] = "offscreen"
    return subprocess.run(
        [sys.executable, "-m", "bts_desk", *args],
        capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip


def test_version(tmp_path: Path) -> None:
    done = run_desk(tmp_path, "--version")
    assert done.returncode == 0 and done.stdout.strip() == f"bts-desk {bts_desk.__version__}"


def test_self_test(tmp_path: Path) -> None:
    done = run_desk(tmp_path, "--self-test")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "self-test passed"
    assert any(line.startswith("ok   translations:") for line in lines)
    assert any(line.startswith("ok   store: SQLCipher 4.") for line in lines)
    assert any("driver" in line for line in lines)


def test_bad_config_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("[ui\nlanguage = ", "utf-8")
    done = run_desk(tmp_path, "--config", str(tmp_path / "bad.toml"), "--self-test")
    assert done.returncode == 2 and "配置文件无法读取" in done.stderr


def test_login_is_usable_before_the_store_opens(tmp_path: Path) -> None:
    """The login screen is shown with the PIN field focused and taking keys, before the main
    window, the store or any heavy module."""
    done = run_desk(tmp_path, "--exit-when-shown", "--demo")
    assert done.returncode == 0, done.stderr
    marker, usable, heavy = done.stdout.strip().rsplit(" ", 2)
    assert marker == SHOWN_MARKER and usable == "login-usable"
    assert heavy == "-", f"imported before the first window: {heavy}"
    assert not (tmp_path / "xdg_data_home" / "bts-desk" / "demo" / "desk.db").exists()


@pytest.mark.pcscd
@pytest.mark.skipif(os.geteuid() != 0, reason="the demo starts pcscd: needs root here")
def test_demo_tour_saves_a_picture_per_step(tmp_path: Path) -> None:
    """``./dev.sh demo`` without a display: the whole story offscreen, one picture a step."""
    done = run_desk(tmp_path, "--demo", "--tour", "shots")
    assert done.returncode == 0, done.stderr[-3000:]
    pictures = sorted((tmp_path / "shots").glob("*.png"))
    names = [p.name.removesuffix(".png") for p in pictures]
    assert names == [
        "01-locked-before-login", "02-logged-in", "03-query-tab", "04-query-by-name",
        "05-details", "06-details-closed", "07-no-biometrics", "08-enroll-dialog", "09-finger-1",
        "10-finger-2-same-finger-refused", "11-finger-2", "12-face-preview", "13-face-taken",
        "14-saved", "15-flag-changed", "16-uploaded", "17-verify-page", "18-verify-passed",
        "19-verify-other-finger-failed", "20-exception-no-biometrics",
        "21-exception-enroll-dialog", "22-exception-reason", "23-exception-fingers",
        "24-exception-face-preview", "25-exception-face-taken", "26-exception-saved",
        "27-exception-flag", "28-exception-uploaded", "29-exception-details",
        "30-exception-details-closed", "31-card-pulled-locked", "32-card-inserted",
        "33-unlocked", "34-device-status",
    ]  # fmt: skip
    for picture in pictures:
        image = QImage(str(picture))
        smallest = 300 if picture.stem.endswith("-reason") else 500  # the reason dialog alone
        assert not image.isNull() and image.width() > smallest, picture.name
    assert (tmp_path / "xdg_data_home" / "bts-desk" / "demo" / "desk.db").is_file()


def test_demo_data_fills_the_demo_store(tmp_path: Path) -> None:
    done = run_desk(tmp_path, "demo-data", "--demo", "--rows", "300")
    assert done.returncode == 0, done.stderr
    assert "305 records" in done.stdout
    assert (tmp_path / "xdg_data_home" / "bts-desk" / "demo" / "desk.db").is_file()
