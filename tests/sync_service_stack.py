"""pytest plugin: the reference sync service on 127.0.0.1, on SQLite and on PostgreSQL.

- ``svc_db_url`` (parametrized ``sqlite`` / ``postgres``): every test that uses the service
  runs on both databases; the PostgreSQL one comes from ``pg_cluster`` (skips only where the
  server is not installed).
- ``svc_pki``: a trusted CA with officers A and B, and a rogue CA with its own officer.
- ``svc_clock``: the service's clock, advanced by tests of expiry (nothing sleeps).
- ``svc``: the service started in-process (``start_local_service``) with ``SVC_RECORDS``
  records (see ``RECORD_*`` for the special ones); at teardown it asserts that no request
  reached the unexpected-error handler (every bad input must be a 4xx, never a 500).
- ``ApiClient``: a thin requests wrapper with the officer login done the way a card does it.

Registered from ``tests/conftest.py`` (``pytest_plugins``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sync_support import service_record

from bts_desk.domain import EnrollmentDraft, Officer, RecordState
from bts_desk.drivers.piv_card.pki import OfficerCredentials, TestCa, issue_officer, make_ca
from bts_desk.service.borderers import load_records
from bts_desk.service.local import LocalService, start_local_service
from bts_desk.service.vault import Vault
from bts_desk.sync import wire
from bts_desk.sync.samples import sample_draft

SVC_RECORDS = 30
SVC_DISTRICT = "8609"  # the district of every record above and of officers A and B
RECORD_SUSPENDED = 2  # 状态 暂停
RECORD_CANCELLED = 3  # 状态 注销
RECORD_UNSYNCED = 4  # 未同步海关
RECORD_BARE = 5  # 正常, no face, no finger (others too; this one is kept for flag tests)


class FakeClock:
    """A settable UTC clock, safe to read from the service's worker threads."""

    def __init__(self) -> None:
        self._now = dt.datetime.now(dt.UTC)
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += dt.timedelta(seconds=seconds)


@dataclass(frozen=True)
class SvcPki:
    ca: TestCa
    officer_a: OfficerCredentials
    officer_b: OfficerCredentials
    rogue: OfficerCredentials  # issued by a CA the service does not trust


def officer_of(creds: OfficerCredentials) -> Officer:
    """The officer a certificate names (read without the CA check: tests forge some)."""

    def field(oid: x509.ObjectIdentifier) -> str:
        return str(creds.certificate.subject.get_attributes_for_oid(oid)[0].value)

    return Officer(
        officer_id=field(NameOID.SERIAL_NUMBER),
        name=field(NameOID.COMMON_NAME),
        customs_code=field(NameOID.ORGANIZATIONAL_UNIT_NAME),
        certificate_der=creds.der,
    )


def sign(creds: OfficerCredentials, challenge: bytes) -> bytes:
    """What the officer card does with a challenge (ECDSA P-256 over SHA-256)."""
    return creds.key.sign(challenge, ec.ECDSA(hashes.SHA256()))


class ApiClient:
    """Plain HTTP calls to the service (requests); no retries, so every answer is visible."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()

    def close(self) -> None:
        self.http.close()

    def challenge(self) -> bytes:
        response = self.http.post(self.url + wire.PATH_CHALLENGE, timeout=10)
        assert response.status_code == 200, response.text
        return base64.b64decode(response.json()["challenge"])

    def open_session(
        self, creds: OfficerCredentials, challenge: bytes, signature: bytes | None = None
    ) -> requests.Response:
        body = session_body(creds.der, challenge, signature or sign(creds, challenge), "desk-7")
        return self.http.post(self.url + wire.PATH_SESSION, json=body, timeout=10)

    def login(self, creds: OfficerCredentials) -> str:
        response = self.open_session(creds, self.challenge())
        assert response.status_code == 200, response.text
        return str(response.json()["token"])

    @staticmethod
    def auth(token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"} if token else {}

    def pull(self, token: str | None, cursor: int = 0, limit: int = 1000) -> requests.Response:
        return self.http.get(
            self.url + wire.PATH_BORDERERS,
            params={"cursor": cursor, "limit": limit},
            headers=self.auth(token),
            timeout=30,
        )

    def put(self, token: str | None, uuid: str, body: Any) -> requests.Response:
        data = body if isinstance(body, bytes) else wire.canonical_json(body)
        headers = {"Content-Type": "application/json", **self.auth(token)}
        return self.http.put(
            self.url + wire.PATH_ENROLLMENT.format(uuid=uuid),
            data=data,
            headers=headers,
            timeout=30,
        )

    def enrollment(self, token: str | None, uuid: str) -> requests.Response:
        return self.http.get(
            self.url + wire.PATH_ENROLLMENT.format(uuid=uuid), headers=self.auth(token), timeout=30
        )

    def batch(self, token: str, items: list[tuple[str, Any]]) -> requests.Response:
        body = {"items": [{"uuid": u, "enrollment": b} for u, b in items]}
        headers = {"Content-Type": "application/json", **self.auth(token)}
        return self.http.post(
            self.url + wire.PATH_ENROLLMENT_BATCH,
            data=json.dumps(body).encode(),  # Infinity/NaN included: the service must cope
            headers=headers,
            timeout=60,
        )


def draft_body(record_id: int, creds: OfficerCredentials, **kw: Any) -> tuple[str, dict[str, Any]]:
    """(uuid, JSON body) of a realistic 补录 of ``record_id`` by the officer of ``creds``."""
    draft = sample_draft(record_id, officer_of(creds), **kw)
    return draft.uuid, encode_enrollment(draft)


def encode_enrollment(draft: EnrollmentDraft) -> dict[str, Any]:
    """The JSON body the desk sends for ``draft`` (through the wire model, as the desk does)."""
    return wire.EnrollmentBody.from_draft(draft).model_dump(mode="json")


def session_body(der: bytes, challenge: bytes, signature: bytes, desk_id: str) -> dict[str, Any]:
    body = wire.SessionBody(
        certificate=der, challenge=challenge, signature=signature, desk_id=desk_id
    )
    return body.model_dump(mode="json")


def refusal(response: requests.Response) -> tuple[int, str]:
    """(status, code) of a refusal, checking it carries a Chinese reason."""
    detail = wire.decode_error(response.json())
    assert detail is not None, response.text
    assert detail.message and any("\u4e00" <= ch <= "\u9fff" for ch in detail.message)
    return response.status_code, detail.code


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def svc_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sync-service.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def svc_pki() -> SvcPki:
    ca = make_ca()
    return SvcPki(
        ca=ca,
        officer_a=issue_officer(ca, "李海关", "GY0001", "8609"),
        officer_b=issue_officer(ca, "王关员", "GY0002", "8609"),
        rogue=issue_officer(make_ca("Rogue CA"), "李海关", "GY0001", "8609"),
    )


@pytest.fixture
def svc_clock() -> FakeClock:
    return FakeClock()


def special_records() -> list[dict[str, Any]]:
    changes: dict[int, dict[str, Any]] = {
        RECORD_SUSPENDED: {"state": str(RecordState.SUSPENDED)},
        RECORD_CANCELLED: {"state": str(RecordState.CANCELLED)},
        RECORD_UNSYNCED: {"synced": False},
    }
    return [
        service_record(i, customs_code=SVC_DISTRICT, **changes.get(i, {}))
        for i in range(1, SVC_RECORDS + 1)
    ]


@pytest.fixture
def svc_key_file(tmp_path: Path) -> Path:
    """The service key file of ``svc`` (biometrics at rest are sealed with it)."""
    return tmp_path / "service.key"


@pytest.fixture
def svc(
    svc_db_url: str, svc_pki: SvcPki, svc_clock: FakeClock, svc_key_file: Path
) -> Iterator[LocalService]:
    vault = Vault.load(svc_key_file, create=True)
    service = start_local_service(svc_db_url, svc_pki.ca.pem, clock=svc_clock, vault=vault)
    try:
        load_records(service.app.state.db, special_records())
        yield service
    finally:
        service.stop()
    assert service.internal_errors == 0, "a request reached the unexpected-error handler"


@pytest.fixture
def api(svc: LocalService) -> Iterator[ApiClient]:
    client = ApiClient(svc.url)
    yield client
    client.close()
