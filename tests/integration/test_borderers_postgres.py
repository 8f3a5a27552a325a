"""The borderer query layer on PostgreSQL gives the same answers as on SQLite."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bts_desk.domain import BioFlag, BordererFilter, EnableState, Gender, RecordState, SortOrder
from bts_desk.store import borderers
from bts_desk.store.db import Database, open_database
from bts_desk.store.demo_data import MANUAL_ROWS, populate

pytestmark = pytest.mark.postgres

FILTERS = [
    BordererFilter(),
    BordererFilter(sync_state=None),
    BordererFilter(name="王"),
    BordererFilter(name="吴琪"),
    BordererFilter(name=MANUAL_ROWS[1].id_number),
    BordererFilter(customs_code="7206", bio_flag=BioFlag.BOTH),
    BordererFilter(gender=Gender.FEMALE, enable_state=EnableState.DISABLED),
    BordererFilter(last_op_from=dt.date(2024, 1, 1), last_op_to=dt.date(2024, 6, 30)),
]


def test_same_counts_pages_and_sorts_as_sqlite(db: Database, pg_url: str) -> None:
    pg = open_database(pg_url)
    try:
        for store in (db, pg):
            populate(store, 2500, seed=9)
        for flt in FILTERS:
            assert borderers.count(pg, flt) == borderers.count(db, flt), flt
            for sort in ("id", "name", "last_op_date", "bio_flag", "enable_state"):
                for order in SortOrder:
                    args = {"sort": sort, "order": order, "offset": 40, "limit": 60}
                    assert borderers.fetch_page(pg, flt, **args) == borderers.fetch_page(
                        db, flt, **args
                    ), (flt, sort, order)
        assert borderers.customs_codes(pg) == borderers.customs_codes(db)
        changed = dataclasses.replace(MANUAL_ROWS[0], state=RecordState.CANCELLED)
        assert borderers.upsert_records(pg, [changed]) == 1
        got = borderers.get(pg, changed.id)
        assert got is not None and got.state is RecordState.CANCELLED
    finally:
        pg.dispose()
