"""The .deb for Debian-family desks (Debian, UOS, Kylin) from the Linux PyInstaller bundle.

Layout of the package:

    /opt/bts-desk/                          the bundle (executable bts-desk + _internal/)
    /usr/bin/bts-desk                       -> /opt/bts-desk/bts-desk
    /usr/share/applications/bts-desk.desktop
    /usr/share/icons/hicolor/scalable/apps/bts-desk.svg
    /lib/udev/rules.d/60-bts-desk-scanner.rules
    /etc/bts-desk/config.toml               conffile: every setting, commented out
    /usr/share/doc/bts-desk/copyright

The machine-wide config template is generated from ``bts_desk.config`` (every section and key
with its default and the comment next to it in the source), so it never misses a setting.
Built with ``dpkg-deb --root-owner-group``: no fakeroot and no root needed. Runs in the build
script's process.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TEMPLATES = HERE / "deb"
PACKAGE = "bts-desk"

CONFIG_HEADER = """\
# bts-desk: machine-wide settings of this desk (the installer's layer).
#
# Layers, each overriding the one before: the defaults shown below < this file < the per-user
# file ~/.config/bts-desk/config.toml (what the 外接设备状态 panel saves) < environment
# variables BTS_DESK_<SECTION>_<KEY> (e.g. BTS_DESK_SCANNER_PORT=/dev/ttyUSB0).
# Remove the leading "# " of a key to set it. This file is a conffile: upgrades keep your edits.
"""


def debian_version(version: str) -> str:
    """A Debian version that sorts like the PEP 440 one: pre-releases sort before the release."""
    return re.sub(r"\.?(a|b|rc|dev)(\d*)", r"~\1\2", version)


def _field_comments() -> dict[tuple[str, str], str]:
    """(class name, field) -> the comment written after the field in bts_desk/config.py."""
    source = (ROOT / "bts_desk" / "config.py").read_text(encoding="utf-8")
    lines = source.splitlines()
    out: dict[tuple[str, str], str] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.ClassDef):
            continue
        for item in node.body:
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                line = lines[item.lineno - 1]
                if "#" in line:
                    out[(node.name, item.target.id)] = line.split("#", 1)[1].strip()
    return out


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return hex(value).upper().replace("0X", "0x") if value >= 0x10000 else str(value)
    if isinstance(value, float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def config_template() -> str:
    """Every section and key of ``bts_desk.config.Settings``, commented out, with defaults."""
    sys.path.insert(0, str(ROOT))
    try:
        from bts_desk.config import Settings
        from bts_desk.devices import registry
    finally:
        sys.path.remove(str(ROOT))
    comments = _field_comments()
    for (section, key), table in (
        (("ScannerSettings", "driver"), registry.SCANNER_DRIVERS),
        (("CameraSettings", "driver"), registry.CAMERA_DRIVERS),
        (("CardSettings", "profile"), registry.CARD_PROFILES),
    ):
        known = "one of: " + ", ".join(sorted(table))
        comments[(section, key)] = "; ".join(filter(None, [comments.get((section, key)), known]))
    defaults = Settings()
    parts = [CONFIG_HEADER.rstrip("\n")]
    for section in dataclasses.fields(Settings):
        values = getattr(defaults, section.name)
        parts.append(f"\n[{section.name}]")
        for key in dataclasses.fields(values):
            if section.name == "desk" and key.name == "id":
                line, note = '# id = "desk-01"', "default: this computer's host name"
            else:
                line = f"# {key.name} = {_toml_value(getattr(values, key.name))}"
                note = comments.get((type(values).__name__, key.name), "")
            parts.append(f"{line}  # {note}" if note else line)
    return "\n".join(parts) + "\n"


def _install(src: Path, dest: Path, mode: int = 0o644) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    dest.chmod(mode)


def _normalise_modes(tree: Path) -> None:
    """0755 for directories and executables, 0644 for the rest (lintian's expectations)."""
    for path in [tree, *tree.rglob("*")]:
        if path.is_symlink():
            continue
        if path.is_dir() or path.stat().st_mode & 0o111:
            path.chmod(0o755)
        else:
            path.chmod(0o644)


ICON = ROOT / "resources" / "icons" / "bts-desk.svg"  # the app's, the MSI's and the menu's


def stage_root(bundle: Path, version: str, root: Path) -> Path:
    """Lay out the package's file system tree and DEBIAN/ under ``root``."""
    if not (bundle / PACKAGE).is_file():
        raise FileNotFoundError(f"{bundle} has no {PACKAGE} executable: not a Linux bundle")
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(bundle, root / "opt" / PACKAGE, symlinks=True)
    (root / "usr" / "bin").mkdir(parents=True)
    os.symlink(f"/opt/{PACKAGE}/{PACKAGE}", root / "usr" / "bin" / PACKAGE)
    _install(TEMPLATES / "bts-desk.desktop", root / "usr/share/applications/bts-desk.desktop")
    _install(ICON, root / "usr/share/icons/hicolor/scalable/apps/bts-desk.svg")
    rules = "60-bts-desk-scanner.rules"
    _install(TEMPLATES / rules, root / "lib/udev/rules.d" / rules)
    _install(TEMPLATES / "copyright", root / "usr/share/doc" / PACKAGE / "copyright")
    config = root / "etc" / PACKAGE / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(config_template(), encoding="utf-8")
    _normalise_modes(root)

    control = root / "DEBIAN"
    control.mkdir()
    for script in ("postinst", "postrm"):
        _install(TEMPLATES / script, control / script, 0o755)
    (control / "conffiles").write_text(f"/etc/{PACKAGE}/config.toml\n")
    (control / "md5sums").write_text(_md5sums(root))
    arch = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()
    fields = {
        "@VERSION@": debian_version(version),
        "@ARCH@": arch,
        "@INSTALLED_SIZE@": str(_installed_size_kib(root)),
        "@GLIBC@": glibc_floor(root / "opt" / PACKAGE),
    }
    text = (TEMPLATES / "control.in").read_text(encoding="utf-8")
    for key, value in fields.items():
        text = text.replace(key, value)
    (control / "control").write_text(text, encoding="utf-8")
    for path in control.iterdir():
        if path.name not in ("postinst", "postrm"):
            path.chmod(0o644)
    return root


def glibc_floor(tree: Path) -> str:
    """The newest ``GLIBC_2.x`` symbol version any ELF file under ``tree`` asks for.

    The bundle runs only where the C library is at least that new (its Python and libraries
    were built against the build machine's); ``libc6 (>= it)`` makes dpkg refuse an older
    system instead of the desk failing at start."""
    best = (2, 0)
    for path in tree.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        with path.open("rb") as handle:
            if handle.read(4) != b"\x7fELF":
                continue
        for match in re.finditer(rb"GLIBC_2\.(\d+)", path.read_bytes()):
            best = max(best, (2, int(match.group(1))))
    return f"{best[0]}.{best[1]}"


def _md5sums(root: Path) -> str:
    lines = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and not path.is_symlink() and rel.parts[0] not in ("DEBIAN", "etc"):
            lines.append(f"{hashlib.md5(path.read_bytes()).hexdigest()}  {rel.as_posix()}")
    return "\n".join(lines) + "\n"


def _installed_size_kib(root: Path) -> int:
    total = 0
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and "DEBIAN" not in path.parts:
            total += (path.stat().st_size + 1023) // 1024
    return total


def build_deb(bundle: Path, version: str, dist: Path, work: Path, *, compress: str = "xz") -> Path:
    """Build ``dist/bts-desk_<version>_<arch>.deb`` from the Linux bundle and return its path."""
    root = stage_root(bundle, version, work / "deb-root")
    control = (root / "DEBIAN" / "control").read_text(encoding="utf-8")
    arch = re.search(r"^Architecture: (\S+)", control, re.MULTILINE)
    assert arch is not None
    dist.mkdir(parents=True, exist_ok=True)
    output = dist / f"{PACKAGE}_{debian_version(version)}_{arch.group(1)}.deb"
    cmd = ["dpkg-deb", "--root-owner-group", f"-Z{compress}", "--build", str(root), str(output)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(root)
    return output
