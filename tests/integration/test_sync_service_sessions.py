"""The sync service's officer sessions over real HTTP: challenge, card signature, token rules.

Runs on SQLite and PostgreSQL (``svc_db_url``). Signatures are made with the officer's key as
the card would make them (the card itself is tested in the card tests)."""

from __future__ import annotations

import base64
import datetime as dt
import secrets

from sync_service_stack import (
    ApiClient,
    FakeClock,
    SvcPki,
    draft_body,
    refusal,
    session_body,
    sign,
)

from bts_desk.drivers.piv_card.pki import issue_officer
from bts_desk.service.local import LocalService
from bts_desk.sync import wire


def test_health_and_the_generated_openapi(api: ApiClient, svc: LocalService) -> None:
    health = api.http.get(api.url + wire.PATH_HEALTH, timeout=10)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    for hidden in ("/openapi.json", "/docs"):  # off unless the service is started with --docs
        assert refusal(api.http.get(api.url + hidden, timeout=10)) == (404, "http_404")
    spec = svc.app.openapi()
    for path in (
        wire.PATH_CHALLENGE,
        wire.PATH_SESSION,
        wire.PATH_BORDERERS,
        wire.PATH_ENROLLMENT,
        wire.PATH_ENROLLMENT_BATCH,
    ):
        assert path in spec["paths"], path
    put = spec["paths"][wire.PATH_ENROLLMENT]["put"]
    ref = put["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert schema == spec["components"]["schemas"]["EnrollmentBody"]  # from the wire model
    assert schema["additionalProperties"] is False
    assert schema["properties"]["desk_id"]["minLength"] == 1
    envelope = schema["properties"]["biometrics"]  # the CBEFF envelope, described
    assert envelope["contentMediaType"] == "application/xml"
    assert envelope["maxLength"] == wire.MAX_CBEFF_CHARS
    for term in ("ISO/IEC 19785-3", "19794-4", "19794-5", "owner 257", "type 7", "type 8"):
        assert term in envelope["description"], term
    assert "biometrics" in schema["required"] and "fingers" not in schema["properties"]
    assert {"201", "200", "409", "403"} <= set(put["responses"])


def test_a_wrong_method_is_405_with_allow(api: ApiClient) -> None:
    response = api.http.delete(api.url + wire.PATH_HEALTH, timeout=10)
    assert refusal(response) == (405, "http_405")
    assert response.headers["Allow"] == "GET"


def test_login_gives_a_token_naming_the_officer(api: ApiClient, svc_pki: SvcPki) -> None:
    challenge_body = api.http.post(api.url + wire.PATH_CHALLENGE, timeout=10).json()
    assert challenge_body["expires_in"] == wire.CHALLENGE_TTL_S
    challenge = base64.b64decode(challenge_body["challenge"])
    assert len(challenge) == wire.CHALLENGE_BYTES
    response = api.open_session(svc_pki.officer_a, challenge)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["expires_in"] == wire.TOKEN_TTL_S
    assert body["officer"] == {"officer_id": "GY0001", "name": "李海关", "customs_code": "8609"}
    assert (body["desk_id"], body["districts"]) == ("desk-7", ["8609"])  # own district only
    assert api.pull(body["token"], limit=1).status_code == 200


def test_calls_without_a_valid_token_are_refused(api: ApiClient, svc_pki: SvcPki) -> None:
    uuid, body = draft_body(10, svc_pki.officer_a)
    assert refusal(api.pull(None)) == (401, wire.E_NO_TOKEN)
    assert refusal(api.put(None, uuid, body)) == (401, wire.E_NO_TOKEN)
    assert refusal(api.pull("not-a-token")) == (401, wire.E_BAD_TOKEN)
    token = api.login(svc_pki.officer_a)
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")  # one guess of 2**256
    assert refusal(api.pull(forged)) == (401, wire.E_BAD_TOKEN)
    basic = api.http.get(
        api.url + wire.PATH_BORDERERS, headers={"Authorization": f"Basic {token}"}, timeout=10
    )
    assert refusal(basic) == (401, wire.E_NO_TOKEN)
    assert api.http.get(api.url + "/api/v1/nowhere", timeout=10).status_code == 404


def test_token_expires(api: ApiClient, svc_pki: SvcPki, svc_clock: FakeClock) -> None:
    token = api.login(svc_pki.officer_a)
    svc_clock.advance(wire.TOKEN_TTL_S - 5)
    assert api.pull(token, limit=1).status_code == 200
    svc_clock.advance(10)
    assert refusal(api.pull(token, limit=1)) == (401, wire.E_TOKEN_EXPIRED)
    assert api.pull(api.login(svc_pki.officer_a), limit=1).status_code == 200


def test_a_challenge_is_single_use(api: ApiClient, svc_pki: SvcPki) -> None:
    challenge = api.challenge()
    assert api.open_session(svc_pki.officer_a, challenge).status_code == 200
    again = api.open_session(svc_pki.officer_a, challenge)
    assert refusal(again) == (401, wire.E_BAD_CHALLENGE)


def test_a_challenge_never_issued_is_refused(api: ApiClient, svc_pki: SvcPki) -> None:
    made_up = secrets.token_bytes(wire.CHALLENGE_BYTES)
    assert refusal(api.open_session(svc_pki.officer_a, made_up)) == (401, wire.E_BAD_CHALLENGE)


def test_an_old_challenge_is_refused(api: ApiClient, svc_pki: SvcPki, svc_clock: FakeClock) -> None:
    challenge = api.challenge()
    svc_clock.advance(wire.CHALLENGE_TTL_S + 1)
    response = api.open_session(svc_pki.officer_a, challenge)
    assert refusal(response) == (401, wire.E_CHALLENGE_EXPIRED)


def test_signature_by_another_key_is_refused(api: ApiClient, svc_pki: SvcPki) -> None:
    challenge = api.challenge()
    stolen_cert_own_key = sign(svc_pki.officer_b, challenge)
    response = api.open_session(svc_pki.officer_a, challenge, stolen_cert_own_key)
    assert refusal(response) == (401, wire.E_BAD_SIGNATURE)
    other_bytes = api.challenge()
    wrong_message = api.open_session(svc_pki.officer_a, other_bytes, sign(svc_pki.officer_a, b"x"))
    assert refusal(wrong_message) == (401, wire.E_BAD_SIGNATURE)


def test_certificate_of_an_untrusted_ca_is_refused(api: ApiClient, svc_pki: SvcPki) -> None:
    response = api.open_session(svc_pki.rogue, api.challenge())
    status, code = refusal(response)
    assert (status, code) == (401, wire.E_BAD_CERTIFICATE)
    assert "认可" in response.json()["detail"]["message"]


def test_expired_certificate_is_refused(api: ApiClient, svc_pki: SvcPki) -> None:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    expired = issue_officer(svc_pki.ca, "旧卡", "GY0009", "8609", not_before=old, days=30)
    assert refusal(api.open_session(expired, api.challenge())) == (401, wire.E_BAD_CERTIFICATE)


def test_malformed_session_requests_are_4xx(api: ApiClient, svc_pki: SvcPki) -> None:
    url = api.url + wire.PATH_SESSION
    as_json = {"Content-Type": "application/json"}
    bad = api.http.post(url, data=b"{nope", headers=as_json, timeout=10)
    assert refusal(bad) == (400, wire.E_BAD_JSON)
    # Not declared as JSON: not read as JSON.
    assert refusal(api.http.post(url, data=b"{}", timeout=10)) == (422, wire.E_BAD_FIELD)
    assert refusal(api.http.post(url, json=[1, 2], timeout=10)) == (422, wire.E_BAD_FIELD)
    body = session_body(svc_pki.officer_a.der, api.challenge(), b"sig", "d")
    body["certificate"] = "***"
    assert refusal(api.http.post(url, json=body, timeout=10)) == (422, wire.E_BAD_BASE64)
    body = session_body(b"not a certificate", api.challenge(), b"sig", "d")
    assert refusal(api.http.post(url, json=body, timeout=10)) == (401, wire.E_BAD_CERTIFICATE)


def test_officer_a_cannot_upload_in_officer_b_name(
    api: ApiClient, svc_pki: SvcPki, svc: LocalService
) -> None:
    token_a = api.login(svc_pki.officer_a)
    uuid, body_of_b = draft_body(10, svc_pki.officer_b)
    assert refusal(api.put(token_a, uuid, body_of_b)) == (403, wire.E_OFFICER_MISMATCH)
    token_b = api.login(svc_pki.officer_b)
    assert api.put(token_b, uuid, body_of_b).status_code == 201
    # … and A cannot pass B's stored upload off as a retry either
    assert refusal(api.put(token_a, uuid, body_of_b)) == (403, wire.E_OFFICER_MISMATCH)
