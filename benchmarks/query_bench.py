"""边民备案查询 on a million-row store: first page, count and memory, against a naive baseline.

    .venv/bin/python benchmarks/query_bench.py [--rows 1000000] [--reuse] [--repeat 7]

Builds the store with the demo-data generator (or reuses ``benchmarks/out/query-bench.db``
with ``--reuse``), times the first page (``PAGE_SIZE`` rows, what the table model fetches
first) and the count for a spread of filter combinations and for every column of the table
sorted both ways under the default filter (已同步海关), reports the borderer indexes (count,
size) and the store's size, copies the store without its
borderer indexes for the naive baseline (every filter and sort a table scan), and measures
the RSS of a separate process holding the table model and view open on all rows scrolled to
the middle.
The main figures are measured on the desk's store as it is since issue 11 (the same rows
encrypted with SQLCipher under a fresh desk key); ``plain_*`` are the same cases on the plain
SQLite layout of before, in the same run, and ``cipher_ratio_*`` the cost of the encryption.
The "eager" figures load every match as the naive (non-lazy) model would. Prints one JSON
line. Targets (2 cores): first page p50 <= 50 ms, p95 <= 150 ms, count p50
<= 200 ms, RSS <= 300 MB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bts_desk.domain import BioFlag, BordererFilter, EnableState, Gender, SortOrder, SyncState
from bts_desk.store import borderers
from bts_desk.store.crypto import DeskKey, create_key, load_key
from bts_desk.store.db import Database, open_database
from bts_desk.store.demo_data import MANUAL_ROWS, ProgressBar, populate

OUT = Path(__file__).resolve().parent / "out"
PAGE = 200  # bts_desk.ui.borderer_model.PAGE_SIZE (not imported: no Qt in this process)

Case = tuple[str, BordererFilter, str, SortOrder]
ASC, DESC = SortOrder.ASCENDING, SortOrder.DESCENDING
CASES: list[Case] = [
    ("default", BordererFilter(), "id", ASC),
    ("name-prefix", BordererFilter(name="王"), "id", ASC),
    ("name-prefix-sorted", BordererFilter(name="王"), "name", ASC),
    ("name-2-chars", BordererFilter(name="吴琪"), "id", ASC),
    ("customs+bio", BordererFilter(customs_code="7206", bio_flag=BioFlag.BOTH), "id", ASC),
    (
        "date-range",
        BordererFilter(last_op_from=dt.date(2025, 3, 1), last_op_to=dt.date(2025, 3, 31)),
        "id",
        ASC,
    ),
    ("sort-last-op-desc", BordererFilter(), "last_op_date", DESC),
    ("all-sort-name", BordererFilter(sync_state=None), "name", ASC),
    ("unsynced", BordererFilter(sync_state=SyncState.UNSYNCED), "id", ASC),
    (
        "gender+enable",
        BordererFilter(gender=Gender.FEMALE, enable_state=EnableState.DISABLED),
        "id",
        ASC,
    ),
    ("full-id-number", BordererFilter(name=MANUAL_ROWS[0].id_number), "id", ASC),
]
# The 12 columns of the table (bts_desk.ui.borderer_model.COLUMNS, not imported: no Qt here),
# each sorted both ways under the default filter, as an officer clicking the header does.
TABLE_COLUMNS = (
    "customs_code", "name", "gender", "id_number_masked", "address", "id_valid_from",
    "id_valid_to", "state", "data_source", "valid_to", "bio_flag", "enable_state",
)  # fmt: skip
BASE_CASES = list(CASES)  # the naive baseline (table scans, seconds each) runs these only
CASES += [
    (f"sort-{key}-{'asc' if order is ASC else 'desc'}", BordererFilter(), key, order)
    for key in TABLE_COLUMNS
    for order in (ASC, DESC)
]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def measure(
    db: Database, repeat: int, cases: list[Case]
) -> tuple[list[float], list[float], dict[str, float]]:
    pages: list[float] = []
    counts: list[float] = []
    per_case: dict[str, float] = {}
    for label, flt, sort, order in cases:
        page = timed(
            lambda f=flt, s=sort, o=order: borderers.fetch_page(
                db, f, sort=s, order=o, offset=0, limit=PAGE
            ),
            repeat,
        )
        counts += timed(lambda f=flt: borderers.count(db, f), repeat)
        pages += page
        per_case[label] = round(statistics.median(page), 2)
    return pages, counts, per_case


def store_figures(db: Database, path: Path) -> dict[str, object]:
    """Index count, index and table sizes (SQLite's dbstat), file size after a checkpoint."""
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        names = [
            str(r[0])
            for r in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='borderer'"
            )
        ]
        sizes = dict(
            conn.exec_driver_sql("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
        )
    mib = 1024 * 1024
    return {
        "borderer_indexes": len(names),
        "borderer_indexes_mb": round(sum(sizes.get(n, 0) for n in names) / mib, 1),
        "borderer_table_mb": round(sizes.get("borderer", 0) / mib, 1),
        "store_mb": round(path.stat().st_size / mib, 1),
    }


def load_all(db: Database, case: Case) -> int:
    """The eager way (what a non-lazy model does): every match as a domain object."""
    _label, flt, sort, order = case
    stmt = borderers.page_statement(flt, sort, order, 0, PAGE).limit(None).offset(None)
    with db.session() as session:
        rows = [borderers.to_borderer(row) for row in session.execute(stmt)]
    return len(rows)


def build(path: Path, rows: int, reuse: bool) -> tuple[Database, float]:
    if reuse and path.exists():
        db = open_database(f"sqlite:///{path}")
        if borderers.count(db, BordererFilter(sync_state=None)) == rows + len(MANUAL_ROWS):
            return db, 0.0
        db.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = open_database(f"sqlite:///{path}")
    start = time.perf_counter()
    populate(db, rows, progress=ProgressBar())
    return db, round(time.perf_counter() - start, 1)


def naive_copy(db: Database, path: Path, naive: Path) -> Database:
    """The same rows without any borderer index: every filter and sort scans the table."""
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{naive}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(path, naive)
    raw = sqlite3.connect(naive)
    names = raw.execute(
        "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='borderer' "
        "AND sql IS NOT NULL"
    ).fetchall()
    for (name,) in names:
        raw.execute(f'DROP INDEX "{name}"')
    raw.execute("ANALYZE")
    raw.commit()
    raw.close()
    return open_database(f"sqlite:///{naive}", migrate=False)


def encrypted_copy(db: Database, path: Path, cipher: Path, key_file: Path) -> Database:
    """The desk's layout since issue 11: the same store encrypted with SQLCipher (what
    ``open_desk_store`` does to a plain store), under a fresh desk key in ``key_file``."""
    from bts_desk.store.desk_store import encrypt_in_place

    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    for old in (cipher, Path(f"{cipher}-wal"), Path(f"{cipher}-shm"), key_file):
        old.unlink(missing_ok=True)
    shutil.copyfile(path, cipher)
    key = create_key(key_file)
    encrypt_in_place(cipher, key)
    return open_database(f"sqlite:///{cipher}", key=key, migrate=False)


def cipher_cost(
    cipher: tuple[list[float], list[float]], plain: tuple[list[float], list[float]]
) -> dict[str, float]:
    """The encrypted store's figures over the plain store's (same rows, same run)."""
    (pages, counts), (plain_pages, plain_counts) = cipher, plain
    return {
        "plain_first_page_ms_p50": pct(plain_pages, 0.5),
        "plain_first_page_ms_p95": pct(plain_pages, 0.95),
        "plain_count_ms_p50": pct(plain_counts, 0.5),
        "cipher_ratio_first_page_p50": round(pct(pages, 0.5) / max(pct(plain_pages, 0.5), 0.01), 2),
        "cipher_ratio_first_page_p95": round(
            pct(pages, 0.95) / max(pct(plain_pages, 0.95), 0.01), 2
        ),
        "cipher_ratio_count_p50": round(pct(counts, 0.5) / max(pct(plain_counts, 0.5), 0.01), 2),
    }


def rss_probe(path: Path, key_file: Path | None = None) -> dict[str, float]:
    """In a fresh process: model + view on all rows, scrolled to the middle; its RSS."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication, QTableView

    from bts_desk.ui.borderer_model import BordererTableModel

    app = QApplication([])
    key: DeskKey | None = load_key(key_file) if key_file else None
    db = open_database(f"sqlite:///{path}", key=key, migrate=False)
    model = BordererTableModel(db)
    view = QTableView()
    view.setModel(model)
    view.resize(1400, 800)
    view.show()

    def wait(ready: Callable[[], bool]) -> None:
        while not ready():
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.002)

    model.query(BordererFilter(sync_state=None))
    wait(lambda: model.ready and not model.busy)
    middle = model.rowCount() // 2
    start = time.perf_counter()
    view.scrollTo(model.index(middle, 0))
    view.viewport().repaint()
    wait(lambda: model.borderer(middle) is not None and not model.busy)
    scroll_ms = (time.perf_counter() - start) * 1000
    for _ in range(20):  # the view settles; then read the figures
        app.processEvents()
    status = Path("/proc/self/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    kib = {name: int(fields[name].split()[0]) for name in ("VmRSS", "VmHWM")}
    return {
        "rows_in_model": model.rowCount(),
        "rss_mb": round(kib["VmRSS"] / 1024, 1),
        "rss_peak_mb": round(kib["VmHWM"] / 1024, 1),
        "scroll_middle_ms": round(scroll_ms, 1),
        "cached_pages": model.cached_pages(),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="reuse the store of an earlier run")
    parser.add_argument("--rss-probe", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--key-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_probe:
        print(json.dumps(rss_probe(args.rss_probe, args.key_file)))
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    path, naive_path = OUT / "query-bench.db", OUT / "query-bench-naive.db"
    plain, build_s = build(path, args.rows, args.reuse)  # the layout before issue 11
    sizes = store_figures(plain, path)  # dbstat: not compiled into SQLCipher
    key_file, cipher_path = OUT / "query-bench.key", OUT / "query-bench-cipher.db"
    db = encrypted_copy(plain, path, cipher_path, key_file)  # the desk's store now
    pages, counts, per_case = measure(db, args.repeat, CASES)
    plain_pages, plain_counts, _ = measure(plain, args.repeat, CASES)
    base = [ms for i, ms in enumerate(pages) if i // args.repeat < len(BASE_CASES)]
    eager_cases = [c for c in CASES if c[0] in ("default", "name-prefix", "customs+bio")]
    eager = [timed(lambda c=c: load_all(db, c), 1)[0] for c in eager_cases]
    naive = naive_copy(plain, path, naive_path)
    naive_pages, naive_counts, naive_case = measure(naive, max(3, args.repeat // 2), BASE_CASES)
    probe = subprocess.run(
        [sys.executable, __file__, "--rss-probe", str(cipher_path), "--key-file", str(key_file)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    memory = json.loads(probe.stdout.strip().splitlines()[-1])
    result = {
        "rows": borderers.count(db, BordererFilter(sync_state=None)),
        "build_s": build_s,
        "first_page_ms_p50": pct(pages, 0.5),
        "first_page_ms_p95": pct(pages, 0.95),
        "count_ms_p50": pct(counts, 0.5),
        "count_ms_p95": pct(counts, 0.95),
        "first_page_cases": len(CASES),
        "slowest_case_p50": max(per_case.items(), key=lambda kv: kv[1]),
        **sizes,
        "cipher_store_mb": round(cipher_path.stat().st_size / (1024 * 1024), 1),
        **cipher_cost((pages, counts), (plain_pages, plain_counts)),
        **memory,
        "naive_first_page_ms_p50": pct(naive_pages, 0.5),
        "naive_first_page_ms_p95": pct(naive_pages, 0.95),
        "naive_count_ms_p50": pct(naive_counts, 0.5),
        "speedup_first_page_p50": round(pct(naive_pages, 0.5) / max(pct(base, 0.5), 0.01), 1),
        "speedup_first_page_p95": round(pct(naive_pages, 0.95) / max(pct(base, 0.95), 0.01), 1),
        "eager_load_all_ms_by_filter": {
            c[0]: round(ms, 1) for c, ms in zip(eager_cases, eager, strict=True)
        },
        "first_page_ms_p50_by_filter": per_case,
        "naive_first_page_ms_p50_by_filter": naive_case,
        "cpus": os.cpu_count(),
    }
    db.dispose()
    plain.dispose()
    naive.dispose()
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
