"""Desk ↔ sync service over real HTTP on 127.0.0.1: uploads, pull, refusals, faults, tokens."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from sync_support import (
    OFFICER_A,
    OFFICER_B,
    Desk,
    Pki,
    count_stored,
    faulty_proxy,
    make_desk,
    service_record,
    start_service,
    stored_enrollments,
)

from bts_desk.domain import OutboxState, RecordState
from bts_desk.errors import SyncError
from bts_desk.service.borderers import load_records, update_record
from bts_desk.service.local import LocalService, start_local_service
from bts_desk.service.sessions import utc_now
from bts_desk.store.enrollments import list_outbox, outbox_counts, retry_refused, save_enrollment
from bts_desk.store.models import BordererRow, EnrollmentRow
from bts_desk.sync import wire
from bts_desk.sync.client import SyncAuthError
from bts_desk.sync.outbox import SyncStatus
from bts_desk.sync.samples import sample_draft


def flags(desk: Desk, record_id: int) -> tuple[bool, bool]:
    with desk.db.session() as s:
        row = s.get(BordererRow, record_id)
        assert row is not None
        return row.has_face, row.has_finger


def test_round_trip_desk_service_pull(desk: Desk, service: LocalService, pki: Pki) -> None:
    statuses: list[SyncStatus] = []
    desk.worker.add_listener(statuses.append)
    first = desk.worker.run_once()
    assert first.ok and first.pulled == 20  # the records arrive on an empty desk
    mine = [sample_draft(n, OFFICER_A) for n in (1, 2)]
    theirs = sample_draft(3, OFFICER_B, with_face=False)
    for draft in [*mine, theirs]:
        save_enrollment(desk.db, draft, desk.key)
    assert flags(desk, 1) == (True, True)

    result = desk.worker.run_once()
    assert result.uploaded == 2 and result.refused == 0
    assert sorted(stored_enrollments(service)) == sorted(d.uuid for d in mine)
    # B is not logged in: B's enrollment waits, with the reason on screen.
    waiting = list_outbox(desk.db)
    assert [(e.uuid, e.state) for e in waiting] == [(theirs.uuid, OutboxState.PENDING)]
    assert waiting[0].last_error == "等待关员 王芳（GZ2002）登录后上传"
    with desk.db.session() as s:
        assert all(s.get(EnrollmentRow, d.uuid).payload is None for d in mine)  # type: ignore[union-attr]
        assert s.get(EnrollmentRow, theirs.uuid).payload is not None  # type: ignore[union-attr]
    assert result.pulled == 2  # the service bumped the two records: they come back
    assert flags(desk, 1) == (True, True)
    # A pull before B's upload keeps the local flag of the unsent enrollment.
    assert flags(desk, 3) == (False, True)

    desk.tokens.set_signer(pki.signer(OFFICER_B))
    statuses.clear()
    result = desk.worker.run_once()
    assert result.uploaded == 1 and result.pulled == 1
    # 待上传 drops as soon as the upload is acknowledged, not after the pull that follows
    pulling = [s for s in statuses if s.busy and s.phase == "pull"]
    assert pulling and all(s.pending == 0 for s in pulling)
    assert count_stored(service) == 3
    assert outbox_counts(desk.db).pending == 0
    assert flags(desk, 3) == (False, True)
    last = statuses[-1]
    assert last.online is True and last.pending == 0 and last.last_sync is not None
    assert not last.busy


def test_final_refusal_is_kept_with_its_reason_and_the_worker_goes_on(
    desk: Desk, service: LocalService
) -> None:
    desk.worker.run_once()
    update_record(service.app.state.db, 5, state=str(RecordState.SUSPENDED))  # not 正常 any more
    drafts = [sample_draft(n, OFFICER_A, with_face=False) for n in (4, 5, 6)]
    for draft in drafts:
        save_enrollment(desk.db, draft, desk.key)
    for use_batch in (True, False):
        desk.worker.use_batch = use_batch
        result = desk.worker.run_once()
        assert result.ok
        assert sorted(stored_enrollments(service)) == sorted([drafts[0].uuid, drafts[2].uuid])
        refused = list_outbox(desk.db)
        assert [(e.uuid, e.state) for e in refused] == [(drafts[1].uuid, OutboxState.REFUSED)]
        assert refused[0].last_error  # the service's Chinese reason, as it said it
        assert all(ord(c) < 128 for c in refused[0].last_error) is False
        if use_batch:  # again one by one: same outcome
            retry_refused(desk.db, drafts[1].uuid, OFFICER_A, "desk-test")
    assert outbox_counts(desk.db).refused == 1


def test_service_down_for_a_while_then_back(tmp_path: Path, pki: Pki) -> None:
    service = start_service(tmp_path, pki)
    port = service.port
    desk = make_desk(tmp_path / "desk", service.url, retries=1)
    desk.tokens.set_signer(pki.signer(OFFICER_A))
    try:
        desk.worker.run_once()
        service.stop()
        drafts = [sample_draft(n, OFFICER_A) for n in range(1, 8)]
        for draft in drafts:
            save_enrollment(desk.db, draft, desk.key)
        result = desk.worker.run_once()
        assert not result.ok and result.uploaded == 0
        assert desk.worker.status.online is False
        assert desk.worker.status.message == "无法连接同步服务器"
        assert outbox_counts(desk.db).pending == 7

        service = start_service(tmp_path, pki, records=0, port=port)  # same data, same port
        desk.worker.start()  # the background thread: retries while offline, then drains
        desk.worker.sync_now()
        for _ in range(200):
            if outbox_counts(desk.db).pending == 0 and desk.worker.status.online:
                break
            time.sleep(0.05)
        assert outbox_counts(desk.db).pending == 0
        assert sorted(stored_enrollments(service)) == sorted(d.uuid for d in drafts)
    finally:
        desk.close()
        service.stop()


@pytest.mark.parametrize("fault", ["500", "429", "timeout", "drop", "malformed"])
def test_misbehaving_service_leaves_the_queue_pending(
    fault: str, tmp_path: Path, service: LocalService, pki: Pki
) -> None:
    with faulty_proxy(service.url, silence_s=1.5) as proxy:
        desk = make_desk(tmp_path / "desk", proxy.url, timeout_s=0.5, retries=1)
        desk.tokens.set_signer(pki.signer(OFFICER_A))
        try:
            desk.worker.run_once()
            drafts = [sample_draft(n, OFFICER_A) for n in (1, 2)]
            for draft in drafts:
                save_enrollment(desk.db, draft, desk.key)
            proxy.inject(fault, "enrollments", times=10)  # more than the client's retries
            result = desk.worker.run_once()
            assert not result.ok and result.uploaded == 0 and result.refused == 0
            entries = list_outbox(desk.db)
            assert [e.state for e in entries] == [OutboxState.PENDING] * 2
            assert all(e.next_attempt_at is not None and e.last_error for e in entries)
            assert all(e.attempts == 1 for e in entries)
            hits = [s for s in proxy.seen if s[2] == fault]
            if fault in ("429", "drop", "timeout"):
                assert len(hits) >= 2  # urllib3 retried within the call
            proxy.clear()
            result = desk.worker.run_once(force=True)  # 立即同步 does not wait for backoff
            assert result.uploaded == 2
            assert sorted(stored_enrollments(service)) == sorted(d.uuid for d in drafts)
        finally:
            desk.close()


@pytest.mark.parametrize("use_batch", [True, False])
def test_lost_response_is_retried_idempotently(
    use_batch: bool, tmp_path: Path, service: LocalService, pki: Pki
) -> None:
    with faulty_proxy(service.url) as proxy:
        desk = make_desk(tmp_path / "desk", proxy.url, use_batch=use_batch)
        desk.tokens.set_signer(pki.signer(OFFICER_A))
        try:
            desk.worker.run_once()
            drafts = [sample_draft(n, OFFICER_A) for n in (1, 2, 3)]
            for draft in drafts:
                save_enrollment(desk.db, draft, desk.key)
            proxy.inject("drop_after", "enrollments", times=1)  # stored, answer lost
            result = desk.worker.run_once()
            assert result.uploaded == 3 and result.ok
            uploads = [s for s in proxy.seen if "enrollments" in s[1]]
            assert uploads[0][2] == "drop_after"
            assert len(uploads) == (2 if use_batch else 4)  # the lost one went again
            assert sorted(stored_enrollments(service)) == sorted(d.uuid for d in drafts)
            assert outbox_counts(desk.db).acknowledged == 3
        finally:
            desk.close()


def test_batches_in_flight_send_each_enrollment_once(
    tmp_path: Path, service: LocalService, pki: Pki
) -> None:
    """Two batches in flight at a time (``parallel`` 2): the next one leaves as soon as one
    answer is in, none of the entries in flight is picked twice, and a retryable failure of
    one batch stops new sends while the other finishes; the next pass sends the rest. How
    many batches got through before the failure's answer came depends on timing (the other
    batch's answer may come first and let one more leave): only what holds either way is
    checked."""
    with faulty_proxy(service.url) as proxy:
        desk = make_desk(tmp_path / "desk", proxy.url, batch_size=3, retries=0)
        desk.tokens.set_signer(pki.signer(OFFICER_A))
        try:
            desk.worker.run_once()
            drafts = [sample_draft(n, OFFICER_A) for n in range(1, 13)]
            for draft in drafts:
                save_enrollment(desk.db, draft, desk.key)
            proxy.inject("500", "enrollments", times=1)  # the first batch to arrive
            failed = desk.worker.run_once()
            assert not failed.ok and failed.postponed == 3
            assert failed.uploaded in (3, 6, 9)  # whole batches, never all of them
            assert count_stored(service) == failed.uploaded
            done = desk.worker.run_once(force=True)
            assert done.ok and failed.uploaded + done.uploaded == 12
            batches = [s for s in proxy.seen if "enrollments" in s[1]]
            assert len(batches) == 1 + 4  # the refused one, then four of three each
            assert sorted(stored_enrollments(service)) == sorted(d.uuid for d in drafts)
            assert outbox_counts(desk.db).acknowledged == 12
        finally:
            desk.close()


def test_token_of_one_officer_cannot_upload_anothers(desk: Desk, service: LocalService) -> None:
    """The desk never tries; if it did, the service refuses (403) and nothing is stored."""
    desk.worker.run_once()
    theirs = sample_draft(2, OFFICER_B)
    token = desk.tokens.any_auth().token()  # type: ignore[union-attr]  # A's token
    with pytest.raises(SyncError) as info:
        desk.client.put_enrollment(token, theirs)
    assert not info.value.retryable and info.value.user_message
    assert count_stored(service) == 0


def test_expired_token_is_renewed_with_the_card(tmp_path: Path, pki: Pki) -> None:
    """The service's clock jumps past the token's 15 minutes: the upload gets a 401, the desk
    signs a new challenge and sends again, and nothing is refused or lost."""
    offset = [dt.timedelta()]
    url = f"sqlite:///{tmp_path / 'service.db'}"
    with start_local_service(url, pki.ca.pem, clock=lambda: utc_now() + offset[0]) as running:
        load_records(running.app.state.db, [service_record(i) for i in (1, 2)])
        desk = make_desk(tmp_path / "desk", running.url)
        desk.tokens.set_signer(pki.signer(OFFICER_A))
        try:
            desk.worker.run_once()
            first = desk.tokens.any_auth().token()  # type: ignore[union-attr]
            save_enrollment(desk.db, sample_draft(1, OFFICER_A), desk.key)
            offset[0] = dt.timedelta(seconds=wire.TOKEN_TTL_S + 60)
            result = desk.worker.run_once()
            assert result.uploaded == 1 and result.refused == 0 and result.ok
            assert desk.tokens.any_auth().token() != first  # type: ignore[union-attr]
        finally:
            desk.close()


def test_logout_or_a_pulled_card_ends_the_session_on_the_service(desk: Desk, pki: Pki) -> None:
    """``set_signer(None)`` (logout, card pulled: ``DeskSync.follow_card_session``) ends the
    officer's session on the service; the old token is refused from then on."""
    desk.tokens.set_signer(pki.signer(OFFICER_A))
    auth = desk.tokens.auth_for(OFFICER_A.officer_id)
    assert auth is not None
    token = auth.token()
    assert auth.districts == ("5301",)
    desk.client.pull_page(token, 0, 1)
    desk.tokens.set_signer(None)
    deadline = time.monotonic() + 10
    while True:
        try:
            desk.client.pull_page(token, 0, 1)
        except SyncAuthError as exc:
            assert exc.code == wire.E_BAD_TOKEN
            break
        assert time.monotonic() < deadline, "the session was not ended"
        time.sleep(0.05)


def test_the_sync_worker_hands_the_services_crl_to_the_card(tmp_path: Path, pki: Pki) -> None:
    """With a CRL published, a sync pass gives it to the revocation store (``crl_sink``)."""
    from bts_desk.drivers.piv_card.pki import make_crl

    crl = make_crl(pki.ca, [12345])
    (tmp_path / "svc").mkdir()
    crl_file = tmp_path / "svc" / "officer-ca.crl"
    crl_file.write_bytes(crl)
    url = f"sqlite:///{tmp_path / 'svc' / 'service.db'}"
    with start_local_service(url, pki.ca.pem, crl_file=crl_file) as service:
        made = make_desk(tmp_path / "desk", service.url)
        received: list[bytes] = []
        made.worker.crl_sink = received.append
        try:
            made.tokens.set_signer(pki.signer(OFFICER_A))
            made.worker.run_once()
            made.worker.run_once()  # fetched once an hour, not every pass
        finally:
            made.close()
    assert received == [crl]
