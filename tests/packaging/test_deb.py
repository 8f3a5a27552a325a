"""The .deb: built from the real Linux bundle, inspected, installed here, started, removed.

Installing needs root and dpkg (the CI machine and ``./dev.sh test`` as root have both); the
install test skips with the reason otherwise. The bundle is PyInstaller's (about half a minute
of CPU, once per session), so everything using it is marked slow.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import platform
import re
import shutil
import subprocess
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging_helpers import ROOT, load_packaging_module, require_tools, run_build

import bts_desk
from bts_desk.config import Settings, load_settings
from bts_desk.devices.ports import USB_SERIAL_BRIDGES

PACKAGE = "bts-desk"
SCANNER_BRIDGES = ("1a86:7523", "10c4:ea60", "0403:6001", "0403:6015", "067b:2303")
DEPENDS = ("pcscd", "libpcsclite1", "fonts-noto-cjk", "libegl1", "libxkbcommon-x11-0")
INSTALLED = (
    "/opt/bts-desk/bts-desk",
    "/usr/share/applications/bts-desk.desktop",
    "/usr/share/icons/hicolor/scalable/apps/bts-desk.svg",
    "/lib/udev/rules.d/60-bts-desk-scanner.rules",
    "/etc/bts-desk/config.toml",
)
# Whichever of these runs first builds the bundle (PyInstaller): more than the suite's 300 s.
BUNDLE_TIMEOUT = pytest.mark.timeout(900)
NOT_SHIPPED = (
    "WebEngine",
    "libQt6Qml",
    "libQt6Quick",
    "tkinter",
    "fastapi",
    "uvicorn",
    "pytest",
    "libqgtk3",  # Qt's GTK theme and the GTK stack it drags in
    "libgtk-3",
    "libpango",
)


def debian_version() -> str:
    return str(load_packaging_module("deb_package").debian_version(bts_desk.__version__))


@pytest.fixture(scope="module")
def deb(linux_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tools("dpkg-deb", "dpkg")
    dist = tmp_path_factory.mktemp("deb")
    # zstd: seconds instead of xz's minutes here; the release build keeps xz (the default),
    # which older dpkg on UOS/Kylin can unpack.
    out = run_build("deb", "--bundle", linux_bundle, "--compress", "zstd", "--dist", dist)
    path = Path(out.strip().rsplit(": ", 1)[1])
    assert path.name == f"{PACKAGE}_{debian_version()}_{arch()}.deb"
    return path


def arch() -> str:
    return subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()


def deb_file(deb: Path, member: str) -> str:
    """The text of one file of the package, unpacked with dpkg-deb --fsys-tarfile."""
    tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True, check=True)
    out = subprocess.run(
        ["tar", "-xOf", "-", f"./{member.lstrip('/')}"],
        input=tar.stdout,
        capture_output=True,
        check=True,
    )
    return out.stdout.decode("utf-8")


def test_config_template_lists_every_setting_with_its_default(tmp_path: Path) -> None:
    """Uncommenting every line of /etc/bts-desk/config.toml gives the defaults back."""
    text = load_packaging_module("deb_package").config_template()
    assert "外接设备状态" in text
    uncommented = re.sub(r"^# (\w+ = )", r"\1", text, flags=re.MULTILINE)
    machine = tmp_path / "config.toml"
    machine.write_text(uncommented, encoding="utf-8")
    parsed = tomllib.loads(uncommented)
    defaults = Settings()
    for section, values in parsed.items():
        assert set(values) == set(vars(getattr(defaults, section))), section
    loaded = load_settings(machine_file=machine, user_file=tmp_path / "none", env={})
    assert loaded.replace("desk", id=defaults.desk.id) == defaults
    assert loaded.desk.id == "desk-01"


@pytest.mark.slow
@BUNDLE_TIMEOUT
def test_bundle_carries_what_the_desk_loads_by_name(linux_bundle: Path) -> None:
    internal = linux_bundle / "_internal"
    assert (internal / "cv2" / "data" / "haarcascade_frontalface_default.xml").is_file()
    migrations = internal / "bts_desk" / "store" / "migrations"
    assert (migrations / "env.py").is_file() and (migrations / "script.py.mako").is_file()
    shipped = {p.name for p in (migrations / "versions").glob("*.py")}
    source = {p.name for p in (ROOT / "bts_desk/store/migrations/versions").glob("*.py")}
    assert source <= shipped
    translations = ROOT / "resources" / "i18n" / "zh_CN"
    for ts in translations.glob("*.ts"):
        assert (internal / "bts_desk/resources/i18n/zh_CN" / f"{ts.stem}.qm").is_file(), ts.name
    plugins = internal / "PySide6" / "Qt" / "plugins"
    for plugin in (
        "platforms/libqoffscreen.so",
        "platforms/libqxcb.so",
        "imageformats/libqjpeg.so",
    ):
        assert (plugins / plugin).is_file(), plugin
    unwanted = [p for p in internal.rglob("*") if any(name in p.name for name in NOT_SHIPPED)]
    assert not unwanted, unwanted[:5]


@pytest.mark.slow
@BUNDLE_TIMEOUT
def test_package_metadata_and_contents(deb: Path) -> None:
    fields = subprocess.run(
        ["dpkg-deb", "-f", str(deb), "Package", "Version", "Architecture", "Depends"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"Package: {PACKAGE}" in fields
    assert f"Version: {debian_version()}" in fields
    depends = {
        d.strip().split()[0] for d in fields.split("Depends:")[1].replace("|", ",").split(",")
    }
    assert set(DEPENDS) <= depends, set(DEPENDS) - depends
    glibc = re.search(r"libc6 \(>= 2\.(\d+)\)", fields)
    assert glibc, "the bundle needs a C library at least as new as the build machine's"
    build_glibc = platform.libc_ver()[1]
    assert int(glibc.group(1)) <= int(build_glibc.split(".")[1]), build_glibc
    listing = subprocess.run(
        ["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    for path in INSTALLED:
        assert f".{path}\n" in listing, path
    assert re.search(r"^-rwxr-xr-x root/root .* \./opt/bts-desk/bts-desk$", listing, re.M)
    assert re.search(r"\./usr/bin/bts-desk -> /opt/bts-desk/bts-desk$", listing, re.M)
    info = subprocess.run(
        ["dpkg-deb", "-I", str(deb), "conffiles"], capture_output=True, text=True, check=True
    ).stdout
    assert info.split() == ["/etc/bts-desk/config.toml"]


@pytest.mark.slow
@BUNDLE_TIMEOUT
def test_desktop_entry_and_udev_rule(deb: Path, tmp_path: Path) -> None:
    desktop = deb_file(deb, "/usr/share/applications/bts-desk.desktop")
    assert "Name[zh_CN]=边民互市贸易服务" in desktop
    assert "Exec=/usr/bin/bts-desk" in desktop and "Icon=bts-desk" in desktop
    if shutil.which("desktop-file-validate"):
        entry = tmp_path / "bts-desk.desktop"
        entry.write_text(desktop, encoding="utf-8")
        check = subprocess.run(
            ["desktop-file-validate", str(entry)], capture_output=True, text=True, check=False
        )
        assert check.returncode == 0 and not check.stdout.strip(), check.stdout
    rules = deb_file(deb, "/lib/udev/rules.d/60-bts-desk-scanner.rules")
    matched = set(re.findall(r'ATTRS\{idVendor\}=="(\w{4})", ATTRS\{idProduct\}=="(\w{4})"', rules))
    assert {tuple(pair.split(":")) for pair in SCANNER_BRIDGES} == matched
    discovered = {(f"{vid:04x}", f"{pid:04x}") for vid, pid in USB_SERIAL_BRIDGES}
    assert discovered == matched, "the rule and port discovery must know the same bridges"
    access = next(line for line in rules.splitlines() if line.startswith("MODE="))
    assert 'GROUP="plugdev"' in access and 'TAG+="uaccess"' in access
    assert 'ENV{ID_MM_DEVICE_IGNORE}="1"' in access


# -- installed for real ------------------------------------------------------------------


@contextlib.contextmanager
def package_lock() -> Iterator[None]:
    """One install test at a time on this machine (parallel sessions share the dpkg db)."""
    with open("/tmp/bts-desk-deb-test.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def dpkg(*args: str) -> subprocess.CompletedProcess[str]:
    """dpkg, waiting (up to 2 min) while apt or another dpkg holds the lock."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    deadline = time.monotonic() + 120
    while True:
        result = subprocess.run(
            ["dpkg", *args], capture_output=True, text=True, env=env, check=False
        )
        if "lock" not in result.stderr or time.monotonic() > deadline:
            return result
        time.sleep(2)


def status() -> str:
    result = dpkg("-s", PACKAGE)
    match = re.search(r"^Status: (.*)$", result.stdout, re.MULTILINE)
    return match.group(1) if match and result.returncode == 0 else "not installed"


def desk_env(home: Path) -> dict[str, str]:
    """A clean user for the installed app: its config, data and logs below ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BTS_DESK_", "XDG_"))}
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen", XDG_STATE_HOME=str(home / "state"))
    return env


@pytest.mark.slow
@BUNDLE_TIMEOUT
def test_install_start_remove_purge(deb: Path, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("dpkg -i needs root")
    with package_lock():
        if status() != "not installed":
            assert dpkg("--purge", PACKAGE).returncode == 0
        try:
            installed = dpkg("-i", str(deb))
            assert installed.returncode == 0, installed.stdout + installed.stderr
            assert status() == "install ok installed"
            for path in INSTALLED:
                assert Path(path).exists(), path
            assert Path("/usr/bin/bts-desk").resolve() == Path("/opt/bts-desk/bts-desk")
            run_installed_app(tmp_path)

            removed = dpkg("-r", PACKAGE)
            assert removed.returncode == 0, removed.stderr
            assert not Path("/opt/bts-desk").exists() and not Path("/usr/bin/bts-desk").exists()
            assert not Path("/lib/udev/rules.d/60-bts-desk-scanner.rules").exists()
            assert Path("/etc/bts-desk/config.toml").is_file(), "remove keeps the conffile"
            purged = dpkg("--purge", PACKAGE)
            assert purged.returncode == 0, purged.stderr
            assert not Path("/etc/bts-desk").exists()
            assert status() == "not installed"
        finally:
            if status() != "not installed":
                dpkg("--purge", PACKAGE)


def run_installed_app(home: Path) -> None:
    env = desk_env(home)
    version = subprocess.run(
        ["/usr/bin/bts-desk", "--version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"bts-desk {bts_desk.__version__}"

    test = self_test(env)
    if shutil.which("xvfb-run"):  # and on a real X display, the way a desk starts it
        xcb = self_test(dict(env, QT_QPA_PLATFORM="xcb"), ["xvfb-run", "-a"])
        assert "platform xcb" in xcb, xcb
    log = home / "state" / "bts-desk" / "log" / "bts-desk.log"  # what the README tells IT
    assert log.is_file()
    assert "not installed (skipped)" not in test, test

    # The machine-wide layer: an edit of /etc/bts-desk/config.toml reaches the installed app.
    config = Path("/etc/bts-desk/config.toml")
    machine_logs = home / "machine-logs"
    text = config.read_text("utf-8")
    assert '\n# dir = ""' in text
    config.write_text(text.replace('\n# dir = ""', f'\ndir = "{machine_logs}"'), "utf-8")
    self_test(env)
    assert (machine_logs / "bts-desk.log").is_file()


def self_test(env: dict[str, str], wrapper: list[str] | None = None) -> str:
    result = subprocess.run(
        [*(wrapper or []), "/usr/bin/bts-desk", "--self-test"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "self-test passed" in result.stdout
    return result.stdout
