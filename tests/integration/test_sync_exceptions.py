"""Biometric exceptions (补录 无法采集 / 无法拍照) from the desk's store to the sync service on
127.0.0.1 over real HTTP: stored, returned, and refused when forged or not authorised.

The service runs on SQLite and PostgreSQL (``svc_db_url``) in the API tests; the ``svc``
fixture fails a test whose requests reached the unexpected-error handler."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sync_service_stack import RECORD_BARE, ApiClient, SvcPki, encode_enrollment, officer_of
from sync_service_stack import refusal as refused
from sync_support import (
    OFFICER_A,
    Desk,
    Pki,
    make_desk,
    service_record,
)

from bts_desk.domain import (
    BioException,
    BioFlag,
    EnrollmentDraft,
    ExceptionReason,
    FingerPosition,
    Officer,
)
from bts_desk.service.borderers import load_records
from bts_desk.service.local import LocalService
from bts_desk.service.models import ServerBorderer, ServerEnrollment, ServerException
from bts_desk.store import borderers
from bts_desk.store.enrollments import exceptions_of, list_outbox, save_enrollment
from bts_desk.store.models import EnrollmentRow, PulledExceptionRow
from bts_desk.sync import wire
from bts_desk.sync.samples import sample_draft

R = ExceptionReason
P = FingerPosition
BURNT = BioException(P.LEFT_INDEX, R.OTHER, "左手食指烫伤结痂")
NONE_POSSIBLE = (
    BioException(P.RIGHT_INDEX, R.MISSING),
    BioException(P.LEFT_INDEX, R.BANDAGED),
    BioException(None, R.CANNOT_POSE),
)


def one_finger_and_an_exception(record_id: int, officer: Officer) -> EnrollmentDraft:
    draft = sample_draft(record_id, officer, with_face=False)
    return dataclasses.replace(draft, fingers=draft.fingers[:1], exceptions=(BURNT,))


def only_exceptions(record_id: int, officer: Officer) -> EnrollmentDraft:
    draft = sample_draft(record_id, officer, with_face=False, with_fingers=False)
    return dataclasses.replace(draft, exceptions=NONE_POSSIBLE)


# --- desk → service ---------------------------------------------------------------------------


def test_exception_enrollments_go_from_the_desk_to_the_service(
    desk: Desk, service: LocalService
) -> None:
    assert desk.worker.run_once().ok  # the records arrive
    partial = one_finger_and_an_exception(1, OFFICER_A)
    nothing = only_exceptions(2, OFFICER_A)
    for draft in (partial, nothing):
        save_enrollment(desk.db, draft, desk.key)
    result = desk.worker.run_once()
    assert (result.uploaded, result.refused) == (2, 0)
    assert not list_outbox(desk.db)  # both acknowledged

    with service.app.state.db.read() as conn:
        stored = {
            (row.enrollment_uuid, row.position, row.reason, row.note)
            for row in conn.execute(select(ServerException))
        }
        flags = {
            row.id: (row.has_face, row.has_finger)
            for row in conn.execute(select(ServerBorderer).where(ServerBorderer.id.in_([1, 2])))
        }
    assert stored == {
        (partial.uuid, 7, "other", "左手食指烫伤结痂"),
        (nothing.uuid, 2, "missing", ""),
        (nothing.uuid, 7, "bandaged", ""),
        (nothing.uuid, 0, "cannot_pose", ""),
    }
    assert flags == {1: (False, True), 2: (False, False)}  # 没有人脸有指纹 / 都没有

    # the service returns them to the desk's own client, as stored
    auth = desk.tokens.auth_for(OFFICER_A.officer_id)
    assert auth is not None
    answer = desk.client.get_enrollment(auth.token(), nothing.uuid)
    assert [e.to_domain() for e in answer.exceptions] == list(NONE_POSSIBLE)
    assert (answer.has_face, answer.has_finger, answer.finger_positions) == (False, False, [])
    answer = desk.client.get_enrollment(auth.token(), partial.uuid)
    assert answer.finger_positions == [2] and [e.to_domain() for e in answer.exceptions] == [BURNT]

    # the next pull brings the 生物标识 back; 详情's entries outlive the deleted biometrics
    assert desk.worker.run_once().ok
    bare = borderers.get(desk.db, 2)
    assert bare is not None and bare.bio_flag is BioFlag.NONE
    one = borderers.get(desk.db, 1)
    assert one is not None and one.bio_flag is BioFlag.FINGER_ONLY
    with desk.db.session() as s:
        row = s.get(EnrollmentRow, nothing.uuid)
        assert row is not None and row.payload is None
    assert exceptions_of(desk.db, 2) == NONE_POSSIBLE
    assert exceptions_of(desk.db, 1) == (BURNT,)

    # a retried upload (the acknowledgement lost) is answered "already stored", nothing doubles
    assert desk.client.put_enrollment(auth.token(), nothing) == wire.STATUS_ALREADY_STORED
    with service.app.state.db.read() as conn:
        assert len(conn.execute(select(ServerEnrollment)).all()) == 2
        assert len(conn.execute(select(ServerException)).all()) == 4


def test_other_desks_pull_the_exceptions_for_their_details(
    tmp_path: Path, desk: Desk, service: LocalService, pki: Pki
) -> None:
    """详情 at another desk of the district: the pull brings the exception entries of each
    record's latest enrollment; a later enrollment without exceptions clears them there."""
    assert desk.worker.run_once().ok
    partial = one_finger_and_an_exception(1, OFFICER_A)
    nothing = only_exceptions(2, OFFICER_A)
    for draft in (partial, nothing):
        save_enrollment(desk.db, draft, desk.key)
    assert desk.worker.run_once().uploaded == 2

    there = make_desk(tmp_path / "there", service.url)
    try:
        there.tokens.set_signer(pki.signer(OFFICER_A))
        assert there.worker.run_once().ok  # the pull, over HTTP from 127.0.0.1
        assert exceptions_of(there.db, 2) == NONE_POSSIBLE  # fingers first, then the face
        assert exceptions_of(there.db, 1) == (BURNT,)
        assert exceptions_of(there.db, 3) == ()
        with there.db.session() as s:
            rows = s.scalars(select(PulledExceptionRow)).all()
        assert {(r.borderer_id, r.enrollment_uuid) for r in rows} == {
            (1, partial.uuid),
            (2, nothing.uuid),
        }

        redone = sample_draft(1, OFFICER_A, with_face=False)  # the burn has healed
        save_enrollment(desk.db, redone, desk.key)
        assert desk.worker.run_once().uploaded == 1
        assert exceptions_of(desk.db, 1) == ()
        assert there.worker.run_once().ok
        assert exceptions_of(there.db, 1) == ()
        assert exceptions_of(there.db, 2) == NONE_POSSIBLE
    finally:
        there.close()


# --- the API, as an attacker would try it -------------------------------------------------------


def body_of(draft: EnrollmentDraft) -> dict[str, Any]:
    return encode_enrollment(draft)


def test_exceptions_only_needs_a_granted_authenticated_upload(
    api: ApiClient, svc_pki: SvcPki, svc: LocalService
) -> None:
    officer_a = officer_of(svc_pki.officer_a)
    draft = only_exceptions(RECORD_BARE, officer_a)
    body = body_of(draft)
    assert refused(api.put(None, draft.uuid, body)) == (401, wire.E_NO_TOKEN)
    assert refused(api.put("forged-token", draft.uuid, body))[0] == 401
    token_b = api.login(svc_pki.officer_b)  # B's token, A's name in the body
    assert refused(api.put(token_b, draft.uuid, body)) == (403, wire.E_OFFICER_MISMATCH)
    load_records(svc.app.state.db, [service_record(99, customs_code="7218")])  # not A's
    elsewhere = only_exceptions(99, officer_a)
    token = api.login(svc_pki.officer_a)
    assert refused(api.put(token, elsewhere.uuid, body_of(elsewhere))) == (
        403,
        wire.E_DISTRICT_FORBIDDEN,
    )
    assert api.put(token, draft.uuid, body).status_code == 201
    assert api.put(token, draft.uuid, body).status_code == 200  # a retry: already stored
    other = dataclasses.replace(
        draft, exceptions=(*NONE_POSSIBLE[:2], BioException(None, R.OTHER, "x"))
    )
    assert refused(api.put(token, draft.uuid, body_of(other))) == (409, wire.E_CONFLICT)

    answer = api.enrollment(token, draft.uuid)
    assert answer.status_code == 200, answer.text
    decoded = wire.decode(wire.EnrollmentAnswer, answer.content)
    assert [e.to_domain() for e in decoded.exceptions] == list(NONE_POSSIBLE)
    assert decoded.desk_id == "desk-7"  # the session's desk, not the body's
    assert refused(api.enrollment(None, draft.uuid)) == (401, wire.E_NO_TOKEN)
    unknown = "00000000-0000-4000-8000-000000000000"
    assert refused(api.enrollment(token, unknown)) == (404, wire.E_ENROLLMENT_MISSING)


def _forged(body: dict[str, Any], old: bytes, new: bytes) -> dict[str, Any]:
    envelope = body["biometrics"]
    old64, new64 = base64.b64encode(old).decode(), base64.b64encode(new).decode()
    assert old64 in envelope
    return dict(body, biometrics=envelope.replace(old64, new64))


@pytest.mark.parametrize(
    "content",
    [
        b'{"note":"","reason":"amputated"}',
        b'{"note":"","reason":"cannot_pose"}',
        b'{"note":"' + "长".encode() * 61 + b'","reason":"other"}',
        b'{"note":"","reason":"missing","officer":"GY0002"}',
    ],
)
def test_forged_exception_entries_are_refused(
    api: ApiClient, svc_pki: SvcPki, content: bytes
) -> None:
    token = api.login(svc_pki.officer_a)
    draft = one_finger_and_an_exception(RECORD_BARE, officer_of(svc_pki.officer_a))
    body = _forged(body_of(draft), '{"note":"左手食指烫伤结痂","reason":"other"}'.encode(), content)
    assert refused(api.put(token, draft.uuid, body)) == (422, "cbeff.exception_invalid")


def test_an_envelope_with_nothing_captured_and_nothing_explained_is_refused(
    api: ApiClient, svc_pki: SvcPki
) -> None:
    token = api.login(svc_pki.officer_a)
    draft = only_exceptions(RECORD_BARE, officer_of(svc_pki.officer_a))
    body = _forged(
        body_of(draft), b'{"note":"","reason":"cannot_pose"}', b'{"note":"","reason":"missing"}'
    )
    status, code = refused(api.put(token, draft.uuid, body))
    assert status == 422 and code.startswith("cbeff.")
