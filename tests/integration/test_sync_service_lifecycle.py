"""The in-process service's life: stop and start again on the same port with the data kept,
and a database that goes away answered with 503 (retry later), not 500."""

from __future__ import annotations

import gc
import logging
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, make_url, text
from sync_service_stack import ApiClient, SvcPki, draft_body, refusal

from bts_desk.service.local import LocalService, start_local_service
from bts_desk.sync import wire


def test_restart_on_the_same_port_keeps_the_data_and_the_sessions(
    svc_db_url: str, svc_pki: SvcPki, svc: LocalService
) -> None:
    client = ApiClient(svc.url)
    token = client.login(svc_pki.officer_a)
    uuid, body = draft_body(10, svc_pki.officer_a)
    assert client.put(token, uuid, body).status_code == 201
    svc.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(svc.url + wire.PATH_HEALTH, timeout=5)
    again = start_local_service(svc_db_url, svc_pki.ca.pem, svc.port)
    try:
        assert again.url == svc.url
        # sessions live in the database: the desk's token outlives a restart (or another
        # worker process), and the retry is answered from the stored copy
        assert client.put(token, uuid, body).status_code == 200
    finally:
        again.stop()
        client.close()


@pytest.mark.parametrize("svc_db_url", ["postgres"], indirect=True)
@pytest.mark.postgres
def test_database_gone_is_503_not_500(
    svc_db_url: str, api: ApiClient, svc_pki: SvcPki, svc: LocalService
) -> None:
    token = api.login(svc_pki.officer_a)
    url = make_url(svc_db_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{url.database}" WITH (FORCE)'))
    admin.dispose()
    uuid, body = draft_body(10, svc_pki.officer_a)
    assert refusal(api.put(token, uuid, body)) == (503, wire.E_UNAVAILABLE)
    assert refusal(api.pull(token)) == (503, wire.E_UNAVAILABLE)
    health = api.http.get(api.url + wire.PATH_HEALTH, timeout=10)
    assert health.status_code == 503


def test_starting_the_in_process_service_keeps_the_host_log_file_open(
    svc_db_url: str, svc_pki: SvcPki, tmp_path: Path
) -> None:
    """The demo desk runs the service in its own process: uvicorn must not reconfigure the
    desk's logging (its default dictConfig closed every handler, the desk's log file too)."""
    handler = logging.FileHandler(tmp_path / "host.log", encoding="utf-8")
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        service = start_local_service(svc_db_url, svc_pki.ca.pem)
        try:
            assert handler.stream is not None and not handler.stream.closed
            assert handler in root.handlers
        finally:
            service.stop()
    finally:
        root.removeHandler(handler)
        handler.close()


def test_a_started_service_has_settled_its_heap(svc_db_url: str, svc_pki: SvcPki) -> None:
    """Its start-up objects are frozen out of the collector's sight (``bts_desk.heap``): a
    full collection of them stopped every request of the worker for 60-100 ms."""
    gc.unfreeze()
    service = start_local_service(svc_db_url, svc_pki.ca.pem)
    try:
        assert gc.get_freeze_count() > 0
    finally:
        service.stop()
