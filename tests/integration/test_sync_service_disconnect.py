"""A desk that goes away in the middle of sending an upload (killed, or the link drops) is an
ordinary event at a border post: nothing is stored, nothing counts as an internal error, and
the retry of the same UUID stores it once."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

from sync_service_stack import ApiClient, SvcPki, encode_enrollment, officer_of

from bts_desk.service import LocalService
from bts_desk.sync.samples import sample_draft


def test_upload_cut_mid_body_is_not_an_internal_error(
    svc: LocalService, api: ApiClient, svc_pki: SvcPki
) -> None:
    creds = svc_pki.officer_a
    token = api.login(creds)
    draft = sample_draft(borderer_id=1, officer=officer_of(creds))
    body = json.dumps(encode_enrollment(draft)).encode()
    key = draft.uuid  # the envelope inside names its enrollment
    host = urlsplit(svc.url)
    head = (
        f"PUT /api/v1/enrollments/{key} HTTP/1.1\r\nHost: {host.netloc}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host.hostname, host.port), timeout=5) as sock:
        sock.sendall(head + body[: len(body) // 2])  # half the body, then the desk is gone
    time.sleep(0.5)

    assert svc.internal_errors == 0
    retry = api.http.put(
        f"{svc.url}/api/v1/enrollments/{key}",
        data=body,
        headers={**api.auth(token), "Content-Type": "application/json"},
        timeout=10,
    )
    assert retry.status_code == 201, retry.text  # the first, cut attempt stored nothing
