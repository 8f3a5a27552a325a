"""Run the sync service inside this process on a loopback port (tests, the demo, benchmarks).

``start_local_service(db_url, ca_pem)`` binds 127.0.0.1 (a free port unless one is given),
serves the app with uvicorn in a daemon thread and returns once it accepts connections;
``handle.stop()`` shuts it down and waits for the thread. ``start_demo_service`` is the
demo's variant: a SQLite file filled with the demo records on first start. Restarting on the
same port (a "service down for a while" test) works: the socket is bound with SO_REUSEADDR.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy import select

from bts_desk.errors import SyncError
from bts_desk.service.app import create_app
from bts_desk.service.database import ServiceDatabase
from bts_desk.service.grants import grant
from bts_desk.service.models import ServerBorderer
from bts_desk.service.tokens import Clock, utc_now

log = logging.getLogger(__name__)


@dataclass
class LocalService:
    """A running in-process service. ``url`` is its base URL (no trailing slash)."""

    app: FastAPI
    host: str
    port: int
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    scheme: str = "http"  # https when started with a certificate

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def internal_errors(self) -> int:
        """How many requests ended in an unexpected 500 (should stay 0)."""
        return int(self.app.state.internal_errors)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving (open connections are closed) and wait for the server thread."""
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)
        log.info("local sync service on %s stopped", self.url)

    def __enter__(self) -> LocalService:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()


def _bind(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose
    # proto says TCP, and uvicorn writes headers and body separately (a 40 ms delayed-ACK
    # stall per request otherwise).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise SyncError(
            "同步服务无法启动：端口被占用", f"cannot bind {host}:{port}: {exc}", retryable=False
        ) from exc
    sock.listen(128)
    return sock


def start_local_service(
    db_url: str,
    ca_pem: bytes,
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    clock: Clock = utc_now,
    startup_timeout: float = 20.0,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    **app_options: Any,
) -> LocalService:
    """Create the app on ``db_url`` and serve it on ``host:port`` in a background thread;
    HTTPS with ``certfile``/``keyfile`` (PEM). ``app_options`` go to ``create_app``."""
    app = create_app(db_url, ca_pem, clock=clock, **app_options)
    sock = _bind(host, port)
    actual_port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        log_level="warning",
        # uvicorn's default log_config runs logging.config.dictConfig, which closes every
        # handler of the host process: the desk's (or a test's) log file went quiet until
        # its next record reopened it. Its loggers propagate to the host's root instead.
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run,
        kwargs={"sockets": [sock]},
        name=f"sync-service-{actual_port}",
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise SyncError(
                "同步服务无法启动",
                f"uvicorn did not start on {host}:{actual_port}",
                retryable=False,
            )
        time.sleep(0.01)
    scheme = "https" if certfile else "http"
    log.info("local sync service on %s://%s:%d (%s)", scheme, host, actual_port, app.state.db.url)
    return LocalService(app, host, actual_port, server, thread, scheme)


def _grant_every_district(db: ServiceDatabase, officers: Sequence[str]) -> None:
    """The demo officer serves every district of the demo data (the generator spreads the
    people over several 关区), so the demo desk pulls them all."""
    if not officers:
        return
    with db.read() as conn:
        districts = conn.execute(select(ServerBorderer.customs_code).distinct()).scalars().all()
    for officer in officers:
        for district in districts:
            grant(db, officer, district, by="demo", now=utc_now())


def start_demo_service(
    db_path: Path,
    ca_pem: bytes,
    records: int = 1000,
    *,
    seed: int = 20260,
    port: int = 0,
    grant_all_to: Sequence[str] = (),
) -> LocalService:
    """The demo's own sync service: SQLite at ``db_path``, filled on first start with the
    manual's rows and ``records`` generated ones — the same generator and seed as the desk's
    demo data (``bts_desk.store.demo_data``), so ids and people match — then served on a free
    loopback port; ``grant_all_to``: officers granted every district of the data. Blocking
    for the first fill (about 3 s per 100,000 records): call it from a worker thread, or
    before the window shows."""
    from bts_desk.service.demo import load_demo

    url = f"sqlite:///{db_path}"
    db = ServiceDatabase(url)
    try:
        db.create_schema()
        with db.read() as conn:
            empty = conn.execute(select(ServerBorderer.id).limit(1)).first() is None
        if empty:
            load_demo(db, records, seed=seed)
        _grant_every_district(db, grant_all_to)
    finally:
        db.dispose()
    from bts_desk.service.vault import Vault

    vault = Vault.load(db_path.with_suffix(".key"), create=True)
    return start_local_service(url, ca_pem, port, vault=vault)
