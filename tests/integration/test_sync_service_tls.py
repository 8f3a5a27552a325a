"""TLS end to end with a test CA made in the test: the service serves HTTPS, the desk verifies
it against ``sync.ca_cert``, a certificate of another CA is refused, and ``http://`` to
anything but loopback is refused by the desk before any request. SQLite and PostgreSQL."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sync_service_stack import SvcPki, sign, special_records

from bts_desk.drivers.piv_card.pki import make_ca
from bts_desk.drivers.piv_card.tls import TlsFiles, issue_server
from bts_desk.errors import SyncError
from bts_desk.service.borderers import load_records
from bts_desk.service.local import LocalService, start_local_service
from bts_desk.sync.auth import OfficerAuth, PemSigner
from bts_desk.sync.client import SyncClient, SyncOfflineError
from bts_desk.sync.pull import Puller


@pytest.fixture
def tls(tmp_path: Path) -> TlsFiles:
    return issue_server(make_ca("BTS Test Service CA"), tmp_path / "tls")


@pytest.fixture
def https_svc(svc_db_url: str, svc_pki: SvcPki, tls: TlsFiles) -> Iterator[LocalService]:
    service = start_local_service(
        svc_db_url, svc_pki.ca.pem, certfile=tls.certfile, keyfile=tls.keyfile
    )
    try:
        load_records(service.app.state.db, special_records())
        yield service
    finally:
        service.stop()
    assert service.internal_errors == 0


def signer_of(svc_pki: SvcPki) -> PemSigner:
    from cryptography.hazmat.primitives import serialization

    creds = svc_pki.officer_a
    key = creds.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return PemSigner(key, creds.der)


def test_the_desk_talks_to_the_service_over_verified_tls(
    https_svc: LocalService, tls: TlsFiles, svc_pki: SvcPki
) -> None:
    assert https_svc.url.startswith("https://127.0.0.1:")
    client = SyncClient(https_svc.url, desk_id="desk-tls", ca_cert=str(tls.ca_pem))
    try:
        assert client.health()
        token = OfficerAuth(client, signer_of(svc_pki)).token()
        page = client.pull_page(token, 0, 5)
        assert len(page.items) == 5
        assert sign  # the same card stand-in as the plain-HTTP tests
    finally:
        client.close()


def test_a_service_certificate_of_another_ca_is_refused(
    https_svc: LocalService, tmp_path: Path
) -> None:
    other = issue_server(make_ca("Rogue CA"), tmp_path / "rogue")
    client = SyncClient(https_svc.url, desk_id="desk-tls", ca_cert=str(other.ca_pem))
    try:
        with pytest.raises(SyncOfflineError) as info:
            client.health()
        assert "证书" in info.value.user_message and "TLS" in info.value.detail
    finally:
        client.close()
    system_store = SyncClient(https_svc.url, desk_id="desk-tls")  # no CA given: system store
    try:
        with pytest.raises(SyncOfflineError):
            system_store.health()
    finally:
        system_store.close()


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent for a UDP connect
            address = str(probe.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") else address


@pytest.mark.parametrize("svc_db_url", ["sqlite"], indirect=True)
def test_plain_http_to_a_network_address_is_refused_without_a_request(svc_db_url: str) -> None:
    address = _non_loopback_address() or "192.0.2.10"  # TEST-NET when the host has no other
    with socket.socket() as listener:
        bound = address != "192.0.2.10"
        if bound:
            listener.bind((address, 0))
            listener.listen(1)
            listener.settimeout(0.5)
        port = listener.getsockname()[1] if bound else 8765
        for url in (f"http://{address}:{port}", "http://bts.example.gov.cn", "ftp://127.0.0.1"):
            with pytest.raises(SyncError) as info:
                SyncClient(url, desk_id="desk")
            assert "https" in info.value.user_message and not info.value.retryable
        if bound:
            with pytest.raises(TimeoutError):
                listener.accept()  # nobody knocked
    for fine in ("http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1", "https://x.cn"):
        SyncClient(fine, desk_id="desk").close()


def test_the_puller_works_through_tls(
    https_svc: LocalService, tls: TlsFiles, svc_pki: SvcPki, tmp_path: Path
) -> None:
    from bts_desk.store.db import open_database

    db = open_database(f"sqlite:///{tmp_path / 'desk.db'}")
    client = SyncClient(https_svc.url, desk_id="desk-tls", ca_cert=str(tls.ca_pem))
    try:
        token = OfficerAuth(client, signer_of(svc_pki)).token()
        assert Puller(db, client).pull(token) == len(special_records())
    finally:
        client.close()
        db.engine.dispose()
