"""``bts-sync-server`` as a process: loading demo records, serving on a port, stopping."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from sqlalchemy import func, select

from bts_desk.drivers.piv_card.pki import make_ca
from bts_desk.service.cli import main
from bts_desk.service.database import ServiceDatabase
from bts_desk.service.local import start_demo_service
from bts_desk.service.models import ServerBorderer
from bts_desk.store import demo_data
from bts_desk.sync import wire


def _count(url: str) -> tuple[int, int]:
    db = ServiceDatabase(url)
    with db.read() as conn:
        rows = conn.execute(
            select(func.count(), func.count(func.distinct(ServerBorderer.revision)))
        ).one()
    db.dispose()
    return int(rows[0]), int(rows[1])


def test_load_demo_adds_the_manual_rows_and_generated_ones(svc_db_url: str) -> None:
    url = svc_db_url
    assert main(["--db", url, "--load-demo", "200", "--no-serve", "--log-level", "WARNING"]) == 0
    manual = len(demo_data.MANUAL_ROWS)
    assert _count(url) == (200 + manual, 200 + manual)
    assert main(["--db", url, "--load-demo", "10", "--no-serve", "--log-level", "WARNING"]) == 0
    assert _count(url) == (210 + manual, 210 + manual)  # ids continue, nothing clashes


def test_serving_needs_a_ca(tmp_path: Path) -> None:
    assert main(["--db", f"sqlite:///{tmp_path / 'x.db'}", "--log-level", "WARNING"]) == 2


def test_the_entry_point_serves_until_interrupted(tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(make_ca().pem)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [
        sys.executable, "-m", "bts_desk.service.cli", "--db",
        f"sqlite:///{tmp_path / 'svc.db'}", "--ca", str(ca_file), "--port", str(port),
        "--load-demo", "20", "--log-level", "WARNING",
    ]  # fmt: skip
    process = subprocess.Popen(command, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        url = f"http://127.0.0.1:{port}{wire.PATH_HEALTH}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = requests.get(url, timeout=2)
                break
            except requests.ConnectionError:
                assert process.poll() is None, "bts-sync-server exited"
                assert time.monotonic() < deadline, "bts-sync-server did not come up"
                time.sleep(0.1)
        assert health.json()["status"] == "ok"
        assert requests.get(url.replace("health", "borderers"), timeout=5).status_code == 401
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0


def test_demo_service_fills_once_and_serves_the_same_people_as_the_desk(tmp_path: Path) -> None:
    ca = make_ca()
    path = tmp_path / "demo-sync.db"
    first = start_demo_service(path, ca.pem, records=50)
    first.stop()
    again = start_demo_service(path, ca.pem, records=50)  # a restart adds nothing
    try:
        assert requests.get(again.url + wire.PATH_HEALTH, timeout=5).json()["status"] == "ok"
    finally:
        again.stop()
    manual = len(demo_data.MANUAL_ROWS)
    assert _count(f"sqlite:///{path}") == (50 + manual, 50 + manual)
    db = ServiceDatabase(f"sqlite:///{path}")
    with db.read() as conn:
        names = dict(conn.execute(select(ServerBorderer.id, ServerBorderer.name)).all())
    db.dispose()
    desk_rows = next(demo_data.generate(50, manual + 1))
    assert names[1] == demo_data.MANUAL_ROWS[0].name == "潘国生"
    assert [names[r["id"]] for r in desk_rows] == [r["name"] for r in desk_rows]
