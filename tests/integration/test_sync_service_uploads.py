"""Enrollment uploads and the incremental pull of the sync service, over real HTTP.

Runs on SQLite and PostgreSQL (``svc_db_url``); the ``svc`` fixture fails a test whose
requests reached the unexpected-error handler."""

from __future__ import annotations

import json
import threading
import uuid as uuidlib
from collections import Counter
from typing import Any

import pytest
import requests
from sqlalchemy import func, select, update
from sync_service_stack import (
    RECORD_BARE,
    RECORD_SUSPENDED,
    SVC_RECORDS,
    ApiClient,
    SvcPki,
    draft_body,
    refusal,
)

from bts_desk.service.borderers import update_record
from bts_desk.service.database import take_revisions
from bts_desk.service.local import LocalService
from bts_desk.service.models import ServerBorderer, ServerEnrollment, ServerFace, ServerFinger
from bts_desk.service.templates import forget_served
from bts_desk.sync import wire


def count(svc: LocalService, model: Any) -> int:
    with svc.app.state.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def pull_all(
    api: ApiClient, token: str, cursor: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    while True:
        response = api.pull(token, cursor, limit)
        assert response.status_code == 200, response.text
        page = wire.decode(wire.PullPage, response.content)
        assert len(page.items) <= limit
        items += page.items
        cursor = page.next_cursor
        if not page.has_more:
            return items, cursor


def test_pull_pages_through_every_record_once(api: ApiClient, svc_pki: SvcPki) -> None:
    token = api.login(svc_pki.officer_a)
    first = wire.decode(wire.PullPage, api.pull(token, 0, 12).content)
    assert len(first.items) == 12 and first.has_more
    items, cursor = pull_all(api, token, 0, 12)
    assert sorted(i["id"] for i in items) == list(range(1, SVC_RECORDS + 1))
    revisions = [i["revision"] for i in items]
    assert revisions == sorted(revisions) and len(set(revisions)) == len(revisions)
    assert cursor == revisions[-1]
    assert set(items[0]) == set(wire.BORDERER_FIELDS)
    assert items[0]["id_number"] == "53262519800101001X"  # the desk masks it, not the wire
    nothing = wire.decode(wire.PullPage, api.pull(token, cursor).content)
    assert (nothing.items, nothing.next_cursor, nothing.has_more) == ([], cursor, False)


def test_pull_parameters_are_checked(api: ApiClient, svc_pki: SvcPki) -> None:
    token = api.login(svc_pki.officer_a)
    assert api.pull(token, 0, wire.MAX_PULL_LIMIT).status_code == 200
    assert refusal(api.pull(token, 0, wire.MAX_PULL_LIMIT + 1)) == (422, wire.E_BAD_FIELD)
    assert refusal(api.pull(token, 0, 0)) == (422, wire.E_BAD_FIELD)
    assert refusal(api.pull(token, -1)) == (422, wire.E_BAD_FIELD)
    odd = api.http.get(
        api.url + wire.PATH_BORDERERS, params={"cursor": "abc"}, headers=api.auth(token), timeout=10
    )
    assert refusal(odd) == (422, wire.E_BAD_FIELD)


def test_changed_records_come_back_in_the_next_pull(
    api: ApiClient, svc_pki: SvcPki, svc: LocalService
) -> None:
    token = api.login(svc_pki.officer_a)
    _, cursor = pull_all(api, token, 0, 1000)
    assert update_record(svc.app.state.db, 7, enabled=False) > cursor
    items, cursor2 = pull_all(api, token, cursor, 1000)
    assert [(i["id"], i["enabled"]) for i in items] == [(7, False)]
    assert cursor2 > cursor
    # Pages are built from what this worker serialised before (per record revision): the
    # same bytes as when serialised afresh, record 7 with its new revision's content.
    served = api.pull(token, 0, 1000).content
    forget_served()
    assert api.pull(token, 0, 1000).content == served
    whole = wire.decode(wire.PullPage, served).items
    assert [i["enabled"] for i in whole if i["id"] == 7] == [False]


def test_upload_is_stored_once_and_flags_the_record(
    api: ApiClient, svc_pki: SvcPki, svc: LocalService
) -> None:
    token = api.login(svc_pki.officer_a)
    _, cursor = pull_all(api, token, 0, 1000)
    uuid, body = draft_body(RECORD_BARE, svc_pki.officer_a)
    first = api.put(token, uuid, body)
    assert first.status_code == 201 and first.json() == {"uuid": uuid, "status": "stored"}
    again = api.put(token, uuid, body)
    assert again.status_code == 200 and again.json()["status"] == wire.STATUS_ALREADY_STORED
    # the same content spelt differently (key order, spacing) is the same body
    respelt = json.dumps(dict(reversed(list(body.items()))), indent=2).encode()
    assert api.put(token, uuid, respelt).status_code == 200
    assert (count(svc, ServerEnrollment), count(svc, ServerFinger), count(svc, ServerFace)) == (
        1,
        2,
        1,
    )
    items, _ = pull_all(api, token, cursor, 1000)
    assert [i["id"] for i in items] == [RECORD_BARE]
    assert items[0]["has_face"] and items[0]["has_finger"]
    assert items[0]["last_op_date"] is not None


def test_flags_accumulate_over_partial_enrollments(api: ApiClient, svc_pki: SvcPki) -> None:
    token = api.login(svc_pki.officer_a)
    _, cursor = pull_all(api, token, 0, 1000)
    uuid, body = draft_body(RECORD_BARE, svc_pki.officer_a, with_face=False)
    assert api.put(token, uuid, body).status_code == 201
    items, cursor = pull_all(api, token, cursor, 1000)
    assert (items[0]["has_face"], items[0]["has_finger"]) == (False, True)
    uuid, body = draft_body(RECORD_BARE, svc_pki.officer_a, with_fingers=False)
    assert api.put(token, uuid, body).status_code == 201
    items, _ = pull_all(api, token, cursor, 1000)
    assert (items[0]["has_face"], items[0]["has_finger"]) == (True, True)


def test_a_different_body_under_a_known_uuid_is_a_conflict(
    api: ApiClient, svc_pki: SvcPki, svc: LocalService
) -> None:
    token = api.login(svc_pki.officer_a)
    uuid, body = draft_body(10, svc_pki.officer_a)
    assert api.put(token, uuid, body).status_code == 201
    changed = dict(body, desk_id="another-desk")
    assert refusal(api.put(token, uuid, changed)) == (409, wire.E_CONFLICT)
    _, other_record = draft_body(11, svc_pki.officer_a)
    assert refusal(api.put(token, uuid, other_record)) == (409, wire.E_CONFLICT)
    assert count(svc, ServerEnrollment) == 1


def test_a_retry_stays_already_stored_after_the_record_changes(
    api: ApiClient, svc_pki: SvcPki, svc: LocalService
) -> None:
    token = api.login(svc_pki.officer_a)
    uuid, body = draft_body(12, svc_pki.officer_a)
    assert api.put(token, uuid, body).status_code == 201
    update_record(svc.app.state.db, 12, state="suspended")
    assert api.put(token, uuid, body).status_code == 200


def test_concurrent_uploads_of_one_uuid_store_one_copy(
    api: ApiClient, svc_pki: SvcPki, svc: LocalService
) -> None:
    token = api.login(svc_pki.officer_a)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    trials = 6
    for trial in range(trials):
        uuid, body = draft_body(13 + trial, svc_pki.officer_a)
        barrier = threading.Barrier(3)

        def send(uuid: str = uuid, body: dict[str, Any] = body, barrier: Any = barrier) -> None:
            with requests.Session() as http:
                client = ApiClient(api.url)
                client.http = http
                barrier.wait()
                status = client.put(token, uuid, body).status_code
            with lock:
                statuses[status] += 1

        threads = [threading.Thread(target=send) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert statuses == {201: trials, 200: 2 * trials}
    assert count(svc, ServerEnrollment) == trials
    assert count(svc, ServerFinger) == 2 * trials


def test_concurrent_writers_keep_the_cursor_complete(api: ApiClient, svc_pki: SvcPki) -> None:
    """Uploads to many records from several threads: every change has its own revision and a
    puller walking the cursor meanwhile never skips one (revision order = commit order)."""
    token = api.login(svc_pki.officer_a)
    _, start = pull_all(api, token, 0, 1000)
    records = list(range(6, SVC_RECORDS + 1))
    seen: dict[int, dict[str, Any]] = {}

    def upload(ids: list[int]) -> None:
        client = ApiClient(api.url)
        for record_id in ids:
            uuid, body = draft_body(record_id, svc_pki.officer_a)
            assert client.put(token, uuid, body).status_code == 201
        client.close()

    workers = [threading.Thread(target=upload, args=(records[i::3],)) for i in range(3)]
    for worker in workers:
        worker.start()
    cursor = start
    puller = ApiClient(api.url)
    finished = False
    while not finished:  # one last pull after the writers are done
        finished = not any(w.is_alive() for w in workers)
        items, cursor = pull_all(puller, token, cursor, 7)
        seen.update({i["id"]: i for i in items})
    puller.close()
    assert sorted(seen) == records
    assert all(i["has_finger"] and i["has_face"] for i in seen.values())


def test_a_change_committing_late_is_never_skipped_by_a_cursor(
    api: ApiClient, svc_pki: SvcPki, svc: LocalService
) -> None:
    """PostgreSQL writers do not queue on one another for revisions, so a change can take
    its revision before another that commits first: a pull meanwhile must not move the
    cursor past the late one (it stops at the revision horizon), and brings both after."""
    db = svc.app.state.db
    if db.is_sqlite:
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): no change commits late")
    token = api.login(svc_pki.officer_a)
    _, start = pull_all(api, token, 0, 1000)
    with db.write() as late:  # as update_record does, held open across the requests below
        late.execute(select(ServerBorderer.id).where(ServerBorderer.id == 6).with_for_update())
        late_revision = take_revisions(late)
        late.execute(
            update(ServerBorderer)
            .where(ServerBorderer.id == 6)
            .values(enabled=False, revision=late_revision)
        )
        uuid, body = draft_body(7, svc_pki.officer_a)
        assert api.put(token, uuid, body).status_code == 201  # committed, revision above
        items, cursor = pull_all(api, token, start, 1000)
        assert items == [] and cursor == start
    items, cursor = pull_all(api, token, start, 1000)
    assert [(i["id"], i["enabled"], i["has_finger"]) for i in items] == [
        (6, False, False),
        (7, True, True),
    ]
    assert items[0]["revision"] == late_revision < items[1]["revision"] == cursor


def test_batch_judges_each_item_like_its_put(
    api: ApiClient, svc_pki: SvcPki, svc: LocalService
) -> None:
    token = api.login(svc_pki.officer_a)
    stored_uuid, stored_body = draft_body(20, svc_pki.officer_a)
    assert api.put(token, stored_uuid, stored_body).status_code == 201
    fresh = [draft_body(r, svc_pki.officer_a) for r in (21, 22, 22)]
    items: list[tuple[str, Any]] = [
        fresh[0],
        (stored_uuid, stored_body),  # a retry
        (stored_uuid, dict(stored_body, desk_id="x")),  # a conflict
        draft_body(RECORD_SUSPENDED, svc_pki.officer_a),  # not 正常
        fresh[1],
        fresh[1],  # the same item twice in one batch
        fresh[2],  # a second enrollment of the same record
        draft_body(21, svc_pki.officer_b),  # someone else's
    ]
    response = api.batch(token, items)
    assert response.status_code == 200, response.text
    results = wire.decode(wire.BatchAnswer, response.content).results
    got = [(r.uuid, r.http_status, r.status, r.code) for r in results]
    assert got == [
        (items[0][0], 201, wire.STATUS_STORED, ""),
        (stored_uuid, 200, wire.STATUS_ALREADY_STORED, ""),
        (stored_uuid, 409, wire.STATUS_REFUSED, wire.E_CONFLICT),
        (items[3][0], 422, wire.STATUS_REFUSED, wire.E_RECORD_NOT_NORMAL),
        (items[4][0], 201, wire.STATUS_STORED, ""),
        (items[4][0], 200, wire.STATUS_ALREADY_STORED, ""),
        (items[6][0], 201, wire.STATUS_STORED, ""),
        (items[7][0], 403, wire.STATUS_REFUSED, wire.E_OFFICER_MISMATCH),
    ]
    assert all(r.message for r in results if r.status == wire.STATUS_REFUSED)
    assert count(svc, ServerEnrollment) == 4
    assert api.batch(token, items[:2]).json()["results"][0]["status"] == "already_stored"


def test_a_batch_with_a_body_that_does_not_fit_the_models_is_refused_whole(
    api: ApiClient, svc_pki: SvcPki, svc: LocalService
) -> None:
    token = api.login(svc_pki.officer_a)
    good = draft_body(21, svc_pki.officer_a)
    malformed = (str(uuidlib.uuid4()), {"borderer_id": 21})
    assert refusal(api.batch(token, [good, malformed])) == (422, wire.E_BAD_FIELD)
    assert refusal(api.batch(token, [good, ("not-a-uuid", good[1])])) == (400, wire.E_BAD_UUID)
    assert count(svc, ServerEnrollment) == 0


@pytest.mark.parametrize("size", [0, wire.MAX_BATCH_ITEMS + 1])
def test_batch_shape_is_checked(api: ApiClient, svc_pki: SvcPki, size: int) -> None:
    token = api.login(svc_pki.officer_a)
    one = draft_body(21, svc_pki.officer_a)
    response = api.batch(token, [one] * size)
    if size == 0:
        assert response.json() == {"results": []}
    else:
        assert refusal(response) == (422, wire.E_BAD_FIELD)
    not_a_list = api.http.post(
        api.url + wire.PATH_ENROLLMENT_BATCH, json={"items": 3}, headers=api.auth(token), timeout=10
    )
    assert refusal(not_a_list) == (422, wire.E_BAD_FIELD)


def test_parallel_batches_over_the_same_records_never_deadlock(
    api: ApiClient, svc_pki: SvcPki, svc: LocalService
) -> None:
    """Batches touching the same records in opposite orders, two at a time (as the desk's
    parallel uploads do): records are locked in id order and the counter last, so every item
    is stored (a PostgreSQL deadlock would surface as a 503 here)."""
    token = api.login(svc_pki.officer_a)
    records = list(range(6, SVC_RECORDS + 1))
    statuses: Counter[int] = Counter()
    lock = threading.Lock()

    def send(order: list[int]) -> None:
        client = ApiClient(api.url)
        for _ in range(3):
            response = client.batch(token, [draft_body(r, svc_pki.officer_a) for r in order])
            with lock:
                if response.status_code != 200:
                    statuses[response.status_code] += 1
                    continue
                for result in response.json()["results"]:
                    statuses[result["http_status"]] += 1
        client.close()

    threads = [
        threading.Thread(target=send, args=(records,)),
        threading.Thread(target=send, args=(records[::-1],)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert statuses == {201: 2 * 3 * len(records)}
    assert count(svc, ServerEnrollment) == 2 * 3 * len(records)
