"""What the service stores of an upload's CBEFF envelope, and ``bts-sync-server export``
writing the envelopes out as files a central matcher can ingest. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from sync_service_stack import ApiClient, SvcPki, draft_body

from bts_desk.biometrics import cbeff
from bts_desk.domain import FingerPosition
from bts_desk.service.cli import main
from bts_desk.service.local import LocalService
from bts_desk.service.models import ServerEnrollment, ServerFace, ServerFinger


def test_the_service_stores_what_the_envelope_says(
    api: ApiClient, svc_pki: SvcPki, svc: LocalService
) -> None:
    token = api.login(svc_pki.officer_a)
    uuid, body = draft_body(11, svc_pki.officer_a)
    assert api.put(token, uuid, body).status_code == 201
    with svc.app.state.db.read() as conn:
        enrollment = conn.execute(
            select(ServerEnrollment).where(ServerEnrollment.uuid == uuid)
        ).one()
        fingers = conn.execute(
            select(ServerFinger).where(ServerFinger.enrollment_uuid == uuid)
        ).all()
        face = conn.execute(select(ServerFace).where(ServerFace.enrollment_uuid == uuid)).one()
    assert enrollment.finger_positions == "2,7"
    assert (enrollment.has_finger, enrollment.has_face) == (True, True)
    by_position = {row.position: row for row in fingers}
    assert set(by_position) == {FingerPosition.RIGHT_INDEX, FingerPosition.LEFT_INDEX}
    right = by_position[FingerPosition.RIGHT_INDEX]
    assert (right.width, right.height, right.resolution_ppi) == (256, 288, 500)
    assert right.module_family == "R307" and right.quality is not None
    assert (face.width, face.height) == (360, 480)


def test_export_writes_the_stored_envelopes(
    api: ApiClient,
    svc_pki: SvcPki,
    svc: LocalService,
    svc_db_url: str,
    tmp_path: Path,
    *,
    svc_key_file: Path,
) -> None:
    token = api.login(svc_pki.officer_a)
    uploads = {}
    for record_id in (12, 13):
        uuid, body = draft_body(record_id, svc_pki.officer_a, with_face=record_id == 12)
        assert api.put(token, uuid, body).status_code == 201
        uploads[uuid] = body["biometrics"].encode()
    url = svc_db_url
    today = dt.datetime.now(dt.UTC).date()  # the service's clock is real time here
    out = tmp_path / "export"
    key = ["--key-file", str(svc_key_file)]  # the envelopes are sealed with the service key
    assert main(["export", "--since", today.isoformat(), str(out), "--db", url, *key]) == 0
    files = sorted(out.iterdir())
    assert [f.name for f in files] == sorted(f"{uuid}.xml" for uuid in uploads)
    for path in files:
        data = path.read_bytes()
        assert data == uploads[path.stem]
        parsed = cbeff.parse(data)
        assert parsed.envelope.index == path.stem and len(parsed.fingers) == 2
    later = tmp_path / "none"
    tomorrow = today + dt.timedelta(days=1)
    assert main(["export", "--since", tomorrow.isoformat(), str(later), "--db", url, *key]) == 0
    assert list(later.iterdir()) == []
    with pytest.raises(SystemExit):
        main(["export", "--since", "yesterday", str(later), "--db", url])
