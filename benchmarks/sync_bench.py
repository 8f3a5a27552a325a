"""Sync benchmark: enrollment uploads per second and the pull of a million records.

Prints one JSON line. The reference sync service runs as its own process on 127.0.0.1 (as on a
site: the desk and the service do not share an interpreter), on a SQLite file, trusting a test
CA; the desk runs here with its real store, key, client, token and worker.

- ``pull_1m_s``: an empty desk store pulls ``--records`` records (default 1,000,000) page by
  page with the cursor (target ≤ 60 s);
- ``upload_per_s``: ``--uploads`` enrollments (default 10,000) of realistic size — two 512-byte
  templates, two 8-bit 256×288 PNGs, one ~30 KB JPEG — queued in the desk's encrypted outbox,
  then drained by one worker pass (target ≥ 200/s). ``save_per_s`` is how fast the desk saved
  them (one atomic, encrypted transaction each).

Both measured twice in one run, over HTTPS (the service's own TLS, a test CA the desk
verifies) and over plain HTTP on loopback, from copies of one prepared service database:
``tls`` and ``plain`` hold each run's figures, ``tls_cost`` the ratios (TLS / plain seconds).
CPU seconds of the desk (this process) and of the service process are printed beside the wall
times (``*_cpu_*``): on a shared machine they show where the time went when the wall clock
mostly measures the other tenants.

    python benchmarks/sync_bench.py [--records 1000000] [--uploads 10000] [--no-batch]
        [--only tls|plain]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from bts_desk.domain import Officer
from bts_desk.drivers.piv_card.pki import issue_officer, make_ca
from bts_desk.drivers.piv_card.tls import TlsFiles, issue_server
from bts_desk.service.borderers import load_records
from bts_desk.service.database import ServiceDatabase
from bts_desk.service.demo import load_demo
from bts_desk.service.grants import grant
from bts_desk.service.models import ServerBorderer
from bts_desk.service.tokens import utc_now
from bts_desk.store.crypto import load_or_create_key
from bts_desk.store.db import open_database
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


def _start_service(
    url: str, ca_file: Path, port: int, tls: TlsFiles | None, work: Path
) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "bts_desk.service.cli", "--db", url, "--ca", str(ca_file)]
    cmd += ["--port", str(port), "--log-level", "WARNING", "--key-file", str(work / "svc.key")]
    if tls is not None:
        cmd += ["--certfile", str(tls.certfile), "--keyfile", str(tls.keyfile)]
    proc = subprocess.Popen(cmd)
    scheme = "https" if tls else "http"
    verify: str | bool = str(tls.ca_pem) if tls else True
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            health = f"{scheme}://127.0.0.1:{port}/api/v1/health"
            if requests.get(health, timeout=1, verify=verify).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("sync service did not start")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--uploads", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=25)
    parser.add_argument("--no-batch", action="store_true")
    parser.add_argument("--parallel", type=int, default=2, help="batch requests in flight")
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
            port = _free_port()
            files = tls if mode == "tls" else None
            proc = _start_service(f"sqlite:///{run / 'service.db'}", ca_file, port, files, run)
            scheme = "https" if files else "http"
            try:
                result[mode] = _measure(
                    args, run / "desk", f"{scheme}://127.0.0.1:{port}", cred, proc.pid, tls=files
                )
            finally:
                proc.terminate()
                proc.wait(30)
        if "tls" in result and "plain" in result:
            on, off = result["tls"], result["plain"]
            assert isinstance(on, dict) and isinstance(off, dict)
            result["tls_cost"] = {
                "upload_s_ratio": round(on["upload_s"] / off["upload_s"], 2),
                "pull_s_ratio": round(on["pull_1m_s"] / off["pull_1m_s"], 2),
            }
        print(json.dumps(result))
    return 0


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(
    args: argparse.Namespace,
    work: Path,
    url: str,
    cred: object,
    service_pid: int,
    *,
    tls: TlsFiles | None,
) -> dict[str, float | int | bool]:
    from bts_desk.drivers.piv_card.pki import OfficerCredentials

    assert isinstance(cred, OfficerCredentials)
    key_pem = cred.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    db = open_database(f"sqlite:///{work / 'desk.db'}")
    key = load_or_create_key(work / "desk.key")
    client = SyncClient(
        url, desk_id="bench-desk", timeout_s=60, ca_cert=str(tls.ca_pem) if tls else ""
    )
    tokens = TokenBroker(client)
    tokens.set_signer(PemSigner(key_pem, cred.der))
    worker = SyncWorker(
        db, client, tokens, key, batch_size=args.batch_size, use_batch=not args.no_batch
    )

    started = time.perf_counter()
    pull_cpu, pull_service_cpu = time.process_time(), _cpu_s(service_pid)
    pulled = worker.run_once().pulled  # empty desk store: everything comes
    pull_s = time.perf_counter() - started
    pull_cpu, pull_service_cpu = (
        time.process_time() - pull_cpu,
        _cpu_s(service_pid) - pull_service_cpu,
    )

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
    desk_cpu, service_cpu = time.process_time(), _cpu_s(service_pid)
    done = uploader.run_once(force=True)
    upload_s = time.perf_counter() - started
    desk_cpu, service_cpu = time.process_time() - desk_cpu, _cpu_s(service_pid) - service_cpu
    counts = outbox_counts(db)
    db_mb = sum(p.stat().st_size for p in work.glob("desk.db*")) / 1e6
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
        "save_per_s": round(args.uploads / save_s, 1),
        "desk_db_mb_after": round(db_mb, 1),
        "batch": not args.no_batch,
        "parallel": args.parallel,
        "cpus": os.cpu_count() or 0,
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


if __name__ == "__main__":
    sys.exit(main())
