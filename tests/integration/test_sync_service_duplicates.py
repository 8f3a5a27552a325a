"""A UUID that turns up inside the write transaction: a concurrent upload of it committed
while this one was being judged, or an earlier item of the same batch. Either way the
enrollment is answered from the stored body hash (200 same body, 409 another), nothing of it
is written twice and its record is not bumped again.

The service is driven directly (``EnrollmentService``) so that the race is made, not hoped
for: another transaction holds the UUID's row uncommitted, the upload's pre-check cannot see
it, and the upload's insert waits on it (seen in ``pg_stat_activity``) until it commits.
Runs on SQLite and PostgreSQL (``svc_db_url``; the race on PostgreSQL only: SQLite's
``BEGIN IMMEDIATE`` never lets two writers overlap)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text
from sync_support import service_record

from bts_desk.domain import Officer
from bts_desk.service import fleet_models  # noqa: F401  (its tables join the schema)
from bts_desk.service.borderers import load_records
from bts_desk.service.database import ServiceDatabase
from bts_desk.service.enrollments import EnrollmentService, Outcome
from bts_desk.service.errors import ApiError
from bts_desk.service.models import ServerBorderer, ServerEnrollment, ServerFinger
from bts_desk.service.tokens import TokenClaims, utc_now
from bts_desk.service.vault import Vault
from bts_desk.sync import wire
from bts_desk.sync.samples import sample_draft

OFFICER = Officer("GY0001", "李海关", "5301")
WHO = TokenClaims(OFFICER.officer_id, OFFICER.name, "5301", "desk-1", 4e9, frozenset({"5301"}))


@pytest.fixture
def db(svc_db_url: str) -> Iterator[ServiceDatabase]:
    made = ServiceDatabase(svc_db_url)
    made.create_schema()
    load_records(made, (service_record(i) for i in range(1, 6)))
    yield made
    made.dispose()


def body_of(record_id: int, **kw: Any) -> tuple[str, wire.EnrollmentBody]:
    draft = sample_draft(record_id, OFFICER, **kw)
    return draft.uuid, wire.EnrollmentBody.from_draft(draft)


def answer(outcome: Outcome) -> tuple[int, str]:
    if isinstance(outcome, ApiError):
        return outcome.status, outcome.code
    return outcome.http_status, outcome.status


def rows(db: ServiceDatabase, model: Any, **where: Any) -> int:
    with db.read() as conn:
        query = select(func.count()).select_from(model).filter_by(**where)
        return int(conn.execute(query).scalar_one())


def revision(db: ServiceDatabase, record_id: int) -> int:
    with db.read() as conn:
        query = select(ServerBorderer.revision).where(ServerBorderer.id == record_id)
        return int(conn.execute(query).scalar_one())


def test_a_uuid_twice_in_one_batch_is_stored_once(db: ServiceDatabase) -> None:
    service = EnrollmentService(db, utc_now, Vault.ephemeral())
    uuid, body = body_of(1)
    other_body = body.model_copy(update={"desk_id": "another-desk"})
    _, second_record = body_of(2)
    other_record = second_record.model_copy(update={"biometrics": body.biometrics})
    outcomes = service.put_many(
        [(uuid, body), (uuid, body), (uuid, other_body), (uuid, other_record)], WHO
    )
    assert [answer(o) for o in outcomes] == [
        (201, wire.STATUS_STORED),
        (200, wire.STATUS_ALREADY_STORED),
        (409, wire.E_CONFLICT),
        (409, wire.E_CONFLICT),
    ]
    assert rows(db, ServerEnrollment) == 1
    assert rows(db, ServerFinger, enrollment_uuid=uuid) == 2
    with db.read() as conn:
        flags = conn.execute(
            select(ServerBorderer.id, ServerBorderer.has_finger).where(ServerBorderer.id <= 2)
        ).all()
    assert sorted(flags) == [(1, True), (2, False)]  # the refused duplicate flags nothing


@pytest.mark.parametrize("same_body", [True, False], ids=["retry", "conflict"])
def test_an_upload_racing_a_commit_of_its_uuid_is_answered_from_the_stored_hash(
    db: ServiceDatabase, same_body: bool
) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): no insert waits on another")
    service = EnrollmentService(db, utc_now, Vault.ephemeral())
    uuid, body = body_of(3)
    before = revision(db, 3)
    outcomes: list[tuple[int, str]] = []
    failures: list[Exception] = []

    def upload() -> None:
        try:
            outcomes.append(answer(service.put_many([(uuid, body)], WHO)[0]))
        except Exception as exc:  # reported by the test below
            failures.append(exc)

    with db.write() as holder:  # the other upload, committing only once this one waits
        holder.execute(
            insert(ServerEnrollment).values(
                uuid=uuid,
                body_sha256=body.body_sha256() if same_body else "0" * 64,
                borderer_id=4,  # not record 3: the race is on the UUID, not on a record lock
                officer_id=OFFICER.officer_id,
                officer_name=OFFICER.name,
                desk_id="desk-0",
                captured_at=dt.datetime.now(dt.UTC),
                received_at=dt.datetime.now(dt.UTC),
                has_face=True,
                has_finger=True,
            )
        )
        racer = threading.Thread(target=upload)
        racer.start()
        while not waiting_on_a_lock(db) and racer.is_alive():
            time.sleep(0.01)
        assert racer.is_alive(), failures or outcomes  # it must wait for the holder
    racer.join()
    assert not failures
    assert outcomes == [(200, wire.STATUS_ALREADY_STORED) if same_body else (409, wire.E_CONFLICT)]
    assert rows(db, ServerEnrollment) == 1
    assert rows(db, ServerFinger) == 0  # the holder's row came without any
    assert revision(db, 3) == before


def waiting_on_a_lock(db: ServiceDatabase) -> bool:
    """Whether another backend of this database waits on a heavyweight lock (the insert
    waiting for the holder's transaction)."""
    with db.lookup() as conn:
        waiting = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    return bool(waiting)
