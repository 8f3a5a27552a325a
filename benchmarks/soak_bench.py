"""A shift at the desk: many 补录 in a row on the real demo desk, offscreen; leaks and stalls.

    flock /work/pcsc.lock .venv/bin/python benchmarks/soak_bench.py [--enrollments 200]

Starts the desk as ``bts-desk --demo`` does (virtual card behind pcscd + vpcd, the R30x
emulator on a pty, the camera stand-in, the sync service on 127.0.0.1, the encrypted store),
logs in with the card, then repeats: open 补录 for the next 正常 record without biometrics,
第一指纹录入 and 第二指纹录入 on the emulator (its person first offers the same finger for 指纹2,
as in the demo), 开始拍照 / 拍照 on the stand-in, 保存, close the notice. In between: a query by
name and 详情 every ``--query-every`` enrollments, the card pulled and put back (lock, unlock
with the PIN) every ``--pull-every``; the outbox drains to the service as it goes. The
emulator's person presses faster than a real one (``--genimg-delay``) so that a shift fits in
minutes. A 10 ms heartbeat timer on the GUI thread records stalls.

Prints one JSON line: RSS at the start (after login), after enrollment 50 and at the end,
threads and open file descriptors at the start and the end, GUI stalls over 50 ms (count and
the longest). Targets: RSS growth <= 30 MB from enrollment 50 to the end, no growth in threads
or descriptors, no stall over 200 ms.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PIN = "123456"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


class Stalls:
    """A 10 ms QTimer on the GUI thread: any gap much longer than that is a stall."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.over_50: list[float] = []
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._beat)
        self._timer.start()

    def _beat(self) -> None:
        now = time.perf_counter()
        gap = (now - self._last) * 1000 - 10
        self._last = now
        if gap > 50:
            self.over_50.append(round(gap, 1))


def wait(ready: Callable[[], bool], timeout_s: float, what: str) -> None:
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.005)


def candidates(db: Any, count: int) -> list[int]:
    """Ids of 正常, 启用, 已同步海关 records without biometrics (what 补录 is for)."""
    from bts_desk.domain import BioFlag, BordererFilter, EnableState
    from bts_desk.store import borderers

    flt = BordererFilter(bio_flag=BioFlag.NONE, enable_state=EnableState.ENABLED)
    ids: list[int] = []
    offset = 0
    while len(ids) < count:
        page = borderers.fetch_page(db, flt, offset=offset, limit=500)
        if not page:
            break
        ids += [b.id for b in page if b.can_enroll]
        offset += len(page)
    return ids[:count]


def main() -> int:  # noqa: PLR0915 - one shift, in order
    parser = argparse.ArgumentParser()
    parser.add_argument("--enrollments", type=int, default=200)
    parser.add_argument("--query-every", type=int, default=5)
    parser.add_argument("--pull-every", type=int, default=25)
    parser.add_argument("--mark", type=int, default=50, help="RSS mark after this many")
    parser.add_argument("--genimg-delay", type=float, default=0.02, help="emulator s per GenImg")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="soak-")
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        os.environ[name] = str(Path(tmp) / name.lower())
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtWidgets import QApplication, QWidget

    from bts_desk import demo
    from bts_desk.card.session import SessionState
    from bts_desk.config import load_settings
    from bts_desk.drivers.r30x.emulator import R30xEmulator
    from bts_desk.logs import setup_logging
    from bts_desk.store.enrollments import outbox_counts
    from bts_desk.ui.enroll_dialog import EnrollDialog
    from bts_desk.ui.main_window import MainWindow
    from bts_desk.ui.query_page import QueryPage
    from bts_desk.ui.shell import DeskShell

    settings = demo.demo_settings(load_settings())
    setup_logging(settings.log_dir, "WARNING")
    app = QApplication(sys.argv[:1])
    window = MainWindow()
    window.resize(1360, 820)
    window.show()
    shell = DeskShell(app, window, settings, demo=True)
    outcome: list[bool] = []
    shell.ready_callbacks.append(outcome.append)
    shell.start()
    wait(lambda: bool(outcome), 180, "desk start")
    assert outcome == [True] and shell.bridge is not None and shell.parts is not None
    bridge, lock, control, db = shell.bridge, shell.lock, shell.card_control, shell.parts.db
    assert lock is not None and control is not None
    bridge.login(PIN, lambda _o: None, lambda e: print("login failed", e, file=sys.stderr))
    wait(lambda: bridge.state is SessionState.LOGGED_IN and not lock.covered, 60, "login")
    for emulator in (o for o in gc.get_objects() if isinstance(o, R30xEmulator)):
        emulator.genimg_delay = args.genimg_delay  # a quick person: a shift in minutes
    ids = candidates(db, args.enrollments)
    page = window.open_page(shell.query_key)
    assert isinstance(page, QueryPage)
    wait(lambda: page.model.ready and not page.model.busy, 60, "first query")
    for _ in range(3):
        app.processEvents()
    gc.collect()
    start = {"rss_mb": rss_mb(), "threads": threads(), "fds": fds()}
    stalls = Stalls()
    after_50 = 0.0
    began = time.monotonic()

    def dialog() -> EnrollDialog | None:
        found = [d for d in window.findChildren(EnrollDialog) if d.isVisible()]
        return found[0] if found else None

    def notices() -> list[QWidget]:
        return [w for w in window.findChildren(QWidget, "savedNotice") if w.isVisible()]

    def enroll(borderer_id: int) -> None:
        shell.open_enrollment(borderer_id)
        wait(lambda: dialog() is not None, 30, "dialog")
        d = dialog()
        assert d is not None
        d.first_button.click()
        wait(lambda: 1 in d.fingers, 60, "finger 1")
        d.second_button.click()
        wait(lambda: 2 in d.fingers, 60, "finger 2")
        d.pages.setCurrentWidget(d.face_panel)
        d.face_panel.start_button.click()
        wait(d.face_panel.shoot_button.isEnabled, 60, "face ready")
        d.face_panel.shoot_button.click()
        wait(lambda: d.face is not None, 10, "photo")
        d.save_button.click()
        wait(lambda: bool(notices()), 30, "保存成功")
        for notice in notices():
            notice.close()
        wait(lambda: dialog() is None, 10, "dialog closed")

    surnames = "王李张刘陈杨黄赵吴周"
    for number, borderer_id in enumerate(ids, start=1):
        t0 = time.monotonic()
        enroll(borderer_id)
        print(f"enrollment {number}: {time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)
        if number % args.query_every == 0:
            page.name_edit.setText(surnames[number % len(surnames)])
            page.run_query()
            wait(lambda: page.model.ready and not page.model.busy, 30, "query")
            if page.model.rowCount():
                page.table.selectRow(0)
                page.show_details()
                wait(lambda: QApplication.activeModalWidget() is not None, 10, "详情")
                modal = QApplication.activeModalWidget()
                if modal is not None:
                    modal.close()
            page.reset()
        if number % args.pull_every == 0:
            control.toggle()
            wait(lambda: lock.covered, 10, "lock on pull")
            control.toggle()
            wait(lambda: bridge.presence is not None and bridge.presence.card_reader is not None,
                 20, "card back")  # fmt: skip
            bridge.unlock(PIN, lambda _o: None, lambda e: print("unlock", e, file=sys.stderr))
            wait(lambda: not lock.covered, 60, "unlock")
        if number == args.mark:
            gc.collect()
            after_50 = rss_mb()
    wait(lambda: outbox_counts(db).pending == 0, 300, "outbox drained")
    for _ in range(50):
        app.processEvents()
    gc.collect()
    end = {"rss_mb": rss_mb(), "threads": threads(), "fds": fds()}
    result = {
        "enrollments": len(ids),
        "minutes": round((time.monotonic() - began) / 60, 1),
        "rss_mb_start": start["rss_mb"],
        "rss_mark_after": args.mark,
        "rss_mb_after_mark": after_50,
        "rss_mb_end": end["rss_mb"],
        "rss_growth_mb_mark_to_end": round(end["rss_mb"] - after_50, 1) if after_50 else None,
        "threads_start": start["threads"],
        "threads_end": end["threads"],
        "python_threads_end": threading.active_count(),
        "fds_start": start["fds"],
        "fds_end": end["fds"],
        "stalls_over_50ms": len(stalls.over_50),
        "longest_stall_ms": max(stalls.over_50, default=0.0),
        "outbox_pending_end": outbox_counts(db).pending,
    }
    print(json.dumps(result), flush=True)
    shell.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
