"""The audit log is tamper-evident (issue 11, finding 5), tried as an attacker would.

The attacker here can open the store (they hold the desk key, so SQLCipher does not stop
them), drops the append-only triggers, deletes or edits rows, and puts the triggers back.
``bts-desk audit verify`` must exit 1 and name the row where the chain breaks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlcipher3

from bts_desk.app import main
from bts_desk.config import Settings, load_settings
from bts_desk.domain import Officer
from bts_desk.store.audit import AuditAction, query_audit, record, verify
from bts_desk.store.db import Database
from bts_desk.store.desk_store import open_desk_store

OFFICER = Officer(officer_id="GY860901", name="李海关", customs_code="8609")
TRIGGERS = (
    """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
       BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END""",
    """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
       BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END""",
)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[paths]\ndata_dir = "{tmp_path / "data"}"\n[logging]\ndir = "{tmp_path / "logs"}"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def desk(config: Path) -> Iterator[tuple[Settings, Database]]:
    settings = load_settings(user_file=config)
    db, _key = open_desk_store(settings)
    for n in range(6):
        record(db, OFFICER, AuditAction.SEARCH, None, f"姓名以“王”开头 #{n}", desk_id="desk-1")
    yield settings, db
    db.dispose()


def _tamper(settings: Settings, db: Database, *statements: str) -> None:
    """As the attacker: the desk's own SQLCipher store, opened with its key."""
    db.dispose()
    key = open_desk_store(settings)[1]
    conn = sqlcipher3.connect(str(settings.data_dir / "desk.db"))
    conn.execute(f'PRAGMA key="{key.sqlcipher_key()}"')
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("DROP TRIGGER audit_no_delete")
    for statement in (*statements, *TRIGGERS):
        conn.execute(statement)
    conn.commit()
    conn.close()


def _verify(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["audit", "verify", "--config", str(config)])
    return code, capsys.readouterr().out


def test_an_intact_log_verifies(
    desk: tuple[Settings, Database], config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _verify(config, capsys)
    assert code == 0 and "6 条记录" in out


def test_a_deleted_row_is_found(
    desk: tuple[Settings, Database], config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _tamper(*desk, "DELETE FROM audit WHERE id = 3")
    code, out = _verify(config, capsys)
    assert code == 1 and "第 4 条" in out and "missing" in out


def test_an_edited_row_is_found(
    desk: tuple[Settings, Database], config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _tamper(*desk, "UPDATE audit SET officer_id = 'GY000000' WHERE id = 2")
    code, out = _verify(config, capsys)
    assert code == 1 and "第 2 条" in out and "edited" in out


def test_rows_cut_off_at_the_end_are_found(
    desk: tuple[Settings, Database], config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _tamper(*desk, "DELETE FROM audit WHERE id >= 5")
    code, out = _verify(config, capsys)
    assert code == 1 and "第 4 条" in out and "after it" in out


def test_a_rechained_row_without_the_audit_key_is_found(
    desk: tuple[Settings, Database], config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Recomputing the chain needs the audit key: a plain SHA-256 chain would not do."""
    import hashlib

    settings, db = desk
    forged = hashlib.sha256(b"forged").hexdigest()
    _tamper(settings, db, f"UPDATE audit SET detail = 'x', mac = '{forged}' WHERE id = 6")
    code, out = _verify(config, capsys)
    assert code == 1 and "第 6 条" in out


def test_writers_on_many_threads_keep_one_chain(desk: tuple[Settings, Database]) -> None:
    _settings, db = desk

    def write(n: int) -> None:
        for i in range(10):
            record(db, OFFICER, AuditAction.VIEW_DETAIL, n * 100 + i, "详情", desk_id="desk-1")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    verdict = verify(db)
    assert verdict.ok, verdict
    assert verdict.rows == 46 and len(query_audit(db, limit=100)) == 46


def test_a_search_is_summarised_with_a_full_id_number_masked() -> None:
    from bts_desk.domain import BordererFilter, Gender
    from bts_desk.store.audit import search_summary

    text = search_summary(BordererFilter(name="440306198503020120", gender=Gender.FEMALE))
    assert "440*****120" in text and "198503020" not in text and "性别=" in text
    assert search_summary(BordererFilter(name="王")).startswith("查询：姓名以“王”开头")


def test_an_acknowledged_upload_is_recorded_in_the_chain(desk: tuple[Settings, Database]) -> None:
    from bts_desk.store.demo_data import MANUAL_ROWS, populate
    from bts_desk.store.enrollments import mark_acknowledged, save_enrollment
    from bts_desk.sync.samples import sample_draft

    settings, db = desk
    key = open_desk_store(settings)[1]
    populate(db, 0)
    draft = sample_draft(MANUAL_ROWS[0].id, OFFICER)
    save_enrollment(db, draft, key)
    mark_acknowledged(db, [draft.uuid])
    acked = query_audit(db, action=AuditAction.UPLOAD_ACKNOWLEDGED)
    assert [(e.borderer_id, e.officer_id) for e in acked] == [(MANUAL_ROWS[0].id, "GY860901")]
    assert verify(db).ok
