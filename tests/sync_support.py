"""Helpers of the desk-side sync tests: a test PKI, a seeded in-process service, a desk, and a
misbehaving HTTP front (a real reverse proxy on 127.0.0.1 that injects faults).

Nothing is mocked: the desk talks HTTP to a real uvicorn service, directly or through the
proxy, which forwards real requests and answers with the service's real responses unless told
to misbehave (500, 429, timeouts, dropped connections, malformed JSON, losing the response
after the service stored the upload).
"""

from __future__ import annotations

import datetime as dt
import http.client
import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select

from bts_desk.config import load_settings
from bts_desk.domain import Gender, Officer, RecordState
from bts_desk.drivers.piv_card.pki import OfficerCredentials, TestCa, issue_officer, make_ca
from bts_desk.service.borderers import load_records
from bts_desk.service.local import LocalService, start_local_service
from bts_desk.service.models import ServerEnrollment
from bts_desk.store.crypto import DeskKey
from bts_desk.store.db import Database
from bts_desk.store.desk_store import open_desk_store
from bts_desk.sync.auth import PemSigner, TokenBroker
from bts_desk.sync.client import SyncClient, default_retry
from bts_desk.sync.outbox import Backoff, SyncWorker

OFFICER_A = Officer("GZ1001", "李明", "5301")
OFFICER_B = Officer("GZ2002", "王芳", "5301")


@dataclass
class Pki:
    ca: TestCa
    creds: dict[str, OfficerCredentials] = field(default_factory=dict)

    def signer(self, officer: Officer) -> PemSigner:
        cred = self.creds[officer.officer_id]
        key_pem = cred.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return PemSigner(key_pem, cred.der)

    def write(self, officer: Officer, directory: Path) -> tuple[Path, Path]:
        """The officer's key and certificate as PEM files (for the CLI)."""
        cred = self.creds[officer.officer_id]
        key_file, cert_file = directory / "officer.key", directory / "officer.crt"
        key_file.write_bytes(
            cred.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        cert_file.write_bytes(cred.certificate.public_bytes(serialization.Encoding.PEM))
        return key_file, cert_file


def make_pki() -> Pki:
    ca = make_ca()
    pki = Pki(ca)
    for officer in (OFFICER_A, OFFICER_B):
        pki.creds[officer.officer_id] = issue_officer(
            ca, officer.name, officer.officer_id, officer.customs_code
        )
    return pki


def service_record(record_id: int, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": record_id,
        "customs_code": "5301",
        "name": f"边民{record_id:04d}",
        "gender": str(Gender.FEMALE if record_id % 2 else Gender.MALE),
        "id_number": "53262519800101001X",
        "address": "云南省文山州麻栗坡县天保镇",
        "id_valid_from": dt.date(2020, 1, 1),
        "id_valid_to": dt.date(2040, 1, 1),
        "state": str(RecordState.NORMAL),
        "data_source": "海关",
        "valid_to": dt.date(2030, 1, 1),
        "has_face": False,
        "has_finger": False,
        "enabled": True,
        "synced": True,
        "last_op_date": None,
    }
    record.update(changes)
    return record


def start_service(tmp_path: Path, pki: Pki, records: int = 20, port: int = 0) -> LocalService:
    url = f"sqlite:///{tmp_path / 'service.db'}"
    service = start_local_service(url, pki.ca.pem, port)
    if records:
        load_records(service.app.state.db, [service_record(i) for i in range(1, records + 1)])
    return service


def stored_enrollments(service: LocalService) -> list[str]:
    with service.app.state.db.read() as conn:
        return [str(u) for u in conn.execute(select(ServerEnrollment.uuid)).scalars()]


def count_stored(service: LocalService) -> int:
    with service.app.state.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(ServerEnrollment)).scalar_one())


@dataclass
class Desk:
    db: Database
    key: DeskKey
    client: SyncClient
    tokens: TokenBroker
    worker: SyncWorker

    def close(self) -> None:
        self.worker.stop()
        self.client.close()
        self.db.dispose()


def make_desk(
    directory: Path,
    url: str,
    *,
    timeout_s: float = 5.0,
    retries: int = 2,
    use_batch: bool = True,
    batch_size: int = 10,
) -> Desk:
    directory.mkdir(parents=True, exist_ok=True)
    # The desk's own way in (encrypted store, key checked), so that a `python -m bts_desk.sync`
    # process opening the same files sees the same store instead of encrypting it under us.
    settings = load_settings(machine_file=directory / "none", user_file=directory / "none", env={})
    settings = settings.replace("database", url=f"sqlite:///{directory / 'desk.db'}")
    db, key = open_desk_store(settings.replace("security", key_file=str(directory / "desk.key")))
    client = SyncClient(
        url,
        desk_id="desk-test",
        timeout_s=timeout_s,
        retry=default_retry(total=retries, backoff_factor=0.05, backoff_jitter=0.05),
    )
    tokens = TokenBroker(client)
    worker = SyncWorker(
        db,
        client,
        tokens,
        key,
        interval_s=30,
        backoff=Backoff(base_s=0.2, max_s=2.0),
        batch_size=batch_size,
        use_batch=use_batch,
    )
    return Desk(db, key, client, tokens, worker)


# --- the misbehaving front ----------------------------------------------------------------------

FAULTS = ("500", "429", "timeout", "drop", "drop_after", "malformed")


class FaultyProxy:
    """A reverse proxy in front of ``upstream`` that can misbehave on chosen requests.

    ``inject(fault, path_part, times)`` makes the next ``times`` requests whose path contains
    ``path_part`` misbehave: ``500``/``429`` answer that status without forwarding; ``timeout``
    forwards nothing and stays silent longer than the desk's timeout; ``drop`` closes the
    connection without forwarding; ``drop_after`` forwards (the service stores) and then closes
    the connection without answering (a lost response); ``malformed`` forwards and answers 200
    with a body that is not JSON."""

    def __init__(self, upstream: str, silence_s: float = 3.0) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.silence_s = silence_s
        self._faults: list[list[Any]] = []
        self._lock = threading.Lock()
        self.seen: list[tuple[str, str, str]] = []  # (method, path, what happened)
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def _any(self) -> None:
                proxy.handle(self)

            do_GET = do_PUT = do_POST = _any  # noqa: N815

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def inject(self, fault: str, path_part: str = "", times: int = 1) -> None:
        assert fault in FAULTS
        with self._lock:
            self._faults.append([fault, path_part, times])

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take(self, path: str) -> str | None:
        with self._lock:
            for item in self._faults:
                if item[1] in path and item[2] > 0:
                    item[2] -= 1
                    return str(item[0])
        return None

    def handle(self, req: http.server.BaseHTTPRequestHandler) -> None:
        length = int(req.headers.get("Content-Length") or 0)
        body = req.rfile.read(length) if length else b""
        fault = self._take(req.path)
        self.seen.append((req.command, req.path, fault or "forwarded"))
        if fault in ("500", "429"):
            self._reply(req, int(fault), b'{"detail": "injected"}')
        elif fault == "timeout":
            time.sleep(self.silence_s)
            req.close_connection = True
        elif fault == "drop":
            req.close_connection = True
        else:
            status, data = self._forward(req, body)
            if fault == "drop_after":
                req.close_connection = True
            elif fault == "malformed":
                self._reply(req, 200, b"<html>gateway says hi</html>")
            else:
                self._reply(req, status, data)

    def _forward(self, req: http.server.BaseHTTPRequestHandler, body: bytes) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            headers = {k: v for k, v in req.headers.items() if k.lower() != "host"}
            conn.request(req.command, req.path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    @staticmethod
    def _reply(req: http.server.BaseHTTPRequestHandler, status: int, data: bytes) -> None:
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(data)))
        if status == 429:
            req.send_header("Retry-After", "0")
        req.end_headers()
        req.wfile.write(data)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def faulty_proxy(upstream: str, silence_s: float = 3.0) -> Iterator[FaultyProxy]:
    proxy = FaultyProxy(upstream, silence_s)
    try:
        yield proxy
    finally:
        proxy.close()
