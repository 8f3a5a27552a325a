"""Biometrics at rest on the service: envelope-encrypted with the service key.

After real uploads over HTTP (SQLite and PostgreSQL), no column of the service database holds
bytes that decode as a PNG or JPEG, nor any piece of the CBEFF envelope sent (whose records
carry the images); the service opens it again with its key; a blob moved to another row does
not open; rotating the key rewraps every data key, and after the old key is retired
everything still opens. The vendor templates kept for pulls (``enrollment_templates``) are
sealed too, rotate with the envelopes, and a pull serves the same templates from them as from
the envelope (the path of enrollments stored before that table)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import delete, inspect, select, text, update
from sync_service_stack import ApiClient, SvcPki, draft_body

from bts_desk.service.database import ServiceDatabase
from bts_desk.service.grants_cli import main as admin_main
from bts_desk.service.local import LocalService
from bts_desk.service.models import ServerEnvelope, ServerTemplates
from bts_desk.service.payloads import read_envelope
from bts_desk.service.templates import FIELD, forget_served
from bts_desk.service.vault import Vault, VaultError, field_aad


def every_blob(db: ServiceDatabase) -> list[bytes]:
    """Every bytes value in every table of the service database."""
    blobs: list[bytes] = []
    with db.read() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                blobs += [bytes(v) for v in row if isinstance(v, bytes | memoryview)]
    return blobs


def decodes_as_image(blob: bytes) -> bool:
    for start in range(len(blob)):  # an image hidden at any offset
        if blob.startswith((b"\x89PNG", b"\xff\xd8\xff"), start):
            data = np.frombuffer(blob[start:], np.uint8)
            if cv2.imdecode(data, cv2.IMREAD_UNCHANGED) is not None:
                return True
    return False


def upload(api: ApiClient, svc_pki: SvcPki, record: int) -> tuple[str, bytes]:
    token = api.login(svc_pki.officer_a)
    uuid, body = draft_body(record, svc_pki.officer_a)
    assert api.put(token, uuid, body).status_code == 201
    return uuid, body["biometrics"].encode()


def test_the_database_holds_no_readable_biometrics(
    svc: LocalService, api: ApiClient, svc_pki: SvcPki, svc_key_file: Path
) -> None:
    sent = [upload(api, svc_pki, record) for record in (10, 11, 12)]
    db: ServiceDatabase = svc.app.state.db
    blobs = every_blob(db)
    assert len(blobs) >= 3
    assert not any(decodes_as_image(blob) for blob in blobs)
    for _uuid, envelope in sent:  # not even a 64-byte piece of what was sent
        pieces = [envelope[i : i + 64] for i in range(0, len(envelope) - 64, 997)]
        assert not any(p in blob for p in pieces for blob in blobs)

    vault = Vault.load(svc_key_file)
    for uuid, envelope in sent:
        assert read_envelope(db, vault, uuid) == envelope

    # A blob copied onto another enrollment's row does not open there.
    (first, _), (second, _) = sent[0], sent[1]
    with db.write() as conn:
        moved = conn.execute(
            select(ServerEnvelope.cbeff).where(ServerEnvelope.enrollment_uuid == first)
        ).scalar_one()
        conn.execute(
            update(ServerEnvelope)
            .where(ServerEnvelope.enrollment_uuid == second)
            .values(cbeff=moved)
        )
    with pytest.raises(VaultError):
        read_envelope(db, vault, second)


def test_key_rotation_rewraps_every_data_key(
    svc: LocalService, api: ApiClient, svc_pki: SvcPki, svc_key_file: Path, svc_db_url: str
) -> None:
    uuid, envelope = upload(api, svc_pki, 10)
    old = Vault.load(svc_key_file)
    rotate = ["rotate-key", "--db", svc_db_url, "--key-file", str(svc_key_file)]
    assert admin_main(rotate) == 0
    both = Vault.load(svc_key_file)
    assert both.current != old.current and set(both.keys) == {old.current, both.current}
    assert admin_main([*rotate, "--retire"]) == 0
    newest = Vault.load(svc_key_file)
    assert list(newest.keys) == [both.current]  # only the new key is left
    assert read_envelope(svc.app.state.db, newest, uuid) == envelope
    with pytest.raises(VaultError):
        read_envelope(svc.app.state.db, old, uuid)
    with svc.app.state.db.read() as conn:
        sealed = conn.execute(
            select(ServerTemplates.templates).where(ServerTemplates.enrollment_uuid == uuid)
        ).scalar_one()
    assert newest.open(sealed, field_aad(uuid, FIELD))  # rewrapped with the envelope
    with pytest.raises(VaultError):
        old.open(sealed, field_aad(uuid, FIELD))
    assert svc_key_file.stat().st_mode & 0o077 == 0


def test_pulls_serve_the_stored_templates_and_the_envelope_s_without_them(
    svc: LocalService, api: ApiClient, svc_pki: SvcPki
) -> None:
    sent = [upload(api, svc_pki, record)[0] for record in (10, 11)]
    token = api.login(svc_pki.officer_a)

    def templates() -> list[dict[str, object]]:
        page = api.pull(token, 0, 5000).json()
        return [t for t in page["templates"] if t["enrollment_uuid"] in sent]

    from_rows = templates()
    assert {t["enrollment_uuid"] for t in from_rows} == set(sent)
    assert all(t["template"] for t in from_rows)
    db: ServiceDatabase = svc.app.state.db
    with db.write() as conn:  # as stored before the table existed / a row that does not open
        conn.execute(delete(ServerTemplates).where(ServerTemplates.enrollment_uuid == sent[0]))
        conn.execute(
            update(ServerTemplates)
            .where(ServerTemplates.enrollment_uuid == sent[1])
            .values(templates=b"BV1 not a sealed blob")
        )
    assert templates() == from_rows  # this worker remembers what it served
    forget_served()
    assert templates() == from_rows  # read from the envelopes instead, identical
