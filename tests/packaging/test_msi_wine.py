"""The MSI installed for real by a Windows Installer engine: Wine's msiexec, in a throw-away prefix.

What ``test_msi`` reads from the tables is run here: the public properties IT types on the
command line land in ``HKLM\\SOFTWARE\\BorderTradeService\\bts-desk`` (only those given), an
upgrade without them keeps them, an upgrade with one changes just that one, an older MSI is
refused, and uninstalling removes program, shortcut and values. Wine's engine is not Windows',
but it runs the same tables and sequences.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging_helpers import PRODUCT_NAME, load_packaging_module, make_payload, require_tools

from bts_desk.config import REGISTRY_KEY

WINE = shutil.which("wine64") or "/usr/lib/wine/wine64"
HKLM_KEY = "HKLM\\" + REGISTRY_KEY

pytestmark = pytest.mark.slow


class Prefix:
    """A Wine prefix under tmp_path; nothing reaches the user's menus or home."""

    def __init__(self, root: Path) -> None:
        self.root = root / "prefix"
        home = root / "home"
        home.mkdir()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("WINE", "XDG_"))}
        self.env.update(
            WINEPREFIX=str(self.root),
            WINEDEBUG="-all",
            WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d",
            HOME=str(home),
            XDG_DATA_HOME=str(home / "share"),
            XDG_CONFIG_HOME=str(home / "config"),
        )
        self.env.pop("DISPLAY", None)

    def run(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [WINE, *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            check=False,
            errors="replace",
        )

    def msiexec(self, *args: str) -> int:
        return self.run("msiexec", *args, "/qn").returncode

    def values(self) -> dict[str, str]:
        """The REG_SZ values of the desk's key; {} when the key does not exist."""
        result = self.run("reg", "query", HKLM_KEY)
        out: dict[str, str] = {}
        for line in result.stdout.splitlines():
            parts = line.split(None, 2)
            if len(parts) >= 2 and parts[1] == "REG_SZ":
                out[parts[0]] = parts[2] if len(parts) == 3 else ""  # an empty value counts
        return out

    @property
    def program_dir(self) -> Path:
        return self.root / "drive_c" / "Program Files" / "bts-desk"

    def shortcuts(self) -> list[Path]:
        return list((self.root / "drive_c").rglob(f"{PRODUCT_NAME}.lnk"))


@pytest.fixture
def wine(tmp_path: Path) -> Iterator[Prefix]:
    if not Path(WINE).is_file():
        pytest.skip("wine64 not installed (./dev.sh setup installs it)")
    require_tools("wixl", "msibuild", "msiinfo")
    prefix = Prefix(tmp_path)
    boot = prefix.run("wineboot", "--init", timeout=300)
    assert (prefix.root / "system.reg").is_file(), boot.stderr[-2000:]
    yield prefix
    prefix.run("wineserver", "-k", timeout=60)


def build(tmp_path: Path, version: str) -> str:
    """An MSI of ``version`` from the stand-in payload, as a Windows path inside the prefix."""
    msi_package = load_packaging_module("msi_package")
    payload = tmp_path / "payload"
    if not payload.exists():
        make_payload(payload)
    msi = msi_package.build_msi(payload, version, tmp_path / f"bts-desk-{version}.msi")
    return "Z:" + str(msi).replace("/", "\\")


def test_silent_install_upgrade_downgrade_uninstall(wine: Prefix, tmp_path: Path) -> None:
    v1, v2, v3 = (build(tmp_path, v) for v in ("1.0.0", "1.1.0", "1.2.0"))

    given = {"SYNC_URL": "https://sync.example.invalid", "CUSTOMS_CODE": "8609"}
    cert = r"C:\ProgramData\bts-desk\ca.pem"
    sync_ca = r"C:\ProgramData\bts-desk\sync-ca.pem"
    args = [f"{k}={v}" for k, v in given.items()] + [f"CA_CERT={cert}", f"SYNC_CA_CERT={sync_ca}"]
    assert wine.msiexec("/i", v1, *args) == 0
    first = {
        "sync.url": "https://sync.example.invalid",
        "desk.customs_code": "8609",
        "card.ca_cert": cert,
        "sync.ca_cert": sync_ca,
    }
    assert wine.values() == first, "exactly the given properties are written"
    assert (wine.program_dir / "bts-desk.exe").is_file()
    assert (wine.program_dir / "_internal" / "python311.dll").is_file()
    assert len(wine.shortcuts()) == 1

    assert wine.msiexec("/i", v2) == 0
    assert wine.values() == first, "an upgrade without properties keeps the values"

    assert wine.msiexec("/i", v3, "SCANNER_PORT=COM4", "SYNC_URL=https://new.example.invalid") == 0
    assert wine.values() == {
        **first,
        "sync.url": "https://new.example.invalid",
        "scanner.port": "COM4",
    }
    listing = wine.run("reg", "query", HKLM_KEY + "\\Installer").stdout
    assert "1.2.0" in listing

    assert wine.msiexec("/i", v1) != 0, "an older MSI must not replace a newer desk"
    assert "1.2.0" in wine.run("reg", "query", HKLM_KEY + "\\Installer").stdout

    assert wine.msiexec("/x", v3) == 0
    assert wine.values() == {}
    assert not (wine.program_dir / "bts-desk.exe").exists()
    assert wine.shortcuts() == []
