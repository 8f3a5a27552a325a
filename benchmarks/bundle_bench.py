"""The installed desk: size of the PyInstaller bundle and its start-up against the venv's.

    .venv/bin/python benchmarks/bundle_bench.py [--runs 5]

Builds ``dist/bts-desk`` with ``packaging/build.py bundle`` (skipped when up to date), then
alternates runs of the frozen ``dist/bts-desk/bts-desk --exit-when-shown --demo`` and of
``python -m bts_desk --exit-when-shown --demo`` from the venv, each timed from ``Popen`` to
the "window shown" line. Platform directories point into a temporary directory; without a
display Qt runs offscreen. Prints one JSON line (sizes in MB, times in ms).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "dist" / "bts-desk"


def time_to_window(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = (time.perf_counter() - start) * 1000
    proc.wait(timeout=120)
    if "window shown" not in line:
        raise RuntimeError(f"{command}: no 'window shown' line, got {line!r}")
    return elapsed


def bundle_size() -> tuple[float, int]:
    files = [p for p in BUNDLE.rglob("*") if p.is_file() and not p.is_symlink()]
    return sum(p.stat().st_size for p in files) / 1e6, len(files)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "build.py"), "bundle"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    size_mb, files = bundle_size()
    frozen: list[float] = []
    venv: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            env[name] = str(Path(tmp) / name.lower())
        if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
            env["QT_QPA_PLATFORM"] = "offscreen"
        flags = ["--exit-when-shown", "--demo"]
        for _ in range(args.runs):
            frozen.append(time_to_window([str(BUNDLE / "bts-desk"), *flags], env))
            venv.append(time_to_window([sys.executable, "-m", "bts_desk", *flags], env))
    frozen_ms, venv_ms = statistics.median(frozen), statistics.median(venv)
    result = {
        "bench": "bundle",
        "bundle_mb": round(size_mb, 1),
        "bundle_files": files,
        "frozen_window_ms": round(frozen_ms),
        "venv_window_ms": round(venv_ms),
        "ratio": round(frozen_ms / venv_ms, 2),
        "runs": args.runs,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
