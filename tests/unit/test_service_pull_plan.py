"""The pull's page query walks the revision index: no sort of the remaining records per page.

With ``customs_code IN (grant)`` on the (district, revision) index, SQLite sorted every record
of the grant above the cursor for each page (a full pull of a million records took minutes,
quadratic in the table); ``sync_bench`` times the pull, this pins the plan that keeps it linear.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.dialects import sqlite

from bts_desk.service.borderers import page_query
from bts_desk.service.database import ServiceDatabase


def _plan(db: ServiceDatabase, districts: list[str]) -> str:
    query = page_query(0, 5001, districts).compile(
        dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}
    )
    with db.read() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}").all()
    return " | ".join(str(row[-1]) for row in rows)


def test_page_query_walks_the_revision_index_without_sorting(tmp_path: Path) -> None:
    db = ServiceDatabase(f"sqlite:///{tmp_path / 'svc.db'}")
    db.create_schema()
    try:
        for grant in (["5301"], ["5301", "7218", "8609"]):
            plan = _plan(db, grant)
            assert "TEMP B-TREE" not in plan, plan
            assert "ux_borderer_revision" in plan, plan
    finally:
        db.dispose()
