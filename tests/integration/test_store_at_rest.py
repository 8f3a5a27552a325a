"""The desk's files, read as whoever copies them would (issue 11, findings 4 and 6).

The store is opened as the desk opens it (``open_desk_store``), filled by the demo-data
generator, queried (姓名 prefix, full ID number, 详情), an enrollment saved, uploaded and
acknowledged, a database error provoked with a known name and ID number in its parameters,
everything logged at DEBUG to the settings' log folder. Then the bytes of every file in the
data and log folders are searched for the known names and ID numbers: none may be there in
the clear. A lost or swapped desk key is refused with a message for IT, and nothing is marked
refused.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from bts_desk.config import Settings
from bts_desk.domain import BordererFilter, Officer, OutboxState
from bts_desk.errors import StoreError
from bts_desk.logs import setup_logging
from bts_desk.store import borderers
from bts_desk.store.crypto import create_key
from bts_desk.store.demo_data import MANUAL_ROWS, populate
from bts_desk.store.desk_store import DeskKeyError, open_desk_store
from bts_desk.store.enrollments import load_draft, mark_acknowledged, save_enrollment
from bts_desk.store.models import BordererRow, OutboxRow
from bts_desk.sync.samples import sample_draft

OFFICER = Officer(officer_id="GY860901", name="李海关", customs_code="8609")
SECRETS = [r.id_number for r in MANUAL_ROWS[:3]] + [r.name for r in MANUAL_ROWS[:3]]
SECRETS += [MANUAL_ROWS[0].address]


def _files(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in folder.rglob("*") if p.is_file()]


def _leaks(files: list[Path]) -> list[str]:
    found = []
    for path in files:
        data = path.read_bytes()
        for secret in SECRETS:
            for encoding in ("utf-8", "utf-16-le", "gb18030"):
                if secret.encode(encoding) in data:
                    found.append(f"{path.name}: {secret[:3]}… ({encoding})")
    return found


def _use_the_store(settings: Settings) -> None:
    """What the query and enrollment tests do, in one go, keeping the WAL in place."""
    db, key = open_desk_store(settings)
    populate(db, 300)
    person = MANUAL_ROWS[0]
    by_name = borderers.fetch_page(db, BordererFilter(name=person.name[:1]))
    by_id = borderers.fetch_page(db, BordererFilter(name=person.id_number))
    assert by_name and [b.id for b in by_id] == [person.id]
    assert borderers.get(db, person.id) is not None  # 详情
    drafts = [sample_draft(person.id, OFFICER), sample_draft(MANUAL_ROWS[1].id, OFFICER)]
    for draft in drafts:
        save_enrollment(db, draft, key)
    assert load_draft(db, drafts[0].uuid, key).borderer_id == person.id
    mark_acknowledged(db, [drafts[0].uuid])
    with pytest.raises(StoreError) as failed, db.session() as session:
        session.execute(insert(BordererRow).values(person.as_row()))  # duplicate key
    logging.getLogger("test").error("store error: %s", failed.value.detail)
    assert person.id_number not in failed.value.detail  # hide_parameters
    db.dispose()


def test_store_files_and_logs_hold_no_name_or_id_number_in_the_clear(settings: Settings) -> None:
    setup_logging(settings.log_dir, "DEBUG", stderr=False)
    try:
        _use_the_store(settings)
    finally:
        logging.getLogger().handlers[:] = [
            h for h in logging.getLogger().handlers if not getattr(h, "_bts_desk", False)
        ]
    files = _files(settings.data_dir, settings.log_dir)
    names = {p.name for p in files}
    assert {"desk.db", "desk.key", "bts-desk.log"} <= names, names
    assert not _leaks(files)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_data_and_log_folders_are_private(settings: Settings) -> None:
    setup_logging(settings.log_dir, "INFO", stderr=False)
    logging.getLogger("test").info("written")
    db, _key = open_desk_store(settings)
    populate(db, 0)
    with db.engine.connect() as conn:  # hold the WAL and SHM open while looking
        conn.exec_driver_sql("SELECT count(*) FROM borderer").scalar()
        for folder in (settings.data_dir, settings.log_dir):
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
        files = _files(settings.data_dir, settings.log_dir)
        assert {"desk.db-wal", "desk.db-shm"} <= {p.name for p in files}
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    db.dispose()


def _saved_unsent(settings: Settings) -> str:
    db, key = open_desk_store(settings)
    populate(db, 0)
    draft = sample_draft(MANUAL_ROWS[0].id, OFFICER)
    save_enrollment(db, draft, key)
    db.dispose()
    return draft.uuid


def _states(settings: Settings) -> list[str]:
    db, _key = open_desk_store(settings)
    with db.session() as session:
        states = list(session.scalars(select(OutboxRow.state)))
    db.dispose()
    return states


def test_a_swapped_desk_key_is_refused_and_nothing_is_marked_refused(settings: Settings) -> None:
    _saved_unsent(settings)
    original = settings.key_file.read_bytes()
    settings.key_file.unlink()
    create_key(settings.key_file)  # another key where the desk's was
    with pytest.raises(DeskKeyError) as refused:
        open_desk_store(settings)
    assert "密钥与本地数据库不符" in refused.value.user_message
    assert "IT" in refused.value.user_message and "备份恢复" in refused.value.user_message
    settings.key_file.write_bytes(original)  # IT restores the key from the backup
    assert _states(settings) == [OutboxState.PENDING.value]


def test_a_lost_desk_key_is_not_replaced_while_the_store_exists(settings: Settings) -> None:
    _saved_unsent(settings)
    backup = settings.key_file.read_bytes()
    settings.key_file.unlink()
    with pytest.raises(DeskKeyError) as refused:
        open_desk_store(settings)
    assert "密钥文件缺失" in refused.value.user_message
    assert not settings.key_file.exists()  # never silently made anew
    settings.key_file.write_bytes(backup)
    os.chmod(settings.key_file, 0o600)
    assert _states(settings) == [OutboxState.PENDING.value]


def test_a_plain_store_from_before_is_encrypted_in_place(settings: Settings) -> None:
    from bts_desk.store.db import open_database

    plain = open_database(settings.database_url)
    populate(plain, 20)
    plain.dispose()
    assert MANUAL_ROWS[0].id_number.encode() in (settings.data_dir / "desk.db").read_bytes()
    db, _key = open_desk_store(settings)
    assert borderers.count(db, BordererFilter(sync_state=None)) == 20 + len(MANUAL_ROWS)
    db.dispose()
    assert not _leaks(_files(settings.data_dir))
