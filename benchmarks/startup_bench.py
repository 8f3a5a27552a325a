"""Start-up: process start to the usable login screen, against a bare PySide6 window.

    .venv/bin/python benchmarks/startup_bench.py [--runs 9]

Alternates runs of ``bts-desk --exit-when-shown --demo`` (settings, logging, QApplication,
translators, style, the main window and the login screen shown, its PIN field focused and
taking a typed digit — what an officer waits for; it prints a marker and the heavy modules
already imported) and of a bare ``QApplication`` + ``QMainWindow().show()`` script, each timed
from ``Popen`` to the marker line. Platform directories point into a temporary directory; without a
display Qt runs offscreen. Prints one JSON line; target: ratio <= 1.5.

The project's own modules are byte-compiled first (``compileall``), as an installed desk has
them (pip compiles a wheel's modules on install, the PyInstaller bundle carries only bytecode):
in the editable development install under ``PYTHONDONTWRITEBYTECODE=1`` the ~15 modules on the
start path were otherwise compiled from source at every start (~45 ms), which the bare window
never pays. Also printed: the CPU time (user + system) of each process to its exit, a figure a
busy machine disturbs less than the wall clock (the target is on the wall clock).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE = """
import sys
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv[:1])
window = QMainWindow()
window.resize(1360, 820)
window.show()
app.processEvents()
print("bare: window shown", flush=True)
"""


def time_to_marker(command: list[str], env: dict[str, str]) -> tuple[float, str, float]:
    """Wall ms from Popen to the marker line, the line, and the process's CPU ms to its exit."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                            text=True)  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = (time.perf_counter() - start) * 1000
    _pid, _status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(_status)
    proc.stdout.close()
    if "window shown" not in line or "NOT-usable" in line:
        raise RuntimeError(f"{command}: no marker, got {line!r}")
    return elapsed, line.strip(), (usage.ru_utime + usage.ru_stime) * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    root = Path(__file__).resolve().parent.parent
    for package in ("bts_desk", "drivers", "resources"):  # as installed: bytecode present
        compileall.compile_dir(root / package, quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            env[name] = str(Path(tmp) / name.lower())
        if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
            env["QT_QPA_PLATFORM"] = "offscreen"
        desk_cmd = [sys.executable, "-m", "bts_desk", "--exit-when-shown", "--demo"]
        bare_cmd = [sys.executable, "-c", BARE]
        time_to_marker(desk_cmd, env)  # warm the OS file cache for both
        time_to_marker(bare_cmd, env)
        desk, bare, desk_cpu, bare_cpu = [], [], [], []
        heavy = ""
        for _ in range(args.runs):
            ms, line, cpu = time_to_marker(desk_cmd, env)
            desk.append(ms)
            desk_cpu.append(cpu)
            heavy = line.rsplit(" ", 1)[-1]
            ms, _line, cpu = time_to_marker(bare_cmd, env)
            bare.append(ms)
            bare_cpu.append(cpu)
    desk_ms, bare_ms = statistics.median(desk), statistics.median(bare)
    print(json.dumps({
        "runs": args.runs,
        "desk_usable_login_ms_p50": round(desk_ms, 1),
        "bare_pyside6_window_ms_p50": round(bare_ms, 1),
        "ratio": round(desk_ms / bare_ms, 2),
        "desk_ms_min": round(min(desk), 1),
        "bare_ms_min": round(min(bare), 1),
        "desk_cpu_ms_p50": round(statistics.median(desk_cpu), 1),
        "bare_cpu_ms_p50": round(statistics.median(bare_cpu), 1),
        "cpu_ratio": round(statistics.median(desk_cpu) / statistics.median(bare_cpu), 2),
        "heavy_modules_before_window": heavy,
        "platform": env.get("QT_QPA_PLATFORM", "native"),
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
