"""Card cases that need a PC/SC stack of their own: no reader at all, no PC/SC service, and
the service (with its readers) going away under a logged-in officer.

Each case runs a probe script in a private mount namespace (``unshare --mount``) whose
``/run/pcscd`` is a fresh tmpfs, so its pcscd (or the lack of one) is invisible to the suite's
shared pcscd. The probe drives the real pyscard → pcscd (→ vpcd → virtual card) stack and
prints one JSON line. Needs root (CI runs as root); skipped where namespaces are not allowed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.pcscd

PRIVATE_VPCD_PORT = 0x8C96  # 35990, away from the shared pcscd's vpcd ports (35963…)

NO_READER_PROBE = """
import json
from bts_desk.card.monitor import PresenceMonitor
from bts_desk.card.pcsc import CardLink, list_readers
from bts_desk.errors import CardError
out = {}
try:
    out["readers"] = list_readers()
    CardLink.open()
except CardError as exc:
    out["error"] = type(exc).__name__
    out["message"] = exc.user_message
monitor = PresenceMonitor(interval_s=0.1)
monitor.start()
snapshot = monitor.wait_first(5)
monitor.stop()
out["snapshot_readers"] = len(snapshot.readers) if snapshot else -1
out["snapshot_error"] = snapshot.error if snapshot else "none"
print(json.dumps(out))
"""

SERVICE_GONE_PROBE = f"""
import json, os, signal, threading, time
from bts_desk.card.monitor import PresenceMonitor
from bts_desk.card.piv import PivProfile
from bts_desk.card.session import OfficerSession, SessionState
from bts_desk.drivers.piv_card.officer_card import make_card
from bts_desk.drivers.piv_card.pki import issue_officer, make_ca

ca = make_ca()
card = make_card(issue_officer(ca, "李海关", "GY860901", "8609"), "123456",
                 port={PRIVATE_VPCD_PORT})
card.insert()
monitor = PresenceMonitor(interval_s=0.25)
session = OfficerSession(PivProfile(), [ca.certificate])
locked = threading.Event()
reasons = []
def on_event(event):
    reasons.append(event.reason.value)
    if event.state is SessionState.LOCKED:
        locked.set()
session.add_listener(on_event)
monitor.add_tick_listener(session.on_tick)
monitor.start()
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    snap = monitor.latest
    if snap is not None and snap.card_reader is not None:
        break
    time.sleep(0.05)
session.login("123456")
pid = int(open("/run/pcscd/pcscd.pid").read().strip("\\x00\\n "))
start = time.monotonic()
os.kill(pid, signal.SIGTERM)
ok = locked.wait(3)
latency = time.monotonic() - start
time.sleep(0.6)
snapshot = monitor.latest
monitor.stop()
card.remove()
print(json.dumps({{"locked": ok, "latency": latency, "reasons": reasons,
                  "state": session.state.value,
                  "snapshot_error": snapshot.error if snapshot else ""}}))
"""


def run_private(tmp_path: Path, probe_code: str, *, pcscd: str) -> dict[str, object]:
    """``pcscd``: "none", "empty" (no reader configured) or "vpcd" (vpcd on PRIVATE_VPCD_PORT)."""
    if shutil.which("unshare") is None:
        pytest.skip("util-linux unshare is not available")
    conf = tmp_path / "reader.conf.d"
    conf.mkdir()
    if pcscd == "vpcd":
        (conf / "vpcd").write_text(
            'FRIENDLYNAME "Private PCD"\n'
            f"DEVICENAME   /dev/null:0x{PRIVATE_VPCD_PORT:04X}\n"
            "LIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so\n"
            f"CHANNELID    0x{PRIVATE_VPCD_PORT:04X}\n"
        )
    probe = tmp_path / "probe.py"
    probe.write_text(probe_code)
    daemon = (
        f"pcscd --foreground -c {conf} >{tmp_path}/pcscd.log 2>&1 & sleep 0.5; "
        if pcscd != "none"
        else ""
    )
    script = (
        "mount -t tmpfs tmpfs /run/pcscd || exit 77; "
        f"{daemon}{sys.executable} {probe}; rc=$?; "
        "[ -f /run/pcscd/pcscd.pid ] && kill $(tr -d '\\000' </run/pcscd/pcscd.pid); "
        "wait; exit $rc"
    )
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode == 77 or "unshare failed" in result.stderr:
        pytest.skip(f"cannot make a private mount namespace here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_no_reader_at_all(tmp_path: Path) -> None:
    """A real pcscd with no reader: the desk says so, the monitor shows an empty list."""
    out = run_private(tmp_path, NO_READER_PROBE, pcscd="empty")
    assert out["readers"] == []
    assert out["error"] == "NoReaderError"
    assert out["message"] == "未检测到读卡器，请连接读卡器"
    assert out["snapshot_readers"] == 0
    assert out["snapshot_error"] == ""


def test_pcsc_service_not_running(tmp_path: Path) -> None:
    out = run_private(tmp_path, NO_READER_PROBE, pcscd="none")
    assert out["error"] == "PcscServiceError"
    assert "智能卡服务" in str(out["message"])
    assert "智能卡服务" in str(out["snapshot_error"])


def test_readers_gone_under_a_logged_in_officer_lock_the_desk(tmp_path: Path) -> None:
    """pcscd stops (its readers vanish) while the officer is logged in: the desk locks."""
    out = run_private(tmp_path, SERVICE_GONE_PROBE, pcscd="vpcd")
    assert out["locked"] is True
    assert out["reasons"] == ["login", "reader_gone"]
    assert out["state"] == "locked"
    assert "智能卡服务" in str(out["snapshot_error"])
