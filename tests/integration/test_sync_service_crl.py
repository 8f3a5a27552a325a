"""The CRL endpoint: ``GET /api/v1/crl`` publishes the officer CA's CRL (``--crl``) as DER,
without a login; the desk's ``fetch_crl`` returns it and the sync worker hands it to the card's
revocation store, which then refuses the revoked officer. Real HTTP, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sync_service_stack import SvcPki, refusal, special_records

from bts_desk.card.revocation import CertificateRevokedError, RevocationStore
from bts_desk.drivers.piv_card.pki import make_crl
from bts_desk.errors import SyncError
from bts_desk.service.borderers import load_records
from bts_desk.service.local import LocalService, start_local_service
from bts_desk.sync import wire
from bts_desk.sync.client import SyncClient


@pytest.fixture
def crl_der(svc_pki: SvcPki) -> bytes:
    return make_crl(svc_pki.ca, [svc_pki.officer_b.certificate.serial_number])


@pytest.fixture
def crl_svc(
    svc_db_url: str, svc_pki: SvcPki, crl_der: bytes, tmp_path: Path
) -> Iterator[LocalService]:
    crl_file = tmp_path / "officer-ca.crl.pem"  # IT may give PEM; the service serves DER
    pem = x509.load_der_x509_crl(crl_der).public_bytes(serialization.Encoding.PEM)
    crl_file.write_bytes(pem)
    service = start_local_service(svc_db_url, svc_pki.ca.pem, crl_file=crl_file)
    try:
        load_records(service.app.state.db, special_records())
        yield service
    finally:
        service.stop()
    assert service.internal_errors == 0


def test_the_crl_is_served_as_der_without_a_login(crl_svc: LocalService, crl_der: bytes) -> None:
    response = requests.get(crl_svc.url + wire.PATH_CRL, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == wire.CRL_MEDIA_TYPE
    assert response.content == crl_der


def test_without_a_configured_crl_the_answer_is_404(svc: LocalService) -> None:
    assert refusal(requests.get(svc.url + wire.PATH_CRL, timeout=10)) == (404, wire.E_NO_CRL)
    client = SyncClient(svc.url, desk_id="desk")
    with pytest.raises(SyncError) as info:
        client.fetch_crl()
    assert not info.value.retryable
    client.close()


def test_the_desk_fetches_it_into_the_revocation_store(
    crl_svc: LocalService, crl_der: bytes, svc_pki: SvcPki, tmp_path: Path
) -> None:
    client = SyncClient(crl_svc.url, desk_id="desk")
    try:
        assert client.fetch_crl() == crl_der
        store = RevocationStore([svc_pki.ca.certificate], cache_file=tmp_path / "card-crl.der")
        store.load()
        store.check(svc_pki.officer_b.certificate)  # nothing known yet
        assert store.update_from_der(client.fetch_crl())
        with pytest.raises(CertificateRevokedError):
            store.check(svc_pki.officer_b.certificate)
        store.check(svc_pki.officer_a.certificate)
    finally:
        client.close()
