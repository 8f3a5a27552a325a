"""Demo data: valid ID numbers, consistent regions, the manual's rows, the CLI."""

# ruff: noqa: E501  (the manual's table is kept as printed)

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bts_desk.app import main
from bts_desk.domain import BordererFilter, id_check_digit, is_valid_id_number
from bts_desk.store import borderers
from bts_desk.store.borderers import BORDERER
from bts_desk.store.db import Database, open_database
from bts_desk.store.demo_data import DISTRICTS, MANUAL_ROWS, ProgressBar, generate, populate

# The manual's table (3.2), column by column.
MANUAL_TABLE = """
8609 潘国生 男 440*****012 广东省深圳市宝安八区新安湖花园新云轩2-702 2019-12-13 2039-12-13 正常 服务应用系统 2023-04-25 人脸指纹都有 启用
8609 韩立 男 430*****111 贵州谷 2022-04-20 2051-04-20 正常 服务应用系统 2023-04-20 没有人脸有指纹 启用
8609 吴琪琪 女 450*****726 广东深圳 2016-01-27 2026-01-27 正常 服务应用系统 2023-05-26 人脸指纹都有 停用
8609 吴奕 女 450*****011 广西 2016-01-27 2026-01-27 正常 服务应用系统 2023-05-26 都没有 启用
8609 戚只菊 女 452*****081 四川成都 2020-05-01 2026-05-01 正常 服务应用系统 2023-05-24 没有人脸有指纹 启用
"""
GENDER = {"M": "男", "F": "女"}
BIO = {"both": "人脸指纹都有", "finger_only": "没有人脸有指纹", "face_only": "有人脸没有指纹",
       "none": "都没有"}  # fmt: skip


def test_generated_rows_are_realistic() -> None:
    (rows,) = list(generate(5000, first_id=100, seed=3, chunk=5000))
    counties = {c.code: (d.code, c) for d in DISTRICTS for c in d.counties}
    district_counties = {d.code: {c.code for c in d.counties} for d in DISTRICTS}
    assert [r["id"] for r in rows] == list(range(100, 5100))
    for row in rows:
        number = row["id_number"]
        assert is_valid_id_number(number), number
        assert id_check_digit(number[:17]) == number[17]
        assert int(number[16]) % 2 == (1 if row["gender"] == "M" else 0)  # GB 11643 order code
        assert number[:6] in district_counties[row["customs_code"]]
        county = counties[number[:6]][1]
        assert row["address"].startswith(county.province + county.prefecture + county.name)
        assert row["id_valid_from"] < row["id_valid_to"]
        assert 2 <= len(row["name"]) <= 9
    share = lambda key, value: sum(r[key] == value for r in rows) / len(rows)  # noqa: E731
    assert 0.8 < share("synced", True) < 0.95
    assert 0.85 < share("state", "normal") < 0.97
    assert 0.4 < share("gender", "M") < 0.65
    assert len({r["customs_code"] for r in rows}) == len(DISTRICTS)
    assert len({r["name"] for r in rows}) > 1500
    assert any("·" in r["name"] for r in rows)  # minority names in Xinjiang, Inner Mongolia…
    assert sum(r["last_op_date"] is None for r in rows) > 0


def test_generation_is_deterministic_per_seed() -> None:
    first = next(generate(50, 1, seed=11))
    assert first == next(generate(50, 1, seed=11))
    assert first != next(generate(50, 1, seed=12))


def test_manual_rows_are_exact(db: Database) -> None:
    populate(db, 0)
    page = borderers.fetch_page(db, BordererFilter(), limit=10)
    shown = [
        " ".join([
            b.customs_code, b.name, GENDER[b.gender.value], b.id_number_masked, b.address,
            b.id_valid_from.isoformat(), b.id_valid_to.isoformat(),
            "正常" if b.state.value == "normal" else b.state.value, b.data_source,
            b.valid_to.isoformat(), BIO[b.bio_flag.value],
            "启用" if b.enable_state.value == "enabled" else "停用",
        ])
        for b in page
    ]  # fmt: skip
    assert shown == MANUAL_TABLE.strip().splitlines()
    assert all(is_valid_id_number(r.id_number) for r in MANUAL_ROWS)


def test_populate_appends_after_the_highest_id(db: Database) -> None:
    assert populate(db, 1200, seed=1) == 1205
    assert populate(db, 300, seed=2, include_manual=False) == 300
    with db.engine.connect() as conn:
        count, top = conn.execute(select(func.count(), func.max(BORDERER.c.id))).one()
    assert (count, top) == (1505, 1505)


def test_bulk_load_rebuilds_the_indexes(db: Database) -> None:
    populate(db, 50_000, seed=5)
    with db.engine.connect() as conn:
        names = {r[0] for r in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'borderer'"
        )}  # fmt: skip
    assert {i.name for i in BORDERER.indexes} <= names
    assert borderers.count(db, BordererFilter(sync_state=None)) == 50_005


def test_progress_bar_without_a_terminal() -> None:
    out = io.StringIO()
    bar = ProgressBar(out)
    for done in range(0, 1001, 50):
        bar(done, 1000)
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("[" + "#" * 30 + "] 100% 1,000/1,000 rows")
    assert 2 <= len(lines) <= 12


def test_demo_data_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["demo-data", "--rows", "2500", "--db", url, "--seed", "4"]) == 0
    out, err = capsys.readouterr()
    assert "2505 records" in out and "100%" in err
    db = open_database(url)
    try:
        assert borderers.count(db, BordererFilter(sync_state=None)) == 2505
    finally:
        db.dispose()


def test_console_script_entry(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'proc.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "bts_desk", "demo-data", "--rows", "100", "--db", url],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "105 records" in done.stdout
