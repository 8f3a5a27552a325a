"""Query layer of 边民备案查询 over ``BordererRow``: filters, counts, pages, upserts.

The UI only ever receives ``domain.Borderer`` values, whose ID number is masked *here*: the full
身份证号 never leaves this module towards the UI (it is only compared with what the officer typed).
Pages are small (``limit`` rows) so that a million-row store is browsed without loading it.

SQL is portable (SQLite and PostgreSQL): the 姓名 prefix is an index-friendly range
``name >= p AND name < p || U+FFFF`` instead of ``LIKE``; the upsert uses the dialect's
``INSERT … ON CONFLICT``. Every function opens its own short session: call them from a worker
thread (``ui.tasks.run_in_background``) or from the sync worker, never on the GUI thread with a
large filter.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar, cast

from sqlalchemy import ColumnElement, Select, Table, and_, func, select, true
from sqlalchemy.orm import Session

from bts_desk.domain import (
    BioFlag,
    Borderer,
    BordererFilter,
    EnableState,
    Gender,
    RecordState,
    SortOrder,
    SyncState,
    mask_id_number,
)
from bts_desk.errors import StoreError
from bts_desk.store.db import Database
from bts_desk.store.models import BordererRow

BORDERER = cast(Table, BordererRow.__table__)
T = BORDERER.c
E = TypeVar("E", bound=enum.Enum)

# The highest BMP code point: every name with prefix p sorts between p and p + U+FFFF.
PREFIX_END: Final = "\uffff"

_ID_NUMBER_RE: Final = re.compile(r"^\d{17}[\dXx]$")

# Sort keys are the field names of domain.Borderer (the UI's columns); the trailing ``id``
# in ``_order_by`` makes every order total, so pages never overlap or skip rows.
SORT_COLUMNS: Final[dict[str, tuple[ColumnElement[Any], ...]]] = {
    "id": (),
    "customs_code": (T.customs_code,),
    "name": (T.name,),
    "gender": (T.gender,),
    "id_number_masked": (T.id_number,),
    "address": (T.address,),
    "id_valid_from": (T.id_valid_from,),
    "id_valid_to": (T.id_valid_to,),
    "state": (T.state,),
    "data_source": (T.data_source,),
    "valid_to": (T.valid_to,),
    "bio_flag": (T.has_face, T.has_finger),
    "enable_state": (T.enabled,),
    "sync_state": (T.synced,),
    "last_op_date": (T.last_op_date,),
}

MAX_PAGE: Final = 1000


@dataclass(frozen=True, slots=True)
class BordererRecord:
    """A full record as the sync service sends it (and the demo generator makes it).

    Holds the unmasked ID number: only store and sync code handle it; never log it."""

    id: int
    customs_code: str
    name: str
    gender: Gender
    id_number: str
    address: str
    id_valid_from: dt.date
    id_valid_to: dt.date
    state: RecordState
    data_source: str
    valid_to: dt.date
    has_face: bool
    has_finger: bool
    enabled: bool
    synced: bool
    last_op_date: dt.date | None
    revision: int = 0

    def __repr__(self) -> str:  # keep full ID numbers out of logs and tracebacks
        return f"BordererRecord(id={self.id}, id_number={mask_id_number(self.id_number)!r})"

    def as_row(self) -> dict[str, Any]:
        """Column values of ``BordererRow`` (enum codes as plain strings)."""
        return {
            "id": self.id,
            "customs_code": self.customs_code,
            "name": self.name,
            "gender": str(self.gender),
            "id_number": self.id_number.upper(),
            "address": self.address,
            "id_valid_from": self.id_valid_from,
            "id_valid_to": self.id_valid_to,
            "state": str(self.state),
            "data_source": self.data_source,
            "valid_to": self.valid_to,
            "has_face": self.has_face,
            "has_finger": self.has_finger,
            "enabled": self.enabled,
            "synced": self.synced,
            "last_op_date": self.last_op_date,
            "revision": self.revision,
        }


def looks_like_id_number(text: str) -> bool:
    """True for an 18-character resident ID number (17 digits + digit or X)."""
    return bool(_ID_NUMBER_RE.match(text.strip()))


def conditions(flt: BordererFilter) -> list[ColumnElement[bool]]:
    """The WHERE terms of a filter. A full ID number in the 姓名 field searches 身份证号."""
    where: list[ColumnElement[bool]] = []
    if flt.sync_state is not None:
        where.append(T.synced == (flt.sync_state == SyncState.SYNCED))
    if flt.customs_code:
        where.append(T.customs_code == flt.customs_code)
    id_number = (flt.id_number or "").strip().upper() or None
    name = (flt.name or "").strip()
    if name and looks_like_id_number(name):
        id_number, name = name.upper(), ""
    if id_number:
        where.append(T.id_number == id_number)
    if name:
        where.append(and_(T.name >= name, T.name < name + PREFIX_END))
    if flt.gender is not None:
        where.append(T.gender == str(flt.gender))
    if flt.bio_flag is not None:
        where.append(T.has_face == flt.bio_flag.has_face)
        where.append(T.has_finger == flt.bio_flag.has_finger)
    if flt.enable_state is not None:
        where.append(T.enabled == (flt.enable_state == EnableState.ENABLED))
    if flt.last_op_from is not None:
        where.append(T.last_op_date >= flt.last_op_from)
    if flt.last_op_to is not None:
        where.append(T.last_op_date <= flt.last_op_to)
    return where


def _check(flt: BordererFilter) -> None:
    problem = flt.validation_error()
    if problem:
        raise StoreError("查询条件有误：开始日期晚于结束日期", f"invalid filter: {problem}")


def count_statement(flt: BordererFilter) -> Select[Any]:
    return select(func.count()).select_from(BORDERER).where(true(), *conditions(flt))


def _nullable(column: ColumnElement[Any]) -> bool:
    return bool(getattr(column, "nullable", False))


def page_statement(
    flt: BordererFilter, sort: str, order: SortOrder, offset: int, limit: int
) -> Select[Any]:
    """SELECT of one page. Unknown sort keys raise StoreError (the UI passes field names)."""
    try:
        keys = SORT_COLUMNS[sort]
    except KeyError:
        raise StoreError("无法按该列排序", f"unknown sort key {sort!r}") from None
    # NULL (no 最近操作日期) sorts first ascending and last descending on every database
    # (SQLite's own order, so its indexes still serve the sort; PostgreSQL differs by default).
    if order is SortOrder.DESCENDING:
        order_by = [k.desc().nulls_last() if _nullable(k) else k.desc() for k in keys]
        order_by.append(T.id.desc())
    else:
        order_by = [k.asc().nulls_first() if _nullable(k) else k.asc() for k in keys]
        order_by.append(T.id.asc())
    return (
        select(BORDERER)
        .where(true(), *conditions(flt))
        .order_by(*order_by)
        .offset(max(0, offset))
        .limit(max(0, min(limit, MAX_PAGE)))
    )


def decode(kind: type[E], code: str) -> E:
    """The enum member stored as ``code`` (LabelledEnum looks codes up by value)."""
    return kind(code)


def to_borderer(row: Any) -> Borderer:
    """A result row as the UI may see it: the ID number masked, enums decoded."""
    return Borderer(
        id=int(row.id),
        customs_code=row.customs_code,
        name=row.name,
        gender=decode(Gender, row.gender),
        id_number_masked=mask_id_number(row.id_number),
        address=row.address,
        id_valid_from=row.id_valid_from,
        id_valid_to=row.id_valid_to,
        state=decode(RecordState, row.state),
        data_source=row.data_source,
        valid_to=row.valid_to,
        bio_flag=BioFlag.of(bool(row.has_face), bool(row.has_finger)),
        enable_state=EnableState.ENABLED if row.enabled else EnableState.DISABLED,
        sync_state=SyncState.SYNCED if row.synced else SyncState.UNSYNCED,
        last_op_date=row.last_op_date,
    )


def count(db: Database, flt: BordererFilter) -> int:
    """Number of records matching ``flt`` (the 共 N 条 of the page). Worker thread."""
    _check(flt)
    with db.session() as session:
        total: int = session.execute(count_statement(flt)).scalar_one()
        return total


def fetch_page(
    db: Database,
    flt: BordererFilter,
    *,
    sort: str = "id",
    order: SortOrder = SortOrder.ASCENDING,
    offset: int = 0,
    limit: int = 200,
) -> list[Borderer]:
    """One page of matches, sorted by a ``domain.Borderer`` field name. Worker thread."""
    _check(flt)
    with db.session() as session:
        rows = session.execute(page_statement(flt, sort, order, offset, limit))
        return [to_borderer(row) for row in rows]


def get(db: Database, borderer_id: int) -> Borderer | None:
    """One record by id (details, the 补录 dialog), masked; None if it is gone."""
    with db.session() as session:
        row = session.execute(select(BORDERER).where(T.id == borderer_id)).one_or_none()
        return None if row is None else to_borderer(row)


def customs_codes(db: Database) -> list[str]:
    """The 关区代码 present in the store, sorted (choices of the filter's drop-down)."""
    with db.session() as session:
        stmt = select(T.customs_code).distinct().order_by(T.customs_code)
        return [str(code) for code in session.execute(stmt).scalars()]


def upsert(session: Session, records: Iterable[BordererRecord], chunk: int = 5000) -> int:
    """Insert or update records by id in ``session`` (sync pull, demo data); returns the count.

    Uses the dialect's ``INSERT … ON CONFLICT (id) DO UPDATE`` (SQLite ≥ 3.24, PostgreSQL)."""
    dialect = session.get_bind().dialect.name
    dialect_insert: Any
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        dialect_insert = pg_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        dialect_insert = sqlite_insert
    else:  # pragma: no cover - the desk runs on SQLite or PostgreSQL only
        raise StoreError("不支持的数据库类型", f"upsert not implemented for {dialect}")
    total = 0
    batch: list[dict[str, Any]] = []
    for record in records:
        batch.append(record.as_row())
        if len(batch) >= chunk:
            total += _upsert_batch(session, dialect_insert, batch)
            batch = []
    if batch:
        total += _upsert_batch(session, dialect_insert, batch)
    return total


def _upsert_batch(session: Session, dialect_insert: Any, batch: Sequence[dict[str, Any]]) -> int:
    stmt = dialect_insert(BordererRow.__table__)
    updated = {
        c.name: stmt.excluded[c.name] for c in BordererRow.__table__.columns if c.name != "id"
    }
    session.execute(stmt.on_conflict_do_update(index_elements=[T.id], set_=updated), batch)
    return len(batch)


def upsert_records(db: Database, records: Iterable[BordererRecord]) -> int:
    """``upsert`` in its own unit of work."""
    with db.session() as session:
        return upsert(session, records)
