"""The PyInstaller one-folder bundle ``dist/bts-desk/``, rebuilt only when its inputs changed.

A bundle takes minutes of CPU; the .deb test, the README's commands and CI all ask for it, so
the build is keyed by a hash of everything it is made from (the package, drivers, resources
incl. compiled translations, the spec, the Python and PyInstaller versions) and skipped when
``dist/bts-desk.stamp`` holds the same hash. A lock file serialises concurrent builds.

Runs in the build script's process; PyInstaller itself runs as a child process.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = HERE / "pyinstaller" / "bts-desk.spec"
NAME = "bts-desk"
INPUTS = ("bts_desk", "drivers", "resources", "packaging/pyinstaller")


def compile_translations() -> None:
    """``.ts`` -> ``.qm`` (lrelease), so that the bundle carries the Chinese UI."""
    subprocess.run([sys.executable, "-m", "bts_desk.ui.i18n", "compile"], cwd=ROOT, check=True)


def input_hash() -> str:
    digest = hashlib.sha256()
    import PyInstaller

    digest.update(f"{sys.version} {sys.platform} {PyInstaller.__version__}\n".encode())
    for top in INPUTS:
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()


@contextlib.contextmanager
def lock(work: Path) -> Iterator[None]:
    """Hold the bundle lock: one build at a time, and no build while the bundle is packaged."""
    path = work / "bundle.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        if sys.platform != "win32":
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def build_bundle(dist: Path, work: Path, *, force: bool = False) -> Path:
    """Build (or reuse) ``dist/bts-desk`` and return it."""
    target = dist / NAME
    stamp = dist / f"{NAME}.stamp"
    with lock(work):
        compile_translations()
        wanted = input_hash()
        executable = target / (NAME + (".exe" if sys.platform == "win32" else ""))
        fresh = executable.is_file() and stamp.is_file() and stamp.read_text().strip() == wanted
        if fresh and not force:
            print(f"bundle: {target} is up to date")
            return target
        stamp.unlink(missing_ok=True)
        if target.exists():
            shutil.rmtree(target)
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level=WARN"]
        cmd += ["--distpath", str(dist), "--workpath", str(work / "pyinstaller"), str(SPEC)]
        subprocess.run(cmd, cwd=ROOT, env=env, check=True)
        if not executable.is_file():
            raise RuntimeError(f"PyInstaller finished without {executable}")
        stamp.write_text(wanted + "\n")
    return target
