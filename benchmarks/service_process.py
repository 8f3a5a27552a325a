"""The sync service as a separate process tree in the benchmarks (``sync_bench``,
``fleet_bench``): its CPU over the manager and every worker, and stopping it."""

from __future__ import annotations

import contextlib
import signal
import subprocess

import psutil


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and all its descendants."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGINT (uvicorn's graceful stop), then kill after 30 s."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
