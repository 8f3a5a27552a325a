"""Sync benchmark: enrollment uploads per second and the pull of a million records.

Prints one JSON line. The reference sync service runs as deployed: ``bts-sync-server
--workers 2`` (``--workers``), its own processes on 127.0.0.1, on a SQLite file, trusting a
test CA; the desk runs here with its real store (SQLCipher under a desk key, as on a desk;
``--store plain`` for the plain SQLite layout), key, client, token and worker.

- ``pull_1m_s``: an empty desk store pulls ``--records`` records (default 1,000,000) page by
  page with the cursor, until the borderer indexes of the query page are built (target
  ≤ 60 s). ``query_after_pull_*``: first pages of every ``query_bench`` case on the pulled
  store right after (targets p50 ≤ 50 ms, p95 ≤ 150 ms), timed apart from the pull;
- ``upload_per_s``: ``--uploads`` enrollments (default 10,000) of realistic size — two 512-byte
  templates, two 8-bit 256×288 PNGs, one ~30 KB JPEG — queued in the desk's encrypted outbox,
  then drained by one worker pass (target ≥ 200/s). ``save_per_s`` is how fast the desk saved
  them (one atomic, encrypted transaction each).

Both measured twice in one run, over HTTPS (the service's own TLS, a test CA the desk
verifies) and over plain HTTP on loopback, from copies of one prepared service database:
``tls`` and ``plain`` hold each run's figures, ``tls_cost`` the ratios (TLS / plain seconds).
CPU seconds of the desk (this process) and of the service (its manager and workers) are
printed beside the wall times (``*_cpu_*``): on a shared machine they show where the time went
when the wall clock mostly measures the other tenants.

    python benchmarks/sync_bench.py [--records 1000000] [--uploads 10000] [--no-batch]
        [--only tls|plain] [--workers 2] [--store sqlcipher|plain]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import requests
import service_process
from cryptography.hazmat.primitives import serialization
from query_bench import CASES as QUERY_CASES
from query_bench import PAGE as QUERY_PAGE
from sqlalchemy import select

from bts_desk.domain import Officer
from bts_desk.drivers.piv_card.pki import OfficerCredentials, issue_officer, make_ca
from bts_desk.drivers.piv_card.tls import TlsFiles, issue_server
from bts_desk.heap import settle_heap
from bts_desk.service.borderers import load_records
from bts_desk.service.database import ServiceDatabase
from bts_desk.service.demo import load_demo
from bts_desk.service.grants import grant
from bts_desk.service.models import ServerBorderer
from bts_desk.service.tokens import utc_now
from bts_desk.store import borderers
from bts_desk.store.crypto import load_or_create_key
from bts_desk.store.db import Database, open_database
from bts_desk.store.enrollments import outbox_counts, save_enrollment
from bts_desk.sync.auth import PemSigner, TokenBroker
from bts_desk.sync.client import SyncClient
from bts_desk.sync.outbox import SyncWorker
from bts_desk.sync.samples import sample_draft

OFFICER = Officer("GZ1001", "李明", "5301")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _normal_record(record_id: int) -> dict[str, object]:
    import datetime as dt

    return {
        "id": record_id,
        "customs_code": "5301",
        "name": f"边民{record_id:06d}",
        "gender": "M" if record_id % 2 else "F",
        "id_number": "53262519800101001X",
        "address": "云南省文山州麻栗坡县天保镇",
        "id_valid_from": dt.date(2020, 1, 1),
        "id_valid_to": dt.date(2040, 1, 1),
        "state": "normal",
        "data_source": "海关",
        "valid_to": dt.date(2030, 1, 1),
        "has_face": False,
        "has_finger": False,
        "enabled": True,
        "synced": True,
        "last_op_date": None,
    }


def _prepare_service(url: str, records: int, uploads: int) -> None:
    """``uploads`` records that can be enrolled (正常, 已同步海关), then demo records; the
    bench officer is granted every district (the demo data spreads over several)."""
    db = ServiceDatabase(url)
    db.create_schema()
    load_records(db, (_normal_record(i) for i in range(1, uploads + 1)))
    if records > uploads:
        load_demo(db, records - uploads)
    with db.read() as conn:
        districts = conn.execute(select(ServerBorderer.customs_code).distinct()).scalars().all()
    for district in districts:
        grant(db, OFFICER.officer_id, district, by="bench", now=utc_now())
    db.dispose()


class Service:
    """``bts-sync-server --workers N`` on a copy of the prepared database, as deployed: uvicorn's
    worker processes share the port, so both cores serve. Stopped with SIGINT (uvicorn's
    process manager then stops its workers)."""

    def __init__(self, url: str, ca_file: Path, tls: TlsFiles | None, work: Path, workers: int):
        self.port = _free_port()
        cmd = [sys.executable, "-m", "bts_desk.service.cli", "--db", url, "--ca", str(ca_file)]
        cmd += ["--port", str(self.port), "--log-level", "WARNING"]
        cmd += ["--key-file", str(work / "svc.key"), "--workers", str(workers)]
        if tls is not None:
            cmd += ["--certfile", str(tls.certfile), "--keyfile", str(tls.keyfile)]
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(work / "prom")}
        self.process = subprocess.Popen(cmd, env=env)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        verify: str | bool = str(tls.ca_pem) if tls else True
        deadline = time.monotonic() + 300  # workers import slowly on a loaded machine
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                up = requests.get(self.url + "/api/v1/health", timeout=1, verify=verify).ok
                if up and self._workers_up() >= workers:  # every worker, not just the first
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        alive = [p.pid for p in self._tree()]
        self.stop()
        raise SystemExit(
            f"sync service did not start (processes {alive}, exit {self.process.poll()})"
        )

    def _tree(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def _workers_up(self) -> int:
        """uvicorn's worker processes (multiprocessing spawns them; 1 when it serves alone)."""
        tree = self._tree()
        with contextlib.suppress(psutil.Error):
            return sum("spawn_main" in " ".join(p.cmdline()) for p in tree[1:]) or len(tree[:1])
        return 0

    def cpu_s(self) -> float:
        """User + system CPU seconds of the manager and all its worker processes so far."""
        return service_process.tree_cpu_s(self.process.pid)

    def stop(self) -> None:
        service_process.stop(self.process)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--uploads", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=25)
    parser.add_argument("--no-batch", action="store_true")
    parser.add_argument("--parallel", type=int, default=2, help="batch requests in flight")
    parser.add_argument("--workers", type=int, default=2, help="service worker processes")
    parser.add_argument(
        "--store", choices=["sqlcipher", "plain"], default="sqlcipher", help="the desk's store"
    )
    parser.add_argument("--only", choices=["tls", "plain"], help="one of the two runs")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp:
        work = Path(tmp)
        ca = make_ca()
        cred = issue_officer(ca, OFFICER.name, OFFICER.officer_id, OFFICER.customs_code)
        ca_file = work / "ca.pem"
        ca_file.write_bytes(ca.pem)
        tls = issue_server(make_ca("Bench Service CA"), work / "tls")
        prepared = work / "prepared.db"
        started = time.perf_counter()
        _prepare_service(f"sqlite:///{prepared}", args.records, args.uploads)
        result: dict[str, object] = {"service_load_s": round(time.perf_counter() - started, 1)}
        for mode in [args.only] if args.only else ["tls", "plain"]:
            run = work / mode
            (run / "desk").mkdir(parents=True)
            shutil.copyfile(prepared, run / "service.db")
            files = tls if mode == "tls" else None
            service = Service(f"sqlite:///{run / 'service.db'}", ca_file, files, run, args.workers)
            try:
                result[mode] = _measure(args, run / "desk", service, cred, tls=files)
            finally:
                service.stop()
        if "tls" in result and "plain" in result:
            on, off = result["tls"], result["plain"]
            assert isinstance(on, dict) and isinstance(off, dict)
            result["tls_cost"] = {
                "upload_s_ratio": round(on["upload_s"] / off["upload_s"], 2),
                "pull_s_ratio": round(on["pull_1m_s"] / off["pull_1m_s"], 2),
            }
        print(json.dumps(result))
    return 0


def _measure(
    args: argparse.Namespace,
    work: Path,
    service: Service,
    cred: OfficerCredentials,
    *,
    tls: TlsFiles | None,
) -> dict[str, float | int | bool | str]:
    key_pem = cred.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key = load_or_create_key(work / "desk.key")
    # The desk's real store is SQLCipher (store.desk_store); ``--store plain`` for comparison.
    db = open_database(f"sqlite:///{work / 'desk.db'}", key=key if args.store != "plain" else None)
    client = SyncClient(
        service.url, desk_id="bench-desk", timeout_s=60, ca_cert=str(tls.ca_pem) if tls else ""
    )
    tokens = TokenBroker(client)
    tokens.set_signer(PemSigner(key_pem, cred.der))
    worker = SyncWorker(
        db, client, tokens, key, batch_size=args.batch_size, use_batch=not args.no_batch
    )

    settle_heap(collect_first=False)  # as the desk does when its start-up is done
    started = time.perf_counter()
    pull_cpu, pull_service_cpu = time.process_time(), service.cpu_s()
    pulled = worker.run_once().pulled  # empty desk store: everything comes, indexes built
    pull_s = time.perf_counter() - started
    pull_cpu, pull_service_cpu = time.process_time() - pull_cpu, service.cpu_s() - pull_service_cpu
    query = _query_page(db)

    started = time.perf_counter()
    for record_id in range(1, args.uploads + 1):
        save_enrollment(db, sample_draft(record_id, OFFICER, desk_id="bench-desk"), key)
    save_s = time.perf_counter() - started

    uploader = SyncWorker(
        db,
        client,
        tokens,
        key,
        batch_size=args.batch_size,
        use_batch=not args.no_batch,
        pull=False,
        parallel=args.parallel,
    )
    started = time.perf_counter()
    desk_cpu, service_cpu = time.process_time(), service.cpu_s()
    done = uploader.run_once(force=True)
    upload_s = time.perf_counter() - started
    desk_cpu, service_cpu = time.process_time() - desk_cpu, service.cpu_s() - service_cpu
    counts = outbox_counts(db)
    db_mb = sum(p.stat().st_size for p in work.glob("desk.db*")) / 1e6
    uploader.stop()
    db.dispose()
    client.close()
    return {
        "upload_per_s": round(done.uploaded / upload_s, 1),
        "uploads": done.uploaded,
        "upload_s": round(upload_s, 2),
        "upload_desk_cpu_ms_each": round(desk_cpu / max(1, done.uploaded) * 1000, 2),
        "upload_service_cpu_ms_each": round(service_cpu / max(1, done.uploaded) * 1000, 2),
        "all_acknowledged": counts.acknowledged == args.uploads and counts.pending == 0,
        "pull_1m_s": round(pull_s, 2),
        "pulled": pulled,
        "pull_per_s": round(pulled / pull_s),
        "pull_desk_cpu_s": round(pull_cpu, 1),
        "pull_service_cpu_s": round(pull_service_cpu, 1),
        **query,
        "save_per_s": round(args.uploads / save_s, 1),
        "desk_db_mb_after": round(db_mb, 1),
        "desk_store": args.store,
        "service_workers": args.workers,
        "batch": not args.no_batch,
        "parallel": args.parallel,
        "cpus": os.cpu_count() or 0,
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def _query_page(db: Database) -> dict[str, float]:
    """The query page on the pulled store, right after the pull: the first page of every
    case of ``query_bench`` (filters, and each of the 12 columns sorted both ways), 3 times
    each; its targets are p50 <= 50 ms and p95 <= 150 ms."""
    samples = []
    for _label, flt, sort, order in QUERY_CASES:
        for _ in range(3):
            started = time.perf_counter()
            borderers.fetch_page(db, flt, sort=sort, order=order, offset=0, limit=QUERY_PAGE)
            samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "query_after_pull_p50_ms": round(statistics.median(samples), 2),
        "query_after_pull_p95_ms": round(samples[int(0.95 * (len(samples) - 1))], 2),
        "query_after_pull_max_ms": round(samples[-1], 2),
    }


if __name__ == "__main__":
    sys.exit(main())
