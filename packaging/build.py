#!/usr/bin/env python3
"""Build the desk's installers.

    python packaging/build.py bundle  # PyInstaller one-folder bundle: dist/bts-desk/
    python packaging/build.py deb     # .deb from the Linux bundle: dist/bts-desk_<v>_<arch>.deb
    python packaging/build.py msi     # MSI from the Windows bundle: dist/bts-desk-<v>-x64.msi
    python packaging/build.py all     # bundle, then the installer of this platform

Run it with the project's virtual environment (``.venv/bin/python`` or, on Windows,
``.venv\\Scripts\\python``). The version of every artefact is ``bts_desk.__version__``.
``bundle`` is skipped when nothing it is built from changed since the last build (a content
hash in ``dist/bts-desk.stamp``); ``--force`` rebuilds. ``msi`` uses wixl (msitools) on Linux
and WiX 3 (candle/light) on Windows; ``--bundle`` points it at another bundle folder (a
Windows bundle copied here, or a stand-in in the tests).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import bundle  # noqa: E402  (the modules next to this script)
import deb_package  # noqa: E402
import msi_package  # noqa: E402


def project_version() -> str:
    """``bts_desk.__version__``, read from the source (no import: no Qt, no venv needed)."""
    text = (ROOT / "bts_desk" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.MULTILINE)
    if not match:
        raise SystemExit("bts_desk/__init__.py has no __version__")
    return match.group(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", choices=("bundle", "deb", "msi", "all"))
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "packaging")
    parser.add_argument("--bundle", type=Path, help="bundle folder (default: dist/bts-desk)")
    parser.add_argument("--force", action="store_true", help="rebuild the bundle anyway")
    parser.add_argument(
        "--compress", default="xz", choices=("xz", "gzip", "zstd", "none"), help=".deb only"
    )
    parser.add_argument(
        "--toolset",
        choices=("wixl", "wix3"),
        default="wix3" if sys.platform == "win32" else "wixl",
        help="msi only",
    )
    args = parser.parse_args(argv)
    version = project_version()
    dist: Path = args.dist.resolve()
    folder: Path = (args.bundle or dist / bundle.NAME).resolve()
    targets = [args.target]
    if args.target == "all":
        targets = ["bundle", "msi" if sys.platform == "win32" else "deb"]
    for target in targets:
        if target == "bundle":
            if args.bundle:
                raise SystemExit("--bundle names an existing bundle; do not combine with bundle")
            result = bundle.build_bundle(dist, args.work.resolve(), force=args.force)
        elif target == "deb":
            with bundle.lock(args.work.resolve()):  # not while another build replaces it
                result = deb_package.build_deb(
                    folder, version, dist, args.work.resolve(), compress=args.compress
                )
        else:
            output = dist / f"bts-desk-{version}-x64.msi"
            result = msi_package.build_msi(folder, version, output, toolset=args.toolset)
        print(f"{target}: {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
