"""The demo environment: ``bts-desk --demo`` runs the real desk over generated local data.

Demo state lives apart from a real desk's (``<data dir>/demo``): its own SQLite store, filled
on the first start with ``DEMO_ROWS`` generated border residents plus the manual's five sample
rows. Emulators (virtual officer card, scanner on a pty, camera stand-in, local sync service)
are added here by their parts as they land. Qt-free: safe on a worker thread.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bts_desk.config import Settings

if TYPE_CHECKING:
    from bts_desk.store.db import Database

log = logging.getLogger(__name__)

DEMO_ROWS = 20_000


def demo_settings(settings: Settings) -> Settings:
    """``settings`` redirected to the demo directory and its local SQLite store."""
    demo_dir = settings.data_dir / "demo"
    settings = settings.replace("paths", data_dir=str(demo_dir))
    return settings.replace("database", url=f"sqlite:///{demo_dir / 'desk.db'}")


def open_demo_database(settings: Settings, rows: int = DEMO_ROWS) -> Database:
    """Open (migrate) the demo store and fill it on first use. Worker thread: a few seconds.

    SQLAlchemy and numpy are imported here, after the window is shown."""
    from sqlalchemy import func, select

    from bts_desk.store import demo_data
    from bts_desk.store.borderers import BORDERER
    from bts_desk.store.db import open_database

    db = open_database(settings.database_url)
    with db.session() as session:
        present = session.execute(select(func.count()).select_from(BORDERER)).scalar_one()
    if present == 0:
        log.info("generating %d demo border residents in %s", rows, db.url)
        demo_data.populate(db, rows)
    return db
