"""Starting pcscd for the demo, the tests and the benchmarks when it is not running.

On a desk pcscd is a system service (socket-activated by systemd on Debian, the Smart Card
service on Windows). In containers and CI nothing starts it, so the demo and the test set-up
start ``pcscd --foreground`` themselves (as root: it needs ``/run/pcscd``) and wait until the
vpcd readers appear. Only what was started here is stopped here. Any thread (blocks).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from pathlib import Path
from typing import IO

from smartcard import scard

from bts_desk.errors import CardError

log = logging.getLogger(__name__)

VPCD_READER_PREFIX = "Virtual PCD"


def pcsc_readers() -> list[str] | None:
    """The reader names pcscd reports, or None when no pcscd answers."""
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        return None
    try:
        hresult, readers = scard.SCardListReaders(context, [])
        return [str(r) for r in readers] if hresult == scard.SCARD_S_SUCCESS else []
    finally:
        scard.SCardReleaseContext(context)


def ensure_pcscd(
    log_path: Path | None = None, timeout: float = 15.0
) -> subprocess.Popen[bytes] | None:
    """Make sure a pcscd with vpcd's readers answers. Returns the process started here (stop
    it with ``stop_pcscd``), or None when one was already running. CardError if impossible."""
    started: subprocess.Popen[bytes] | None = None
    if pcsc_readers() is None:
        binary = shutil.which("pcscd") or "/usr/sbin/pcscd"
        if not Path(binary).exists():
            raise CardError(
                "智能卡服务（pcscd）未安装",
                "pcscd not found (apt-get install pcscd vsmartcard-vpcd)",
            )
        if log_path is None:
            started = _spawn(binary, subprocess.DEVNULL)
        else:
            with log_path.open("ab") as output:
                started = _spawn(binary, output)
        log.info("started pcscd (pid %d)", started.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if started is not None and started.poll() is not None:
            raise CardError(
                "智能卡服务（pcscd）无法启动",
                f"pcscd exited with {started.returncode} (root needed for /run/pcscd)",
            )
        if any(r.startswith(VPCD_READER_PREFIX) for r in pcsc_readers() or []):
            return started
        time.sleep(0.1)
    stop_pcscd(started)
    raise CardError(
        "虚拟读卡器未出现，请检查 vsmartcard-vpcd 是否已安装",
        f"no '{VPCD_READER_PREFIX}' reader in pcscd after {timeout} s",
    )


def _spawn(binary: str, output: IO[bytes] | int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [binary, "--foreground", "--info"],
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_pcscd(process: subprocess.Popen[bytes] | None) -> None:
    """Stop a pcscd started by ``ensure_pcscd`` (None: nothing was started)."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.info("stopped pcscd (pid %d)", process.pid)
