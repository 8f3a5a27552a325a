"""pytest plugin: a throw-away PostgreSQL cluster for the sync service tests.

- ``pg_cluster`` (session): finds Debian's server binaries (``/usr/lib/postgresql/*/bin``,
  the newest version), ``initdb`` into a fresh temporary directory and ``pg_ctl start`` on a
  free port on 127.0.0.1 (Unix socket in the same directory); stops it and removes the
  directory at the end. initdb refuses to run as root, so as root everything runs as the
  ``postgres`` user (``runuser``) in a directory it owns. Durability is switched off
  (``fsync=off``): the cluster lives for one test session.
- ``pg_url``: a new, empty database in that cluster for each test, as a SQLAlchemy URL
  (``postgresql+psycopg://…``); dropped afterwards.

Skips, with the reason, only where the PostgreSQL server is not installed (``.ci/run``
installs Debian's ``postgresql`` package through dev.sh, so CI runs these tests).
Registered from ``tests/conftest.py`` (``pytest_plugins``).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

PG_USER = "bts"


def find_pg_bindir() -> Path | None:
    """The bin directory of the newest installed PostgreSQL server, or None."""
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not candidates:
        found = shutil.which("initdb")
        return Path(found).parent if found else None

    def version(path: str) -> float:
        try:
            return float(Path(path).parent.parent.name)
        except ValueError:
            return 0.0

    return Path(max(candidates, key=version)).parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class PgCluster:
    bindir: Path
    base: Path
    port: int

    @property
    def data(self) -> Path:
        return self.base / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """A server binary, as ``postgres`` when we are root (initdb refuses root)."""
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run(
            [*prefix, str(self.bindir / args[0]), *args[1:]],
            check=check,
            capture_output=True,
            text=True,
            timeout=120,
        )


def _start(bindir: Path, attempts: int = 3, *, durable: bool = False) -> PgCluster:
    """initdb once, then pg_ctl start on a free port (another one if the port was taken
    between choosing and binding it). ``durable``: PostgreSQL's own defaults (fsync and
    synchronous commit on), as production runs it (the benchmarks); otherwise off."""
    base = Path(tempfile.mkdtemp(prefix="bts-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    cluster = PgCluster(bindir, base, 0)
    made = cluster.run(
        "initdb", "-D", str(cluster.data), "-U", PG_USER, "-A", "trust", "-E", "UTF8",
        "--no-locale", "--no-sync", check=False,
    )  # fmt: skip
    if made.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {made.stdout}{made.stderr}")
    for _ in range(attempts):
        cluster = PgCluster(bindir, base, _free_port())
        fast = " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        options = (
            f"-h 127.0.0.1 -p {cluster.port} -k {base}{'' if durable else fast}"
            " -c max_connections=100"
        )
        started = cluster.run(
            "pg_ctl", "-D", str(cluster.data), "-o", options, "-l", str(base / "server.log"),
            "-w", "-t", "60", "start", check=False,
        )  # fmt: skip
        if started.returncode == 0:
            return cluster
    log = (base / "server.log").read_text(errors="replace")
    shutil.rmtree(base, ignore_errors=True)
    raise RuntimeError(f"pg_ctl start failed: {started.stdout}{started.stderr}\n{log}")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    bindir = find_pg_bindir()
    if bindir is None:
        pytest.skip(
            "PostgreSQL server not installed (no /usr/lib/postgresql/*/bin/initdb): "
            "apt-get install postgresql (dev.sh does) to run the PostgreSQL tests"
        )
    cluster = _start(bindir)
    try:
        yield cluster
    finally:
        cluster.run("pg_ctl", "-D", str(cluster.data), "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(cluster.base, ignore_errors=True)


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> Iterator[str]:
    """A fresh empty database for one test; dropped (connections and all) afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_cluster.url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield pg_cluster.url(name)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
