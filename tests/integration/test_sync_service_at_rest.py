"""Biometrics at rest on the service: envelope-encrypted with the service key.

After real uploads over HTTP (SQLite and PostgreSQL), no column of the service database holds
bytes that decode as a PNG or JPEG, or the template sent; the service reads them back with its
key; a blob moved to another row does not open; rotating the key rewraps every data key, and
after the old key is retired everything still opens."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from sqlalchemy import inspect, select, text, update
from sync_service_stack import ApiClient, SvcPki, draft_body, special_records

from bts_desk.service.borderers import load_records
from bts_desk.service.database import ServiceDatabase
from bts_desk.service.grants_cli import main as admin_main
from bts_desk.service.local import LocalService, start_local_service
from bts_desk.service.models import ServerFinger
from bts_desk.service.payloads import read_enrollment
from bts_desk.service.vault import Vault, VaultError


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "service.key"


@pytest.fixture
def keyed_svc(svc_db_url: str, svc_pki: SvcPki, key_file: Path) -> Any:
    service = start_local_service(
        svc_db_url, svc_pki.ca.pem, vault=Vault.load(key_file, create=True)
    )
    try:
        load_records(service.app.state.db, special_records())
        yield service
    finally:
        service.stop()
    assert service.internal_errors == 0


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


def upload(api: ApiClient, svc_pki: SvcPki, record: int) -> tuple[str, dict[str, Any]]:
    token = api.login(svc_pki.officer_a)
    uuid, body = draft_body(record, svc_pki.officer_a)
    assert api.put(token, uuid, body).status_code == 201
    return uuid, body


def test_the_database_holds_no_decodable_image(
    keyed_svc: LocalService, svc_pki: SvcPki, key_file: Path
) -> None:
    api = ApiClient(keyed_svc.url)
    sent = [upload(api, svc_pki, record) for record in (10, 11, 12)]
    api.close()
    db: ServiceDatabase = keyed_svc.app.state.db
    blobs = every_blob(db)
    assert len(blobs) >= 3 * 5  # two templates, two images and a face each
    assert not any(decodes_as_image(blob) for blob in blobs)
    templates = [base64.b64decode(f["template"]) for _, body in sent for f in body["fingers"]]
    assert not any(t in blob for t in templates for blob in blobs)

    vault = Vault.load(key_file)
    for uuid, body in sent:
        stored = read_enrollment(db, vault, uuid)
        assert [base64.b64decode(f["image_png"]) for f in body["fingers"]] == [
            f.image_png for f in stored.fingers
        ]
        assert stored.face_jpeg == base64.b64decode(body["face"]["jpeg"])
        assert decodes_as_image(stored.fingers[0].image_png)

    # A blob copied onto another enrollment's row does not open there.
    (first, _), (second, _) = sent[0], sent[1]
    with db.write() as conn:
        moved = (
            conn.execute(select(ServerFinger.template).where(ServerFinger.enrollment_uuid == first))
            .scalars()
            .first()
        )
        conn.execute(
            update(ServerFinger)
            .where(ServerFinger.enrollment_uuid == second)
            .values(template=moved)
        )
    with pytest.raises(VaultError):
        read_enrollment(db, vault, second)


def test_key_rotation_rewraps_every_data_key(
    keyed_svc: LocalService, svc_pki: SvcPki, key_file: Path, svc_db_url: str
) -> None:
    api = ApiClient(keyed_svc.url)
    uuid, body = upload(api, svc_pki, 10)
    api.close()
    old = Vault.load(key_file)
    assert admin_main(["rotate-key", "--db", svc_db_url, "--key-file", str(key_file)]) == 0
    both = Vault.load(key_file)
    assert both.current != old.current and set(both.keys) == {old.current, both.current}
    retire = ["rotate-key", "--db", svc_db_url, "--key-file", str(key_file), "--retire"]
    assert admin_main(retire) == 0
    newest = Vault.load(key_file)
    assert list(newest.keys) == [both.current]  # only the new key is left
    stored = read_enrollment(keyed_svc.app.state.db, newest, uuid)
    assert stored.face_jpeg == base64.b64decode(body["face"]["jpeg"])
    with pytest.raises(VaultError):
        read_enrollment(keyed_svc.app.state.db, old, uuid)
    assert key_file.stat().st_mode & 0o077 == 0
