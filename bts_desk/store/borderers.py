"""Query layer of 边民备案查询 over ``BordererRow``: filters, counts, pages, upserts.

The UI only ever receives ``domain.Borderer`` values, whose ID number is masked *here*: the full
身份证号 never leaves this module towards the UI (it is only compared with what the officer typed).
Pages are small (``limit`` rows) so that a million-row store is browsed without loading it.

SQL is portable (SQLite and PostgreSQL): the 姓名 prefix is an index-friendly range
``name >= p AND name < p || U+FFFF`` instead of ``LIKE``; the upsert uses the dialect's
``INSERT … ON CONFLICT``.

Sorting a million rows (every column of the table, both directions, any filter): each sort key
has an index ``(synced, key…, id)`` (``store.models``), so a page is read in index order and the
scan stops after ``offset + limit`` rows:
- 同步状态 已同步海关 / 未同步海关: ``synced = ?`` is the index prefix.
- 同步状态 全部: ``UNION ALL`` of the two ``synced`` halves under one ``ORDER BY``; SQLite merges
  the two index walks (``MERGE (UNION ALL)``), PostgreSQL does a Merge Append.
- Other filter terms: with many matches, walking the sort index and testing each row finds a
  page after a few hundred rows; with few, the filter's own index and a sort of the matches is
  fastest, and walking would read most of the table. SQLite's planner (no STAT4) cannot tell
  them apart, so on SQLite ``fetch_page`` first walks the sort index (the filter terms written
  ``+term``, so that no other index is usable) within a budget of SQLite VM steps (progress
  handler, ``WALK_BUDGET`` × ``WALK_STEP``: about 10k rows examined), then runs the plain
  statement if the walk was interrupted. Either plan then reads at most about
  ``sqrt(page × N)`` rows (10k at 1M), whatever the matches' share; a 关区代码 filter with a
  geographic sort (户籍地址, 身份证号 follow the district) is bounded the same way.

Every function opens its own short session: call them from a worker
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

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    Table,
    func,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

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
# in ``_order_by`` makes every order total, so pages never overlap or skip rows. 关区代码 ties
# are ordered by 生物标识: the 关区 + 生物标识 filter index then serves that sort as well.
SORT_COLUMNS: Final[dict[str, tuple[ColumnElement[Any], ...]]] = {
    "id": (),
    "customs_code": (T.customs_code, T.has_face, T.has_finger),
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
# From this offset on, a page by id with no filter but 同步状态 is found through the
# ``(synced, id)`` index first (``_deep_page_by_id``); nearer pages step over the rows.
DEEP_OFFSET: Final = 2000

# SQLite progress-handler calls (every WALK_STEP VM instructions) a walk along the sort index
# may take before it is interrupted for the plain statement: ~10k rows examined. Counted in
# steps, not seconds, so that the plan does not depend on how busy the machine is.
WALK_STEP: Final = 1000
WALK_BUDGET: Final = 100


class _NoIndex(FunctionElement[Any]):
    """``+expr`` on SQLite (the documented way to keep a term from choosing an index), the
    plain expression elsewhere (PostgreSQL's planner weighs LIMIT itself)."""

    name = "no_index"
    inherit_cache = True


@compiles(_NoIndex)
def _no_index_default(element: _NoIndex, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(_NoIndex, "sqlite")
def _no_index_sqlite(element: _NoIndex, compiler: SQLCompiler, **kw: Any) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"


# Terms whose index is always usable (correlated with other columns: module docstring).
_KEEP_INDEX: Final = frozenset({"id_number"})

# The sort key each filter term belongs to: that term and that sort share an index.
_TERM_SORT: Final = {
    "customs_code": "customs_code",
    "name": "name",
    "id_number": "id_number_masked",
    "gender": "gender",
    "has_face": "bio_flag",
    "has_finger": "bio_flag",
    "enabled": "enable_state",
    "last_op_date": "last_op_date",
}


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


def _terms(flt: BordererFilter) -> list[tuple[str, Any, str, Any]]:
    """The filter as (column, operator, value) terms, ``synced`` excluded. A full ID number
    typed into 姓名 searches 身份证号."""
    terms: list[tuple[str, Any, str, Any]] = []
    if flt.customs_code:
        terms.append(("customs_code", T.customs_code, "==", flt.customs_code))
    id_number = (flt.id_number or "").strip().upper() or None
    name = (flt.name or "").strip()
    if name and looks_like_id_number(name):
        id_number, name = name.upper(), ""
    if id_number:
        terms.append(("id_number", T.id_number, "==", id_number))
    if name:
        terms.append(("name", T.name, ">=", name))
        terms.append(("name", T.name, "<", name + PREFIX_END))
    if flt.gender is not None:
        terms.append(("gender", T.gender, "==", str(flt.gender)))
    if flt.bio_flag is not None:
        terms.append(("has_face", T.has_face, "==", flt.bio_flag.has_face))
        terms.append(("has_finger", T.has_finger, "==", flt.bio_flag.has_finger))
    if flt.enable_state is not None:
        terms.append(("enabled", T.enabled, "==", flt.enable_state == EnableState.ENABLED))
    if flt.last_op_from is not None:
        terms.append(("last_op_date", T.last_op_date, ">=", flt.last_op_from))
    if flt.last_op_to is not None:
        terms.append(("last_op_date", T.last_op_date, "<=", flt.last_op_to))
    return terms


def _compare(column: Any, op: str, value: Any) -> ColumnElement[bool]:
    if op == ">=":
        return cast(ColumnElement[bool], column >= value)
    if op == "<=":
        return cast(ColumnElement[bool], column <= value)
    if op == "<":
        return cast(ColumnElement[bool], column < value)
    return cast(ColumnElement[bool], column == value)


def _synced_terms(synced: bool | None) -> list[ColumnElement[bool]]:
    return [] if synced is None else [T.synced == synced]


def _synced_value(flt: BordererFilter) -> bool | None:
    return None if flt.sync_state is None else flt.sync_state == SyncState.SYNCED


def conditions(
    flt: BordererFilter, *, keep_index_for: str | None = None, walk: bool = False
) -> list[ColumnElement[bool]]:
    """The WHERE terms of a filter. ``walk``: every term but ``synced`` and those of the sort
    key ``keep_index_for`` is written ``+term`` (SQLite then reads along the sort index)."""
    synced = _synced_value(flt)
    if walk and keep_index_for == "id" and synced is not None:  # the rowid order: no index
        where: list[ColumnElement[bool]] = [_compare(_NoIndex(T.synced), "eq", synced)]
    else:
        where = _synced_terms(synced)
    for name, column, op, value in _terms(flt):
        hidden = walk and _TERM_SORT.get(name) != keep_index_for
        where.append(_compare(_NoIndex(column) if hidden else column, op, value))
    return where


def needs_walk(flt: BordererFilter, sort: str) -> bool:
    """True when the filter has terms whose index is not the sort's, so that the plan depends
    on how many rows match (``fetch_page`` tries a budgeted walk first)."""
    names = {name for name, *_ in _terms(flt)}
    if names & _KEEP_INDEX:
        return False  # one record: its index
    if not SORT_COLUMNS.get(sort, ()):
        # by id: the table's own (rowid) order. SQLite 3.40 scans it for ``synced = ?``, but
        # SQLCipher's 3.53 (the desk's encrypted store) reads all of a half through a
        # ``(synced, …)`` index and sorts it (300 ms at 1M): walk the rowid order first.
        return bool(names) or flt.sync_state is not None
    return any(_TERM_SORT.get(name) != sort for name in names)


def _check(flt: BordererFilter) -> None:
    problem = flt.validation_error()
    if problem:
        raise StoreError("查询条件有误：开始日期晚于结束日期", f"invalid filter: {problem}")


def count_statement(flt: BordererFilter) -> Select[Any]:
    """COUNT of the matches; 同步状态 全部 sums the two ``synced`` halves, so that each count
    runs on a ``(synced, …)`` index."""
    if flt.sync_state is not None:
        return select(func.count()).select_from(BORDERER).where(true(), *conditions(flt))
    halves = [
        select(func.count())
        .select_from(BORDERER)
        .where(T.synced == synced, *conditions(flt))
        .scalar_subquery()
        for synced in (True, False)
    ]
    return select(halves[0] + halves[1])


def _nullable(column: ColumnElement[Any]) -> bool:
    return bool(getattr(column, "nullable", False))


def _order_by(keys: Sequence[ColumnElement[Any]], order: SortOrder) -> list[ColumnElement[Any]]:
    # NULL (no 最近操作日期) sorts first ascending and last descending on every database
    # (SQLite's own order, so its indexes still serve the sort; PostgreSQL differs by default).
    if order is SortOrder.DESCENDING:
        return [k.desc().nulls_last() if _nullable(k) else k.desc() for k in keys]
    return [k.asc().nulls_first() if _nullable(k) else k.asc() for k in keys]


def page_statement(
    flt: BordererFilter,
    sort: str,
    order: SortOrder,
    offset: int,
    limit: int,
    *,
    walk_sort_index: bool = False,
) -> Select[Any] | CompoundSelect[Any]:
    """SELECT of one page. Unknown sort keys raise StoreError (the UI passes field names).
    ``walk_sort_index``: many rows match, read them along the sort index (module docstring)."""
    try:
        keys = (*SORT_COLUMNS[sort], T.id)
    except KeyError:
        raise StoreError("无法按该列排序", f"unknown sort key {sort!r}") from None
    where = conditions(flt, keep_index_for=sort, walk=walk_sort_index)
    offset, limit = max(0, offset), max(0, min(limit, MAX_PAGE))
    if flt.sync_state is not None or not SORT_COLUMNS[sort]:  # by id: the table's own order
        stmt = select(BORDERER).where(true(), *where)
        return stmt.order_by(*_order_by(keys, order)).offset(offset).limit(limit)
    # 全部: the two halves merged in index order (ORDER BY of a compound names its columns).
    halves = [select(BORDERER).where(T.synced == synced, *where) for synced in (True, False)]
    merged = union_all(*halves)
    by_name = [merged.selected_columns[str(k.key)] for k in keys]
    return merged.order_by(*_order_by(by_name, order)).offset(offset).limit(limit)


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
        if sort == "id" and offset >= DEEP_OFFSET and not _terms(flt):
            deep = _deep_page_by_id(session, flt, order, offset, limit)
            return [to_borderer(row) for row in deep]
        if needs_walk(flt, sort) and session.get_bind().dialect.name == "sqlite":
            walked = _budgeted_walk(session, flt, sort, order, offset=offset, limit=limit)
            if walked is not None:
                return [to_borderer(row) for row in walked]
        rows = session.execute(page_statement(flt, sort, order, offset, limit))
        return [to_borderer(row) for row in rows]


def _deep_page_by_id(
    session: Session, flt: BordererFilter, order: SortOrder, offset: int, limit: int
) -> list[Any]:
    """A page far down the table's own order (the scroll bar dragged to the middle), by
    ``synced`` alone: the first id of the page is counted off along the narrow
    ``(synced, id)`` index (the two halves merged for 全部) instead of stepping over
    ``offset`` whole rows — which on the encrypted store decrypts half the table (about 2 s at
    1M rows) — then the page is read from that id on."""
    limit = max(0, min(limit, MAX_PAGE))
    synced = _synced_value(flt)
    halves = (True, False) if synced is None else (synced,)
    ids = [select(T.id.label("id")).where(T.synced == half) for half in halves]
    counted = ids[0] if len(ids) == 1 else union_all(*ids)
    key = counted.selected_columns["id"]
    first_stmt = counted.order_by(*_order_by([key], order)).offset(offset).limit(1)
    first = session.execute(first_stmt).scalar_one_or_none()
    if first is None:
        return []
    from_first = T.id >= first if order is SortOrder.ASCENDING else T.id <= first
    stmt = select(BORDERER).where(from_first, *_synced_terms(synced))
    return list(session.execute(stmt.order_by(*_order_by([T.id], order)).limit(limit)).all())


def _budgeted_walk(
    session: Session, flt: BordererFilter, sort: str, order: SortOrder, *, offset: int, limit: int
) -> list[Any] | None:
    """The page along the sort index, or None when the walk ran out of its budget (few
    matches, or none near the start of the index): SQLite's progress handler interrupts it."""
    from sqlalchemy.exc import OperationalError

    # sqlite3 or sqlcipher3 (an encrypted store): the same DB-API connection interface
    raw: Any = session.connection().connection.driver_connection
    steps = 0

    def spend() -> int:
        nonlocal steps
        steps += 1
        return 1 if steps > WALK_BUDGET else 0

    stmt = page_statement(flt, sort, order, offset, limit, walk_sort_index=True)
    raw.set_progress_handler(spend, WALK_STEP)
    try:
        return list(session.execute(stmt).all())
    except OperationalError as exc:
        if "interrupt" not in str(exc.orig):
            raise
        return None
    finally:
        raw.set_progress_handler(None, 0)


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
