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

Prints one JSON line: RSS and descriptors once logged in, then at the start (after a first
round of every kind of work, not counted: what the desk opens once and keeps is open by then),
after enrollment 50 and at the end, the desk's threads and open file descriptors at the start
and the end (the demo's in-process sync service's own left out: a real desk has no service),
GUI stalls over 50 ms (count and the longest). Targets: RSS growth <= 30 MB from enrollment 50
to the end, no growth in threads or descriptors, no stall over 200 ms.
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import traceback
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

PIN = "123456"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


# The demo runs the sync service inside the desk's process: its threads (uvicorn's, AnyIO's
# workers that come and go with its load) and its database files are the service's, not the
# desk's, and a real desk has none of them.
SERVICE_THREADS = ("AnyIO worker thread", "sync-service-")
SERVICE_FILES = "sync-service.db"


def fds() -> int:
    """The desk's open descriptors (the in-process service's database files left out)."""
    return sum(n for t, n in fd_targets().items() if SERVICE_FILES not in t)


def threads() -> int:
    """The desk's threads (the in-process service's Python threads left out)."""
    service = sum(t.name.startswith(SERVICE_THREADS) for t in threading.enumerate())
    return len(os.listdir("/proc/self/task")) - service


class Stalls:
    """A 10 ms QTimer on the GUI thread: any gap much longer than that is a stall. Each stall
    also records how much CPU the GUI thread itself used in the gap (``time.thread_time``): a
    long gap with little GUI CPU is the thread waiting (other threads holding the GIL, or the
    machine's other processes), a long gap full of GUI CPU is work done on the GUI thread."""

    def __init__(self, phase: Callable[[], str]) -> None:
        from PySide6.QtCore import QTimer

        self.over_50: list[float] = []
        self.busy_over_50: list[float] = []  # GUI-thread CPU ms of the stalls over 50 ms
        self.busy_in: collections.defaultdict[str, list[float]] = collections.defaultdict(list)
        self._phase = phase
        self.last = self._last = time.perf_counter()
        self._cpu = time.thread_time()
        self._timer = QTimer()
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._beat)
        self._timer.start()

    def skip(self) -> None:
        """The bench itself just held the GUI thread (gc, diagnostics): not the desk's stall."""
        self.last = self._last = time.perf_counter()
        self._cpu = time.thread_time()

    def _beat(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        gap = (now - self._last) * 1000 - 10
        busy = (cpu - self._cpu) * 1000
        self.last = self._last = now
        self._cpu = cpu
        if gap > 50:
            self.over_50.append(round(gap, 1))
        if busy > 50:
            self.busy_over_50.append(round(busy, 1))
            self.busy_in[self._phase()].append(round(busy, 1))


class StallStacks:
    """``--diag``: a plain thread that, while the heartbeat is over 100 ms late, samples the GUI
    thread's Python stack every 20 ms; the most frequent innermost frames are what stalls."""

    def __init__(self, stalls: Stalls) -> None:
        self.samples: collections.Counter[str] = collections.Counter()
        self._stalls, self._gui = stalls, threading.main_thread().ident
        self._stop = threading.Event()
        threading.Thread(target=self._run, name="stall-sampler", daemon=True).start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            if time.perf_counter() - self._stalls.last < 0.1:
                continue
            frame = sys._current_frames().get(self._gui or 0)
            if frame is not None:
                stack = traceback.extract_stack(frame)[-6:]
                self.samples[" < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}"
                                        for f in reversed(stack))] += 1  # fmt: skip

    def report(self) -> None:
        self._stop.set()
        for stack, count in self.samples.most_common(12):
            print(f"stall sample x{count}: {stack}", file=sys.stderr)


def fd_targets() -> collections.Counter[str]:
    """Open descriptors by what they point at (sockets and pipes by kind only)."""
    targets: collections.Counter[str] = collections.Counter()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        targets[target.split(":[")[0] if ":[" in target else target] += 1
    return targets


def thread_names() -> collections.Counter[str]:
    """All threads (Qt's and Python's) by their kernel name."""
    names: collections.Counter[str] = collections.Counter()
    for task in os.listdir("/proc/self/task"):
        try:
            names[Path(f"/proc/self/task/{task}/comm").read_text().strip()] += 1
        except OSError:
            continue
    return names


def print_growth(
    what: str, before: collections.Counter[str], after: collections.Counter[str]
) -> None:
    for name in sorted(set(before) | set(after)):
        if before[name] != after[name]:
            print(f"{what} {name}: {before[name]} -> {after[name]}", file=sys.stderr)


def type_counts() -> collections.Counter[str]:
    """Python objects by type, and live Qt widgets (C++ side) as ``widget:<class>``."""
    from PySide6.QtWidgets import QApplication

    counts = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
    counts.update(f"widget:{w.metaObject().className()}" for w in QApplication.allWidgets())
    return counts


def watch_store_connections(engine: Any) -> list[int]:
    """The most store connections checked out at once (by any thread), from now on."""
    from sqlalchemy import event

    peak = [0]

    def checked_out(*_args: Any) -> None:
        peak[0] = max(peak[0], engine.pool.checkedout())

    event.listen(engine, "checkout", checked_out)
    return peak


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


def main() -> int:  # noqa: PLR0912, PLR0915 - one shift, in order
    parser = argparse.ArgumentParser()
    parser.add_argument("--enrollments", type=int, default=200)
    parser.add_argument("--query-every", type=int, default=5)
    parser.add_argument("--pull-every", type=int, default=25)
    parser.add_argument("--mark", type=int, default=50, help="RSS mark after this many")
    parser.add_argument("--genimg-delay", type=float, default=0.02, help="emulator s per GenImg")
    parser.add_argument("--diag", action="store_true", help="stderr: stall stacks, objects")
    parser.add_argument("--tracemalloc", action="store_true", help="stderr: growth by line")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="soak-")
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        os.environ[name] = str(Path(tmp) / name.lower())
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtWidgets import QApplication, QWidget

    from bts_desk import demo
    from bts_desk.card.session import SessionState
    from bts_desk.config import load_settings
    from bts_desk.drivers.camera_standin import DEMO_VIDEO_NAME, SEATED_SCRIPT, make_demo_video
    from bts_desk.drivers.r30x.emulator import R30xEmulator
    from bts_desk.logs import setup_logging
    from bts_desk.store.enrollments import outbox_counts
    from bts_desk.ui.enroll_dialog import EnrollDialog
    from bts_desk.ui.main_window import MainWindow
    from bts_desk.ui.query_page import QueryPage
    from bts_desk.ui.shell import DeskShell

    settings = demo.demo_settings(load_settings())
    setup_logging(settings.log_dir, "WARNING")
    # the camera stand-in: the person seated in front of it from the first frame (not the
    # demo's walk-in, ~4 s of video before 可以拍照 at every 开始拍照)
    make_demo_video(Path(settings.data_dir) / DEMO_VIDEO_NAME, script=SEATED_SCRIPT)
    app = QApplication(sys.argv[:1])
    window = MainWindow()
    window.resize(1360, 820)
    window.show()
    shell = DeskShell(app, window, settings, demo=True)
    outcome: list[bool] = []
    shell.ready_callbacks.append(outcome.append)
    started = time.monotonic()
    shell.start()
    wait(lambda: bool(outcome), 300, "desk start")
    print(f"desk started in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    assert outcome == [True] and shell.bridge is not None and shell.parts is not None
    bridge, lock, control, db = shell.bridge, shell.lock, shell.card_control, shell.parts.db
    assert lock is not None and control is not None
    bridge.login(PIN, lambda _o: None, lambda e: print("login failed", e, file=sys.stderr))
    wait(lambda: bridge.state is SessionState.LOGGED_IN and not lock.covered, 60, "login")
    people = [o for o in gc.get_objects() if isinstance(o, R30xEmulator)]
    for emulator in people:
        emulator.genimg_delay = args.genimg_delay  # a quick person: a shift in minutes
    ids = candidates(db, args.enrollments + 1)
    page = window.open_page(shell.query_key)
    assert isinstance(page, QueryPage)
    wait(lambda: page.model.ready and not page.model.busy, 60, "first query")
    for _ in range(3):
        app.processEvents()
    gc.collect()
    logged_in = {"rss_mb": rss_mb(), "threads": threads(), "fds": fds()}
    peak = watch_store_connections(db.engine)
    fds_at_login = fd_targets()
    objects_at_mark: collections.Counter[str] = collections.Counter()
    memory_at_mark: tracemalloc.Snapshot | None = None
    after_50 = 0.0

    def dialog() -> EnrollDialog | None:
        found = [d for d in window.findChildren(EnrollDialog) if d.isVisible()]
        return found[0] if found else None

    def notices() -> list[QWidget]:
        return [w for w in window.findChildren(QWidget, "savedNotice") if w.isVisible()]

    phases: dict[str, list[float]] = {}

    doing = ["start"]  # what the shift is waiting for: the busy stalls' phase

    def step(what: str, ready: Callable[[], bool], timeout_s: float) -> None:
        doing[0] = what
        t0 = time.monotonic()
        wait(ready, timeout_s, what)
        phases.setdefault(what, []).append(time.monotonic() - t0)

    retries: list[str] = []

    def capture_finger(d: EnrollDialog, finger_no: int) -> None:
        """第一/第二指纹录入; after a failed capture (its reason shown in red), the officer
        presses the button again: up to 3 tries, each retry recorded with its reason."""
        button = d.first_button if finger_no == 1 else d.second_button
        t0 = time.monotonic()
        doing[0] = f"finger {finger_no}"
        for _ in range(3):
            button.click()
            wait(lambda: finger_no in d.fingers or (not d.capturing and button.isEnabled()),
                 90, f"finger {finger_no}")  # fmt: skip
            if finger_no in d.fingers:
                phases.setdefault(f"finger {finger_no}", []).append(time.monotonic() - t0)
                return
            retries.append(f"finger {finger_no}: {d.message.text()}")
            print("retry", retries[-1], file=sys.stderr, flush=True)
            if finger_no == 2:  # 请换个手指: the person offers another finger, as asked
                for person in people:
                    person.auto_finger += 1
        raise TimeoutError(f"finger {finger_no}: 3 failed captures")

    def enroll(borderer_id: int) -> None:
        shell.open_enrollment(borderer_id)
        step("dialog", lambda: dialog() is not None, 30)
        d = dialog()
        assert d is not None
        capture_finger(d, 1)
        capture_finger(d, 2)
        d.pages.setCurrentWidget(d.face_panel)
        d.face_panel.start_button.click()
        step("face ready", d.face_panel.shoot_button.isEnabled, 60)
        d.face_panel.shoot_button.click()
        step("photo", lambda: d.face is not None, 10)
        d.save_button.click()
        step("保存成功", lambda: bool(notices()), 30)
        for notice in notices():
            notice.close()
        step("dialog closed", lambda: dialog() is None, 10)

    surnames = "王李张刘陈杨黄赵吴周"

    def query_and_details(number: int) -> None:
        doing[0] = "query and 详情"
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

    def pull_card_and_unlock() -> None:
        doing[0] = "card pulled, unlock"
        control.toggle()
        wait(lambda: lock.covered, 10, "lock on pull")
        control.toggle()
        wait(lambda: bridge.presence is not None and bridge.presence.card_reader is not None,
             20, "card back")  # fmt: skip
        bridge.unlock(PIN, lambda _o: None, lambda e: print("unlock", e, file=sys.stderr))
        wait(lambda: not lock.covered, 60, "unlock")

    # The shift's first round (not counted): every kind of work once, so that what a desk opens
    # once and keeps (the store's pooled connections, one per thread that used the store at the
    # same time; Qt's thread pool) is open before the start is measured. Growth after it is
    # what a long day would pile up.
    enroll(ids.pop(0))
    query_and_details(0)
    pull_card_and_unlock()
    wait(lambda: outbox_counts(db).pending == 0, 300, "warm-up outbox drained")
    phases.clear()
    gc.collect()
    start = {"rss_mb": rss_mb(), "threads": threads(), "fds": fds()}
    fds_at_start, threads_at_start = fd_targets(), thread_names()
    stalls = Stalls(lambda: doing[0])
    sampler = StallStacks(stalls) if args.diag else None
    began = time.monotonic()
    stopped: str | None = None
    done = 0
    for number, borderer_id in enumerate(ids, start=1):
        t0 = time.monotonic()
        try:
            enroll(borderer_id)
        except TimeoutError as exc:  # still print the figures of the shift so far
            stopped = f"enrollment {number}: {exc}"
            print("stopped at", stopped, file=sys.stderr, flush=True)
            break
        done = number
        print(f"enrollment {number}: {time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)
        if number % args.query_every == 0:
            query_and_details(number)
        if number % args.pull_every == 0:
            pull_card_and_unlock()
        if number == args.mark:
            gc.collect()
            after_50 = rss_mb()
            if args.diag:
                objects_at_mark = type_counts()
            if args.tracemalloc:
                tracemalloc.start(8)
                memory_at_mark = tracemalloc.take_snapshot()
            stalls.skip()
    wait(lambda: outbox_counts(db).pending == 0, 300, "outbox drained")
    for _ in range(50):
        app.processEvents()
    gc.collect()
    end = {"rss_mb": rss_mb(), "threads": threads(), "fds": fds()}
    result = {
        "enrollments": done,
        "stopped": stopped,
        "minutes": round((time.monotonic() - began) / 60, 1),
        "rss_mb_logged_in": logged_in["rss_mb"],
        "fds_logged_in": logged_in["fds"],
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
        "stalls_gui_cpu_over_50ms": len(stalls.busy_over_50),
        "gui_cpu_stalls_by_phase": {k: sorted(v)[-3:] for k, v in stalls.busy_in.items()},
        "longest_stall_gui_cpu_ms": max(stalls.busy_over_50, default=0.0),
        "outbox_pending_end": outbox_counts(db).pending,
        "store_connections_at_once_max": peak[0],
        "capture_retries": len(retries),
        "phase_s_p50": {k: round(statistics.median(v), 2) for k, v in phases.items()},
    }
    print(json.dumps(result), flush=True)
    print_growth("fds since login", fds_at_login, fds_at_start)
    print_growth("fds", fds_at_start, fd_targets())
    print_growth("threads", threads_at_start, thread_names())
    if sampler is not None:
        sampler.report()
        grown = type_counts()
        grown.subtract(objects_at_mark)
        for name, more in grown.most_common(15):
            print(f"objects +{more} {name}", file=sys.stderr)
    if memory_at_mark is not None:
        stats = tracemalloc.take_snapshot().compare_to(memory_at_mark, "traceback")
        for stat in stats[:10]:
            print(f"tracemalloc {stat.size_diff / 1024:+.0f} KiB {stat.count_diff:+d} blocks",
                  *stat.traceback.format()[-8:], sep="\n  ", file=sys.stderr)  # fmt: skip
    shell.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
