"""The borderer query layer against an independent oracle (plain Python over all rows)."""

# ruff: noqa: E501  (the filter table reads best one case per line)

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bts_desk.domain import (
    BioFlag,
    BordererFilter,
    EnableState,
    Gender,
    RecordState,
    SortOrder,
    SyncState,
)
from bts_desk.errors import StoreError
from bts_desk.store import borderers
from bts_desk.store.borderers import BORDERER, BordererRecord
from bts_desk.store.crypto import create_key
from bts_desk.store.db import Database, open_database
from bts_desk.store.demo_data import MANUAL_ROWS, populate

MASKED = re.compile(r"^\d{3}\*{5}[\dX]{3}$")


@pytest.fixture
def store(db: Database) -> Database:
    populate(db, 3000, seed=7)
    return db


def everything(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        return list(conn.execute(select(BORDERER)))


def oracle(db: Database, keep: Callable[[Any], bool]) -> set[int]:
    return {row.id for row in everything(db) if keep(row)}


def all_ids(db: Database, flt: BordererFilter, sort: str = "id") -> list[int]:
    ids: list[int] = []
    while True:
        page = borderers.fetch_page(db, flt, sort=sort, offset=len(ids), limit=700)
        ids += [b.id for b in page]
        if len(page) < 700:
            return ids


def test_default_filter_is_synced_with_customs(store: Database) -> None:
    assert BordererFilter().sync_state is SyncState.SYNCED
    expected = oracle(store, lambda r: r.synced)
    assert borderers.count(store, BordererFilter()) == len(expected)
    assert set(all_ids(store, BordererFilter())) == expected
    assert 0 < len(expected) < len(everything(store))


def _bio_is(flag: BioFlag) -> Callable[[Any], bool]:
    return lambda r: r.synced and BioFlag.of(r.has_face, r.has_finger) is flag


FILTERS: list[tuple[str, BordererFilter, Callable[[Any], bool]]] = [
    ("all", BordererFilter(sync_state=None), lambda r: True),
    ("unsynced", BordererFilter(sync_state=SyncState.UNSYNCED), lambda r: not r.synced),
    ("customs", BordererFilter(customs_code="8609"), lambda r: r.synced and r.customs_code == "8609"),
    ("name", BordererFilter(name="王"), lambda r: r.synced and r.name.startswith("王")),
    ("name2", BordererFilter(name="吴琪"), lambda r: r.synced and r.name.startswith("吴琪")),
    ("female", BordererFilter(gender=Gender.FEMALE), lambda r: r.synced and r.gender == "F"),
    ("male", BordererFilter(gender=Gender.MALE), lambda r: r.synced and r.gender == "M"),
    *[
        (
            f"bio-{flag.value}",
            BordererFilter(bio_flag=flag),
            _bio_is(flag),
        )
        for flag in BioFlag
    ],
    ("enabled", BordererFilter(enable_state=EnableState.ENABLED), lambda r: r.synced and r.enabled),
    ("disabled", BordererFilter(enable_state=EnableState.DISABLED), lambda r: r.synced and not r.enabled),
    (
        "dates",
        BordererFilter(last_op_from=dt.date(2024, 3, 1), last_op_to=dt.date(2024, 3, 31)),
        lambda r: r.synced and r.last_op_date and dt.date(2024, 3, 1) <= r.last_op_date <= dt.date(2024, 3, 31),
    ),
    (
        "from-only",
        BordererFilter(sync_state=None, last_op_from=dt.date(2026, 6, 1)),
        lambda r: r.last_op_date and r.last_op_date >= dt.date(2026, 6, 1),
    ),
    (
        "combined",
        BordererFilter(customs_code="7206", bio_flag=BioFlag.BOTH, gender=Gender.MALE),
        lambda r: r.synced and r.customs_code == "7206" and r.has_face and r.has_finger and r.gender == "M",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("flt", "keep"), [f[1:] for f in FILTERS], ids=[f[0] for f in FILTERS])
def test_each_filter_matches_the_oracle(
    store: Database, flt: BordererFilter, keep: Callable[[Any], bool]
) -> None:
    expected = oracle(store, keep)
    assert expected, "the sample must exercise the filter"
    assert borderers.count(store, flt) == len(expected)
    ids = all_ids(store, flt)
    assert len(ids) == len(set(ids))
    assert set(ids) == expected


def test_name_prefix_is_an_index_range_not_like(db: Database) -> None:
    sql = str(borderers.page_statement(BordererFilter(name="王"), "id", SortOrder.ASCENDING, 0, 10))
    assert "LIKE" not in sql.upper()
    assert "borderer.name >=" in sql and "borderer.name <" in sql


def test_pages_are_masked(store: Database) -> None:
    page = borderers.fetch_page(store, BordererFilter(sync_state=None), limit=1000)
    assert len(page) == 1000
    assert all(MASKED.match(b.id_number_masked) for b in page)
    assert not hasattr(page[0], "id_number")


def test_full_id_number_in_the_name_field_finds_the_record_masked(store: Database) -> None:
    record = MANUAL_ROWS[0]
    for typed in (record.id_number, f" {record.id_number.lower()} "):
        (found,) = borderers.fetch_page(store, BordererFilter(name=typed))
        assert found.id == record.id and found.name == "潘国生"
        assert found.id_number_masked == "440*****012"
        assert record.id_number not in repr(found)
    assert borderers.count(store, BordererFilter(name=record.id_number)) == 1
    assert borderers.count(store, BordererFilter(id_number=record.id_number)) == 1
    other = MANUAL_ROWS[1].id_number
    assert borderers.count(store, BordererFilter(id_number=other, name="潘")) == 0


def test_id_number_with_x_check_digit(store: Database) -> None:
    row = next(r for r in everything(store) if r.id_number.endswith("X") and r.synced)
    (found,) = borderers.fetch_page(store, BordererFilter(name=row.id_number.lower()))
    assert found.id == row.id


SORTED_FILTERS = {
    "synced": BordererFilter(),
    "all": BordererFilter(sync_state=None),
    "unsynced-women": BordererFilter(sync_state=SyncState.UNSYNCED, gender=Gender.FEMALE),
}


@pytest.mark.parametrize("walk", [False, True], ids=["filter-index", "walk-sort-index"])
@pytest.mark.parametrize("flt_name", sorted(SORTED_FILTERS))
@pytest.mark.parametrize("key", sorted(borderers.SORT_COLUMNS))
def test_sorting_by_every_column(store: Database, key: str, flt_name: str, walk: bool) -> None:
    flt = SORTED_FILTERS[flt_name]
    synced = {SyncState.SYNCED: [True], SyncState.UNSYNCED: [False], None: [True, False]}
    rows = [
        r
        for r in everything(store)
        if r.synced in synced[flt.sync_state] and (flt.gender is None or r.gender == flt.gender)
    ]
    columns = [c.name for c in borderers.SORT_COLUMNS[key]]

    def sort_key(r: Any) -> tuple[Any, ...]:
        return (*[(getattr(r, c) is not None, getattr(r, c)) for c in columns], r.id)

    # SQLite sorts NULL first ascending (last descending), as the (is not None, value) key does.
    expected = [r.id for r in sorted(rows, key=sort_key)]
    pages = {}
    with store.session() as session:
        for order in SortOrder:
            stmt = borderers.page_statement(flt, key, order, 0, 300, walk_sort_index=walk)
            pages[order] = [row.id for row in session.execute(stmt)]
    assert pages[SortOrder.ASCENDING] == expected[:300]
    assert pages[SortOrder.DESCENDING] == expected[::-1][:300]
    if walk:  # fetch_page: the budgeted walk (or its fallback) gives the same page
        got = borderers.fetch_page(store, flt, sort=key, order=SortOrder.DESCENDING, limit=300)
        assert [b.id for b in got] == expected[::-1][:300]


def test_paging_covers_every_match_once(store: Database) -> None:
    flt = BordererFilter(sync_state=None)
    ids = all_ids(store, flt, sort="name")
    assert sorted(ids) == sorted(r.id for r in everything(store))


def test_invalid_filter_and_sort_raise_store_errors(store: Database) -> None:
    bad = BordererFilter(last_op_from=dt.date(2025, 2, 1), last_op_to=dt.date(2025, 1, 1))
    with pytest.raises(StoreError) as err:
        borderers.count(store, bad)
    assert "日期" in err.value.user_message
    with pytest.raises(StoreError):
        borderers.fetch_page(store, BordererFilter(), sort="id_number; DROP TABLE borderer")


def test_get_by_id(store: Database) -> None:
    found = borderers.get(store, 3)
    assert found is not None
    assert (found.name, found.id_number_masked, found.enable_state) == (
        "吴琪琪",
        "450*****726",
        EnableState.DISABLED,
    )
    assert borderers.get(store, 10**9) is None


def test_upsert_inserts_and_updates(db: Database) -> None:
    record = MANUAL_ROWS[4]
    assert borderers.upsert_records(db, [record]) == 1
    changed = dataclasses.replace(
        record, state=RecordState.SUSPENDED, has_face=True, revision=9, last_op_date=None
    )
    new = dataclasses.replace(record, id=77, id_number=MANUAL_ROWS[3].id_number)
    assert borderers.upsert_records(db, [changed, new]) == 2
    got = borderers.get(db, record.id)
    assert got is not None
    assert got.state is RecordState.SUSPENDED and got.bio_flag is BioFlag.BOTH
    assert got.last_op_date is None
    assert borderers.count(db, BordererFilter(sync_state=None)) == 2


def test_record_repr_hides_the_id_number() -> None:
    record = MANUAL_ROWS[0]
    assert record.id_number not in repr(record)
    assert isinstance(record, BordererRecord)


def test_customs_codes(store: Database) -> None:
    codes = borderers.customs_codes(store)
    assert codes == sorted(set(codes)) and "8609" in codes and len(codes) >= 10


BENCH_FILTERS = [
    (BordererFilter(name="王"), "name"),
    (BordererFilter(customs_code="7206", bio_flag=BioFlag.BOTH), "id"),
    (BordererFilter(last_op_from=dt.date(2025, 3, 1), last_op_to=dt.date(2025, 3, 31)), "id"),
    (BordererFilter(), "last_op_date"),
    (BordererFilter(sync_state=None), "name"),
    (BordererFilter(sync_state=None, name="李"), "name"),
    (BordererFilter(name=MANUAL_ROWS[0].id_number), "id"),
]


def plan_of(db: Database, stmt: Any) -> str:
    with db.engine.connect() as conn:
        sql = stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        return " | ".join(r[3] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))


@pytest.mark.parametrize(("flt", "sort"), BENCH_FILTERS)
def test_benchmark_filters_use_an_index(store: Database, flt: BordererFilter, sort: str) -> None:
    for stmt in (
        borderers.page_statement(flt, sort, SortOrder.ASCENDING, 0, 200),
        borderers.count_statement(flt),
    ):
        plan = plan_of(store, stmt)
        assert "INDEX" in plan, plan
        assert "TEMP B-TREE" not in plan or sort == "id", plan


def table_sort_keys() -> list[str]:
    """The sort keys of the table's columns, as the view passes them (not a copied list)."""
    from bts_desk.ui.borderer_model import COLUMNS

    return [column.key for column in COLUMNS]


@pytest.mark.parametrize("sync_state", [SyncState.SYNCED, SyncState.UNSYNCED, None])
def test_every_table_column_sorts_along_an_index(
    store: Database, sync_state: SyncState | None
) -> None:
    keys = table_sort_keys()
    assert len(keys) == 12
    for key in keys:
        for order in SortOrder:
            flt = BordererFilter(sync_state=sync_state)
            plan = plan_of(store, borderers.page_statement(flt, key, order, 0, 200))
            assert "INDEX" in plan and "TEMP B-TREE" not in plan, (key, order, plan)
            if sync_state is None:
                assert "MERGE (UNION ALL)" in plan, plan
    flt = BordererFilter(sync_state=None)  # 全部 by id: the table in rowid order, no merge
    plan = plan_of(store, borderers.page_statement(flt, "id", SortOrder.ASCENDING, 5000, 200))
    assert "UNION" not in plan and "TEMP B-TREE" not in plan, plan


def test_many_matches_walk_the_sort_index(store: Database) -> None:
    """A broad filter (women) under any column's sort reads along that column's index."""
    for key in table_sort_keys():
        flt = BordererFilter(gender=Gender.FEMALE, enable_state=EnableState.ENABLED)
        stmt = borderers.page_statement(
            flt, key, SortOrder.DESCENDING, 0, 200, walk_sort_index=True
        )
        plan = plan_of(store, stmt)
        assert "TEMP B-TREE" not in plan, (key, plan)
        assert borderers.needs_walk(flt, key)
    assert not borderers.needs_walk(BordererFilter(name="王"), "name")
    assert not borderers.needs_walk(BordererFilter(name=MANUAL_ROWS[0].id_number), "address")
    assert borderers.needs_walk(BordererFilter(gender=Gender.MALE), "id")  # rowid order


@pytest.mark.parametrize("sync_state", [None, SyncState.SYNCED, SyncState.UNSYNCED])
@pytest.mark.parametrize("order", [SortOrder.ASCENDING, SortOrder.DESCENDING])
def test_deep_pages_by_id_are_counted_off_the_narrow_index(
    store: Database, sync_state: SyncState | None, order: SortOrder
) -> None:
    """Far down the table's own order (the scroll bar dragged), a page by id is found along
    ``(synced, id)`` instead of stepping over the rows: the same rows as OFFSET gives."""
    flt = BordererFilter(sync_state=sync_state)
    total = borderers.count(store, flt)
    for offset in (borderers.DEEP_OFFSET, total // 2 + 7, total - 3, total + 5):
        deep = [b.id for b in borderers.fetch_page(store, flt, order=order, offset=offset)]
        with store.session() as session:
            plain = borderers.page_statement(flt, "id", order, offset, 200)
            assert deep == [row.id for row in session.execute(plain)], offset
    half = select(BORDERER.c.id).where(BORDERER.c.synced.is_(True)).order_by(BORDERER.c.id)
    assert "COVERING INDEX ix_borderer_synced_id" in plan_of(store, half.offset(1500).limit(1))


@pytest.mark.parametrize("encrypted", [False, True], ids=["sqlite", "sqlcipher"])
def test_pages_by_id_walk_the_rowid_order(tmp_path: Path, encrypted: bool) -> None:
    """By id (the table's own order) under 已同步海关 / 未同步海关 / other terms, the walk reads
    the rowid order and stops after the page: SQLCipher's newer SQLite (the desk's encrypted
    store) planned the plain statement as a ``(synced, …)`` index search and a sort of every
    match (300 ms for the first page of the default view at 1M rows). 全部 needs no walk."""
    key = create_key(tmp_path / "desk.key") if encrypted else None
    db = open_database(f"sqlite:///{tmp_path / 'store.db'}", key=key)
    try:
        populate(db, 2000, seed=3)
        for flt in (
            BordererFilter(),
            BordererFilter(sync_state=SyncState.UNSYNCED),
            BordererFilter(gender=Gender.MALE),
        ):
            assert borderers.needs_walk(flt, "id")
            stmt = borderers.page_statement(
                flt, "id", SortOrder.ASCENDING, 0, 200, walk_sort_index=True
            )
            plan = plan_of(db, stmt)
            assert plan.startswith("SCAN borderer") and "TEMP B-TREE" not in plan, plan
            walked = borderers.fetch_page(db, flt, limit=200)
            with db.session() as session:  # the plain statement's page: the same rows
                plain = borderers.page_statement(flt, "id", SortOrder.ASCENDING, 0, 200)
                assert [b.id for b in walked] == [row.id for row in session.execute(plain)]
        assert not borderers.needs_walk(BordererFilter(sync_state=None), "id")
    finally:
        db.dispose()


def test_an_interrupted_walk_falls_back_to_the_statement(
    store: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk gives up after its budget of SQLite steps: fetch_page runs the plain statement,
    and the page is the same either way."""
    flt = BordererFilter(sync_state=None, gender=Gender.MALE, enable_state=EnableState.DISABLED)
    walked = borderers.fetch_page(store, flt, sort="address", limit=50)
    with store.session() as session:
        kwargs = {"offset": 0, "limit": 50}
        assert borderers._budgeted_walk(session, flt, "address", SortOrder.ASCENDING, **kwargs)
        monkeypatch.setattr(borderers, "WALK_BUDGET", 0)
        assert (
            borderers._budgeted_walk(session, flt, "address", SortOrder.ASCENDING, **kwargs) is None
        )
        assert session.execute(borderers.count_statement(flt)).scalar_one() > 0  # still usable
    fallback = borderers.fetch_page(store, flt, sort="address", limit=50)
    assert [b.id for b in fallback] == [b.id for b in walked] and len(walked) == 50


def test_migration_builds_the_model_indexes(db: Database) -> None:
    from sqlalchemy import inspect

    built = {ix["name"]: ix["column_names"] for ix in inspect(db.engine).get_indexes("borderer")}
    wanted = {ix.name: [c.name for c in ix.columns] for ix in BORDERER.indexes}
    assert built == wanted
