"""``bts-sync-server --workers 2`` on PostgreSQL: several processes, one service. A token
issued by one worker is good in the other (sessions live in the database), and ``/metrics``
merges the counts of both processes (prometheus_client's multiprocess mode): every request
made is counted once."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sync_service_stack import ApiClient, SvcPki

from bts_desk.sync import wire

pytestmark = pytest.mark.postgres


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def two_workers(pg_url: str, svc_pki: SvcPki, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(svc_pki.ca.pem)
    port = _free_port()
    metrics_dir = tmp_path / "prom"
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "BTS_SYNC_METRICS_ALLOW": "127.0.0.0/8",
    }
    env.pop("BTS_SYNC_TOKEN_SECRET", None)
    args = [sys.executable, "-m", "bts_desk.service", "--db", pg_url, "--ca", str(ca),
            "--port", str(port), "--workers", "2", "--load-demo", "50",
            "--key-file", str(tmp_path / "service.key")]  # fmt: skip
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a shared, busy machine
        while True:
            try:
                if requests.get(url + wire.PATH_HEALTH, timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            assert time.monotonic() < deadline, "the workers did not come up"
            time.sleep(0.2)
        yield url, metrics_dir
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def counted(text: str, route: str, status: str) -> int:
    labels = f'method="GET",route="{route}",status="{status}"'
    pattern = r"bts_sync_requests_total\{" + re.escape(labels) + r"\} (\S+)"
    match = re.search(pattern, text)
    return int(float(match.group(1))) if match else 0


def test_two_workers_share_tokens_and_merge_metrics(
    two_workers: tuple[str, Path], svc_pki: SvcPki
) -> None:
    url, metrics_dir = two_workers
    api = ApiClient(url)
    token = api.login(svc_pki.officer_a)
    before = counted(requests.get(url + "/metrics", timeout=10).text, wire.PATH_BORDERERS, "200")
    pulls = 40
    for _ in range(pulls):  # a new connection each time: both workers answer some
        answer = requests.get(
            url + wire.PATH_BORDERERS, params={"cursor": 0, "limit": 10},
            headers=api.auth(token), timeout=10,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text  # whichever worker got it knows the token
    text = requests.get(url + "/metrics", timeout=10).text
    assert counted(text, wire.PATH_BORDERERS, "200") - before == pulls
    assert re.search(r"^bts_sync_pulls_total (\S+)", text, re.M)
    pids = {p.stem.rsplit("_", 1)[-1] for p in metrics_dir.glob("counter_*.db")}
    assert len(pids) >= 2, f"only {pids} wrote counters: one worker answered everything"
    api.close()
