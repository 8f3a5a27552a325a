"""The production guide's backup and restore (docs/production.md), done for real: the
service's PostgreSQL database is dumped with ``pg_dump -Fc`` while the service runs, restored
with ``pg_restore`` into a new, separate cluster, and the service starts on the restored
database with everything in it: records, the stored enrollment, desk reports, console
administrators (an administrator logs in), and a desk pulls and uploads again."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pg_cluster import PG_USER, PgCluster, _start, find_pg_bindir
from sqlalchemy import create_engine, func, select, text
from sync_support import OFFICER_A, Pki, make_desk, make_pki, service_record

from bts_desk.service.borderers import load_records
from bts_desk.service.console.auth import add_admin, check_password
from bts_desk.service.fleet_models import DeskState
from bts_desk.service.local import start_local_service
from bts_desk.service.models import ServerEnrollment
from bts_desk.store.enrollments import save_enrollment
from bts_desk.sync.reporter import StatusReporter
from bts_desk.sync.samples import sample_draft

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture
def second_cluster(pg_cluster: PgCluster) -> Iterator[PgCluster]:
    """Another PostgreSQL cluster (own data directory and port): the machine restored to."""
    cluster = _start(pg_cluster.bindir)
    try:
        yield cluster
    finally:
        cluster.run("pg_ctl", "-D", str(cluster.data), "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(cluster.base, ignore_errors=True)


def _dump_dir() -> Path:
    """A directory the server binaries' user can write (they run as postgres when root)."""
    directory = Path(tempfile.mkdtemp(prefix="bts-backup-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    return directory


def _count(url: str, table: type) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        n = int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    engine.dispose()
    return n


def test_pg_dump_restore_into_a_new_cluster_and_serve(
    pg_cluster: PgCluster, pg_url: str, second_cluster: PgCluster, pki: Pki, tmp_path: Path
) -> None:
    assert find_pg_bindir() is not None
    service = start_local_service(pg_url, pki.ca.pem)
    try:
        db = service.app.state.db
        load_records(db, [service_record(i) for i in range(1, 21)])
        add_admin(db, "it-admin", "backup password", dt.datetime.now(dt.UTC))
        desk = make_desk(tmp_path / "desk", service.url)
        desk.tokens.set_signer(pki.signer(OFFICER_A))
        assert desk.worker.run_once().ok
        save_enrollment(desk.db, sample_draft(3, OFFICER_A), desk.key)
        assert desk.worker.run_once().uploaded == 1
        reporter = StatusReporter(
            desk.db, desk.client, desk.tokens, desk_id="desk-test", district="5301"
        )
        assert reporter.send_once()
        desk.close()

        # The backup, taken while the service runs (pg_dump reads one consistent snapshot).
        database = pg_url.rsplit("/", 1)[1]
        dump = _dump_dir() / "bts-sync.dump"
        pg_cluster.run(
            "pg_dump", "-h", "127.0.0.1", "-p", str(pg_cluster.port), "-U", PG_USER,
            "-Fc", "-f", str(dump), database,
        )  # fmt: skip
        assert dump.stat().st_size > 10_000
    finally:
        service.stop()

    # The restore, into a new cluster on another port, into a new database.
    admin = create_engine(second_cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('CREATE DATABASE "bts_sync"'))
    admin.dispose()
    second_cluster.run(
        "pg_restore", "-h", "127.0.0.1", "-p", str(second_cluster.port), "-U", PG_USER,
        "--no-owner", "--exit-on-error", "-d", "bts_sync", str(dump),
    )  # fmt: skip
    shutil.rmtree(dump.parent, ignore_errors=True)
    restored_url = second_cluster.url("bts_sync")
    assert _count(restored_url, ServerEnrollment) == 1
    assert _count(restored_url, DeskState) == 1

    restored = start_local_service(restored_url, pki.ca.pem)
    try:
        assert requests.get(restored.url + "/api/v1/health", timeout=10).status_code == 200
        assert check_password(restored.app.state.db, "it-admin", "backup password")
        desk = make_desk(tmp_path / "desk2", restored.url)
        desk.tokens.set_signer(pki.signer(OFFICER_A))
        assert desk.worker.run_once().pulled == 20  # every record, the enrolled one's flags too
        save_enrollment(desk.db, sample_draft(4, OFFICER_A), desk.key)
        # It takes new uploads, and the desks pull their changes (the pass uploads, then
        # pulls): new revisions above the restored ones, although the new cluster's
        # transaction ids are far below the old one's.
        passed = desk.worker.run_once()
        assert (passed.uploaded, passed.pulled) == (1, 1), passed
        desk.close()
        assert _count(restored_url, ServerEnrollment) == 2
        assert restored.internal_errors == 0
    finally:
        restored.stop()
