"""Key/value state of the sync client in the desk store: pull cursor, last successful sync.

Values are written in the caller's session where they must commit together with data (the
pull cursor with its page of records). SQL: worker or pool threads, never the GUI thread.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from bts_desk.store.db import Database
from bts_desk.store.models import SyncStateRow

PULL_CURSOR = "pull_cursor"
LAST_SYNC_AT = "last_sync_at"  # ISO 8601 UTC of the last pass with no failure
LAST_PULL_AT = "last_pull_at"
GRANTED_DISTRICTS = "granted_districts"  # comma-separated 关区 of the last sync session
PULLED_DISTRICTS = "pulled_districts"  # the 关区 the pull cursor covers (``sync.districts``)
DISTRICTS_LEAVING = "districts_leaving"  # revoked 关区 with records kept back (ditto)


def granted_districts(target: Database | Session) -> tuple[str, ...]:
    """The districts (关区代码) whose records the desk pulls: the last session's grant."""
    return tuple(d for d in get_value(target, GRANTED_DISTRICTS).split(",") if d)


def get_value(target: Database | Session, key: str, default: str = "") -> str:
    if isinstance(target, Session):
        row = target.get(SyncStateRow, key)
        return row.value if row is not None else default
    with target.session() as session:
        return get_value(session, key, default)


def set_value(target: Database | Session, key: str, value: str) -> None:
    if isinstance(target, Session):
        row = target.get(SyncStateRow, key)
        if row is None:
            target.add(SyncStateRow(key=key, value=value))
        else:
            row.value = value
        return
    with target.session() as session:
        set_value(session, key, value)


def get_time(target: Database | Session, key: str) -> dt.datetime | None:
    text = get_value(target, key)
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def set_time(target: Database | Session, key: str, value: dt.datetime) -> None:
    set_value(target, key, value.astimezone(dt.UTC).isoformat())
