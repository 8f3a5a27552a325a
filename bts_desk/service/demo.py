"""Demo records for the service: the manual's five sample rows plus generated ones.

The records come from the one demo generator, ``bts_desk.store.demo_data`` (the desk's), so
the service and a desk loaded directly show the same people. Ids continue after the highest
id already on the service, so loading twice adds records instead of failing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import func, select

from bts_desk.service.borderers import load_records
from bts_desk.service.database import ServiceDatabase
from bts_desk.service.models import ServerBorderer

Progress = Callable[[int, int], None]


def _plain(record: dict[str, Any]) -> dict[str, Any]:
    """Enum members as their plain string codes (every driver adapts a plain str)."""
    return {k: str(v) if isinstance(v, str) else v for k, v in record.items()}


def load_demo(
    db: ServiceDatabase, count: int, *, seed: int = 20260, progress: Progress | None = None
) -> int:
    """Add the manual's rows (if absent) and ``count`` generated records; returns how many."""
    from bts_desk.store import demo_data

    with db.read() as conn:
        top = int(conn.execute(select(func.max(ServerBorderer.id))).scalar() or 0)

    def records() -> Iterator[dict[str, Any]]:
        for row in demo_data.MANUAL_ROWS:
            if row.id > top:
                yield _plain(dataclasses.asdict(row))
        first_id = max(top, len(demo_data.MANUAL_ROWS)) + 1
        done = 0
        for chunk in demo_data.generate(count, first_id, seed):
            for generated in chunk:
                yield _plain(generated)
            done += len(chunk)
            if progress:
                progress(done, count)

    return load_records(db, records())
