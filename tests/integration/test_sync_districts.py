"""The desk's records follow the session's grant, over real HTTP on 127.0.0.1: a district
granted later is pulled whole (its records' revisions are older than the desk's cursor), a
district revoked leaves the store (but a record whose enrollment the service has not settled
stays until it is), and each change is an audit row."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sync_support import OFFICER_A, Desk, Pki, service_record, start_service

from bts_desk.domain import (
    BioException,
    EnrollmentDraft,
    ExceptionReason,
    FingerPosition,
    OutboxState,
)
from bts_desk.service.borderers import load_records
from bts_desk.service.grants import grant, revoke
from bts_desk.service.local import LocalService
from bts_desk.store import sync_state
from bts_desk.store.audit import AuditAction
from bts_desk.store.enrollments import mark_acknowledged, save_enrollment
from bts_desk.store.models import (
    AuditRow,
    BordererRow,
    FingerTemplateRow,
    OutboxRow,
    PulledExceptionRow,
)
from bts_desk.sync.samples import sample_draft

OWN, OTHER = OFFICER_A.customs_code, "7218"
OWN_RECORDS, OTHER_RECORDS = range(1, 31), range(31, 36)


@pytest.fixture
def service(tmp_path: Path, pki: Pki) -> Iterator[LocalService]:
    with start_service(tmp_path, pki, records=len(OWN_RECORDS)) as running:
        load_records(
            running.app.state.db, [service_record(i, customs_code=OTHER) for i in OTHER_RECORDS]
        )
        yield running


def held(desk: Desk, district: str) -> set[int]:
    with desk.db.session() as s:
        rows = s.execute(select(BordererRow.id).where(BordererRow.customs_code == district))
        return set(rows.scalars())


def audit_details(desk: Desk) -> list[str]:
    with desk.db.session() as s:
        rows = s.execute(select(AuditRow.detail).where(AuditRow.action == AuditAction.DISTRICTS))
        return list(rows.scalars())


def burnt_finger(record_id: int) -> EnrollmentDraft:
    draft = sample_draft(record_id, OFFICER_A, with_face=False)
    burnt = BioException(FingerPosition.LEFT_INDEX, ExceptionReason.DAMAGED)
    return dataclasses.replace(draft, fingers=draft.fingers[:1], exceptions=(burnt,))


def pulled_exceptions(desk: Desk) -> set[int]:
    with desk.db.session() as s:
        return set(s.execute(select(PulledExceptionRow.borderer_id)).scalars())


def new_session(desk: Desk, pki: Pki) -> None:
    """The officer logs in again (a grant is bound to the session at login)."""
    desk.tokens.set_signer(pki.signer(OFFICER_A))


def change_grant(service: LocalService, action: str) -> None:
    now = dt.datetime.now(dt.UTC)
    change = grant if action == "grant" else revoke
    change(service.app.state.db, OFFICER_A.officer_id, OTHER, by="it-zhang", now=now)


def test_a_district_granted_later_is_pulled_whole_and_a_revoked_one_leaves(
    desk: Desk, service: LocalService, pki: Pki
) -> None:
    assert desk.worker.run_once().pulled == len(OWN_RECORDS)
    assert held(desk, OWN) == set(OWN_RECORDS) and not held(desk, OTHER)
    assert desk.worker.run_once().pulled == 0  # the cursor is past every record now

    change_grant(service, "grant")
    new_session(desk, pki)
    desk.worker.run_once()
    assert held(desk, OTHER) == set(OTHER_RECORDS)  # older than the cursor, pulled all the same
    # a record of the district enrolled with an exception (uploaded, and its entry pulled back)
    save_enrollment(desk.db, burnt_finger(OTHER_RECORDS[1]), desk.key)
    desk.worker.run_once()
    desk.worker.run_once()
    assert pulled_exceptions(desk) == {OTHER_RECORDS[1]}
    assert held(desk, OWN) == set(OWN_RECORDS)
    assert sync_state.get_value(desk.db, sync_state.PULLED_DISTRICTS) == f"{OWN},{OTHER}"
    assert audit_details(desk) == [f"新授权关区 {OTHER}：重新拉取全部记录"]

    # an enrollment of the other district saved while the grant is being revoked
    change_grant(service, "revoke")
    save_enrollment(desk.db, sample_draft(OTHER_RECORDS[0], OFFICER_A), desk.key)
    desk.worker.run_once()  # the session ended: a new login, the upload refused, then the pull
    with desk.db.session() as s:
        states = list(s.execute(select(OutboxRow.state)).scalars())
        templates = s.execute(
            select(func.count()).select_from(FingerTemplateRow)
            .where(FingerTemplateRow.borderer_id.in_(list(OTHER_RECORDS[1:])))
        ).scalar_one()  # fmt: skip
    assert states == [OutboxState.REFUSED.value]  # the acknowledged one left with its record
    assert held(desk, OTHER) == {OTHER_RECORDS[0]}  # kept for the officer to settle
    assert templates == 0  # the removed records' finger templates went with them
    assert not pulled_exceptions(desk)  # and their exception entries
    assert held(desk, OWN) == set(OWN_RECORDS)
    assert sync_state.get_value(desk.db, sync_state.PULLED_DISTRICTS) == OWN
    assert (
        audit_details(desk)[1] == f"关区 {OTHER} 不再授权：删除 4 条边民记录；1 条因补录未上传暂留"
    )
    assert desk.worker.run_once().pulled == 0
    assert held(desk, OTHER) == {OTHER_RECORDS[0]}

    with desk.db.session() as s:  # the enrollment settled (here: the service took it after all)
        settled = list(s.execute(select(OutboxRow.enrollment_uuid)).scalars())
    mark_acknowledged(desk.db, settled)
    desk.worker.run_once()
    assert not held(desk, OTHER)
    assert audit_details(desk)[2] == f"关区 {OTHER} 不再授权：删除 1 条边民记录"
    desk.worker.run_once()
    assert len(audit_details(desk)) == 3  # nothing more to do


def test_a_store_from_before_counts_the_districts_it_holds(
    desk: Desk, service: LocalService, pki: Pki
) -> None:
    change_grant(service, "grant")
    new_session(desk, pki)
    desk.worker.run_once()
    assert held(desk, OTHER) == set(OTHER_RECORDS)
    sync_state.set_value(desk.db, sync_state.PULLED_DISTRICTS, "")  # as a store of before
    change_grant(service, "revoke")
    desk.worker.run_once()
    assert not held(desk, OTHER)
    assert held(desk, OWN) == set(OWN_RECORDS)
