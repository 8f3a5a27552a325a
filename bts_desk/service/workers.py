"""The sync service as several worker processes (uvicorn ``--workers``) on one database.

``serve_workers`` prepares what the workers share and then hands over to uvicorn's process
manager, which spawns ``workers`` processes that each build the app with ``app_from_env``:

- the database URL and CA file travel in the environment (``BTS_SYNC_DB``,
  ``BTS_SYNC_CA_FILE``); sessions live in the database, so a session opened through one
  worker is good (and its revocation final) in all of them;
- the schema is created once, here, before any worker starts (workers creating it at once
  would race on PostgreSQL's catalogue);
- ``PROMETHEUS_MULTIPROC_DIR`` (the configured one, or a new temporary directory) is set and
  cleared of a previous run's ``*.db`` files before the workers import ``prometheus_client``
  (see ``bts_desk.service.metrics``).

Each worker is stateless apart from its connection pool: sessions, challenges, reports and
console sessions all live in the database, so any worker (or any machine) can answer anything.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from fastapi import FastAPI


def app_from_env() -> FastAPI:
    """The app of one worker process (uvicorn's ``--factory`` target)."""
    from bts_desk.service.app import create_app
    from bts_desk.service.vault import Vault

    key_file = os.environ.get("BTS_SYNC_KEY_FILE", "")
    return create_app(
        os.environ["BTS_SYNC_DB"],
        Path(os.environ["BTS_SYNC_CA_FILE"]).read_bytes(),
        create_schema=False,
        vault=Vault.load(Path(key_file)) if key_file else None,
        crl_file=Path(os.environ["BTS_SYNC_CRL_FILE"])
        if "BTS_SYNC_CRL_FILE" in os.environ
        else None,
    )


def prepare_environment(db_url: str, ca_file: Path, metrics_dir: Path | None = None) -> Path:
    """Set the workers' environment and create the schema; returns the metrics directory."""
    from bts_desk.service.database import ServiceDatabase

    db = ServiceDatabase(db_url)
    try:
        from bts_desk.service import fleet_models  # noqa: F401

        db.create_schema()
    finally:
        db.dispose()
    configured = metrics_dir or os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    directory = Path(configured) if configured else Path(tempfile.mkdtemp(prefix="bts-metrics-"))
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):  # counts of a previous run (only our own files)
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    os.environ["BTS_SYNC_DB"] = db_url
    os.environ["BTS_SYNC_CA_FILE"] = str(ca_file.resolve())
    return directory


def serve_workers(
    db_url: str,
    ca_file: Path,
    *,
    host: str,
    port: int,
    workers: int,
    log_level: str = "info",
    metrics_dir: Path | None = None,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    key_file: Path | None = None,
    crl_file: Path | None = None,
) -> None:
    """Run ``workers`` processes on ``host:port`` until interrupted (blocking)."""
    import uvicorn

    prepare_environment(db_url, ca_file, metrics_dir)
    if key_file is not None:
        from bts_desk.service.vault import Vault

        Vault.load(key_file, create=True)  # made once, before the workers read it
        os.environ["BTS_SYNC_KEY_FILE"] = str(key_file.resolve())
    if crl_file is not None:
        os.environ["BTS_SYNC_CRL_FILE"] = str(crl_file.resolve())
    uvicorn.run(
        "bts_desk.service.workers:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
    )
