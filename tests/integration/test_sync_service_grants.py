"""Least privilege and sessions that end, over real HTTP on 127.0.0.1 (SQLite and PostgreSQL).

A session binds officer, desk and the districts granted at login: uploads of records outside
them are refused (403 district_forbidden), pulls bring only their records, the desk recorded
is the session's; IT grants and revokes districts with ``bts-sync-server``; a revoked or
logged-out session is refused at once; the anonymous challenge endpoint is rate-limited with
its table bounded, one limit shared by every process on the database; expired challenges and
sessions are purged.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sync_service_stack import (
    SVC_RECORDS,
    ApiClient,
    FakeClock,
    SvcPki,
    draft_body,
    refusal,
)
from sync_support import service_record

from bts_desk.service import ratelimit
from bts_desk.service.borderers import load_records
from bts_desk.service.cli import main as cli_main
from bts_desk.service.grants import grant_history
from bts_desk.service.local import LocalService, start_local_service
from bts_desk.service.models import (
    ChallengeBucket,
    OfficerSession,
    ServerEnrollment,
    SessionChallenge,
)
from bts_desk.service.ratelimit import ChallengeLimit
from bts_desk.sync import wire

OTHER_DISTRICT = "7218"
OTHER_RECORDS = range(SVC_RECORDS + 1, SVC_RECORDS + 6)  # five records of district 7218


def add_other_district(svc: LocalService) -> None:
    load_records(
        svc.app.state.db, [service_record(i, customs_code=OTHER_DISTRICT) for i in OTHER_RECORDS]
    )


def count(svc: LocalService, table: Any) -> int:
    with svc.app.state.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def pulled_ids(api: ApiClient, token: str) -> set[int]:
    page = wire.decode(wire.PullPage, api.pull(token, 0, wire.MAX_PULL_LIMIT).content)
    return {item["id"] for item in page.items}


def cli(svc_db_url: str, *args: str) -> int:
    return cli_main([args[0], "--db", svc_db_url, *args[1:]])


def test_records_of_another_district_are_neither_pulled_nor_uploaded(
    api: ApiClient, svc_pki: SvcPki, svc: LocalService
) -> None:
    add_other_district(svc)
    token = api.login(svc_pki.officer_a)
    assert pulled_ids(api, token) == set(range(1, SVC_RECORDS + 1))
    uuid, body = draft_body(OTHER_RECORDS[0], svc_pki.officer_a)
    assert refusal(api.put(token, uuid, body)) == (403, wire.E_DISTRICT_FORBIDDEN)
    answer = wire.decode(wire.BatchAnswer, api.batch(token, [(uuid, body)]).content)
    assert (answer.results[0].http_status, answer.results[0].code) == (
        403,
        wire.E_DISTRICT_FORBIDDEN,
    )
    assert count(svc, ServerEnrollment) == 0


def test_a_grant_opens_a_district_and_a_revocation_closes_it_at_once(
    api: ApiClient, svc_pki: SvcPki, svc: LocalService, svc_db_url: str
) -> None:
    add_other_district(svc)
    assert cli(svc_db_url, "grant", "GY0001", OTHER_DISTRICT, "--by", "it-zhang") == 0
    token = api.login(svc_pki.officer_a)
    assert set(OTHER_RECORDS) <= pulled_ids(api, token)
    uuid, body = draft_body(OTHER_RECORDS[0], svc_pki.officer_a)
    assert api.put(token, uuid, body).status_code == 201
    token_b = api.login(svc_pki.officer_b)  # the grant is officer A's alone
    assert not set(OTHER_RECORDS) & pulled_ids(api, token_b)

    assert cli(svc_db_url, "revoke", "GY0001", OTHER_DISTRICT, "--by", "it-zhang") == 0
    assert refusal(api.pull(token)) == (401, wire.E_BAD_TOKEN)  # the open session ends
    token = api.login(svc_pki.officer_a)
    assert not set(OTHER_RECORDS) & pulled_ids(api, token)
    history = [(a, o, d, by) for _at, a, o, d, by in grant_history(svc.app.state.db)]
    assert history == [
        ("grant", "GY0001", OTHER_DISTRICT, "it-zhang"),
        ("revoke", "GY0001", OTHER_DISTRICT, "it-zhang"),
    ]
    assert api.pull(token_b).status_code == 200  # B's session is untouched


def test_the_desk_recorded_is_the_sessions_not_the_bodys(
    api: ApiClient, svc_pki: SvcPki, svc: LocalService
) -> None:
    token = api.login(svc_pki.officer_a)  # ApiClient logs in as desk "desk-7"
    uuid, body = draft_body(10, svc_pki.officer_a)
    body["desk_id"] = "another-desks-id"
    assert api.put(token, uuid, body).status_code == 201
    with svc.app.state.db.read() as conn:
        desk = conn.execute(select(ServerEnrollment.desk_id)).scalar_one()
    assert desk == "desk-7"


def test_a_logged_out_session_is_refused_at_once(
    api: ApiClient, svc_pki: SvcPki, svc: LocalService
) -> None:
    token = api.login(svc_pki.officer_a)
    other = api.login(svc_pki.officer_a)  # the same officer at a second desk
    logout = api.http.delete(api.url + wire.PATH_SESSION, headers=api.auth(token), timeout=10)
    assert logout.status_code == 204
    assert refusal(api.pull(token)) == (401, wire.E_BAD_TOKEN)
    uuid, body = draft_body(10, svc_pki.officer_a)
    assert refusal(api.put(token, uuid, body)) == (401, wire.E_BAD_TOKEN)
    again = api.http.delete(api.url + wire.PATH_SESSION, headers=api.auth(token), timeout=10)
    assert refusal(again) == (401, wire.E_BAD_TOKEN)
    assert api.pull(other).status_code == 200


def test_a_challenge_flood_is_answered_429_with_the_table_bounded(
    api: ApiClient, svc: LocalService
) -> None:
    answers = [api.http.post(api.url + wire.PATH_CHALLENGE, timeout=10) for _ in range(80)]
    limited = [r for r in answers if r.status_code == 429]
    assert len(limited) >= 40
    assert refusal(limited[0]) == (429, wire.E_TOO_MANY)
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert count(svc, SessionChallenge) <= 40  # the burst, not the flood


def test_two_service_processes_share_one_limit_per_address(
    svc_db_url: str, svc_pki: SvcPki, svc_clock: FakeClock
) -> None:
    """Two services on one database (as two workers, or two instances behind a balancer):
    the address's burst of 2 is spent across both, and refills at 6 a minute for both."""
    limit = ChallengeLimit(per_minute=6, burst=2)
    one, two = (
        start_local_service(svc_db_url, svc_pki.ca.pem, clock=svc_clock, challenge_limit=limit)
        for _ in range(2)
    )
    clients = [ApiClient(one.url), ApiClient(two.url)]
    try:

        def ask(client: ApiClient) -> int:
            answer = client.http.post(client.url + wire.PATH_CHALLENGE, timeout=10)
            if answer.status_code == 429:
                assert answer.headers["Retry-After"] == "10"
            return answer.status_code

        assert [ask(clients[0]), ask(clients[1]), ask(clients[0]), ask(clients[1])] == [
            200,
            200,
            429,
            429,
        ]
        svc_clock.advance(10.0)  # one token back, whichever process is asked
        assert [ask(clients[1]), ask(clients[0])] == [200, 429]
    finally:
        for client in clients:
            client.close()
        one.stop()
        two.stop()


def test_the_limit_keeps_a_bounded_number_of_addresses(svc: LocalService) -> None:
    db = svc.app.state.db
    limit = ChallengeLimit(per_minute=6, burst=2, max_clients=3)
    now = 1_000_000.0
    with db.write() as conn:
        waits = [ratelimit.take(conn, f"10.0.1.{i}", now, limit) for i in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == waits[4] == limit.refill_s  # until the oldest bucket has refilled
    assert count(svc, ChallengeBucket) == 3
    with db.write() as conn:
        assert ratelimit.take(conn, "10.0.1.0", now, limit) == 0.0  # known: its own bucket
        assert ratelimit.take(conn, "10.0.1.0", now, limit) == 10.0  # and it is empty
        ratelimit.purge(conn, now + limit.refill_s + 1, limit)
        assert ratelimit.take(conn, "10.0.1.4", now + limit.refill_s + 1, limit) == 0.0
    assert count(svc, ChallengeBucket) == 1


def test_expired_challenges_and_sessions_are_purged(
    api: ApiClient, svc_pki: SvcPki, svc: LocalService, svc_clock: FakeClock
) -> None:
    api.challenge()
    api.challenge()
    token = api.login(svc_pki.officer_a)
    assert count(svc, SessionChallenge) == 2 and count(svc, OfficerSession) == 1
    svc_clock.advance(wire.TOKEN_TTL_S + 2 * 3600)
    assert refusal(api.pull(token)) == (401, wire.E_TOKEN_EXPIRED)
    api.login(svc_pki.officer_a)  # a new challenge and a new session purge the old ones
    assert count(svc, SessionChallenge) == 0 and count(svc, OfficerSession) == 1
