"""Borderer records on the service: the incremental pull and loading records in bulk.

``pull_page`` answers ``GET /api/v1/borderers``: the records whose revision is above the
cursor, in revision order, at most ``limit``. A desk pulls up to a million records, so the
page is serialised by the wire module itself (``wire.pull_page_json``, pydantic-core in Rust:
one wire definition, no per-row model objects, no FastAPI encoder), each record revision once
per worker (``_parts``) and the query walks the revision index (keyset pagination, see
``pull_page``). Records of the page that have fingerprints bring the vendor templates of
their latest enrollment with fingers (``wire.TemplateItem``: finger position, format, module
family; no image), stored beside the envelope at upload (``templates``), so a desk can verify
its districts' borderers offline (边民核验), and the exception entries of their latest
enrollment (``wire.ExceptionItem``, for 详情 at every desk). ``load_records`` gives every
record a fresh revision from one reserved block, so a pull brings them all. Blocking: call
from a worker thread.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import weakref
from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Select, insert, select, update

from bts_desk.biometrics import cbeff
from bts_desk.service.database import ServiceDatabase, revision_horizon, take_revisions
from bts_desk.service.errors import ApiError
from bts_desk.service.models import (
    ServerBorderer,
    ServerEnrollment,
    ServerEnvelope,
    ServerException,
)
from bts_desk.service.payloads import open_envelope
from bts_desk.service.templates import ServedCache, among, templates_of
from bts_desk.service.vault import Vault
from bts_desk.sync import wire

log = logging.getLogger(__name__)

_COLUMNS = [getattr(ServerBorderer, name) for name in wire.BORDERER_FIELDS]


# The serialised item of a record revision, its templates part (``wire.pull_page_json``) and
# its exception entries: a revision's content never changes — a new enrollment (the only
# writer of exception entries) gives the record a new revision in its own transaction — and
# every desk of a district pulls the same recent revisions, so each worker reads and
# serialises them once. One cache per database (revisions are that database's), bounded
# (about 30 MB per worker), in memory only.
CACHE_REVISIONS = 30_000
_Part = tuple[bytes, bytes, tuple[wire.ExceptionItem, ...]]
_Parts = ServedCache[tuple[int, int, bool], _Part]
_parts_of: weakref.WeakKeyDictionary[ServiceDatabase, _Parts] = weakref.WeakKeyDictionary()
_parts_lock = threading.Lock()


def _parts(db: ServiceDatabase) -> _Parts:
    with _parts_lock:
        cache = _parts_of.get(db)
        if cache is None:
            cache = _parts_of[db] = ServedCache(CACHE_REVISIONS)
        return cache


def pull_page(
    db: ServiceDatabase,
    cursor: int,
    limit: int,
    districts: Iterable[str],
    vault: Vault | None = None,
) -> bytes:
    """The JSON bytes of one page: ``{"items", "next_cursor", "has_more", "templates",
    "exceptions"}``, records of ``districts`` only (the session's grant); templates only with
    a ``vault``.

    The page's (id, revision) pairs first (``page_query``), then the columns and templates of
    the revisions this worker has not served yet, in the same snapshot (``read(snapshot=
    True)``: the second statement sees the revisions of the first)."""
    cache = _parts(db)
    with db.read(snapshot=True) as conn:
        query = page_query(cursor, limit + 1, districts, conn.dialect.name)
        # .all() first: iterating the result row by row costs twice as much CPU.
        keys = [(row[0], row[1]) for row in conn.execute(query).all()]
        has_more = len(keys) > limit
        keys = keys[:limit]
        found = cache.get_many([(*key, vault is not None) for key in keys])
        parts = dict(zip(keys, found, strict=True))
        missing = [key[0] for key, part in parts.items() if part is None]
        if missing:
            parts.update(_serialise(conn, missing, vault, cache))
    next_cursor = keys[-1][1] if keys else cursor
    served = [parts[key] for key in keys]
    # Exception entries in record order, then position (each part's are in position order).
    held = sorted(
        (key[0], part[2]) for key, part in zip(keys, served, strict=True) if part and part[2]
    )
    exceptions = [x for _record, entries in held for x in entries]
    return wire.pull_page_json(
        [p[0] for p in served if p],
        next_cursor,
        has_more,
        [p[1] for p in served if p],
        exceptions,
    )


def _serialise(
    conn: Connection, ids: list[int], vault: Vault | None, cache: _Parts
) -> dict[tuple[int, int], _Part]:
    """The parts of these records (as of the snapshot), by (id, revision); kept for reuse,
    except a record whose templates could not be read now (tried again at its next pull)."""
    rows = conn.execute(select(*_COLUMNS).where(among(ServerBorderer.id, ids, conn))).all()
    enrolled = [row.id for row in rows if row.has_finger]
    templates = templates_of(conn, vault, enrolled) if vault and enrolled else {}
    exceptions: dict[int, list[wire.ExceptionItem]] = {}
    for entry in exceptions_of(conn, ids):
        exceptions.setdefault(entry.borderer_id, []).append(entry)
    out: dict[tuple[int, int], _Part] = {}
    for row in rows:
        item = wire.borderer_item_json(dict(zip(wire.BORDERER_FIELDS, row, strict=True)))  # type: ignore[arg-type]
        part = (item, templates.get(row.id, b""), tuple(exceptions.get(row.id, ())))
        if not (vault and row.has_finger and row.id not in templates):
            cache.put((row.id, row.revision, vault is not None), part)
        out[(row.id, row.revision)] = part
    return out


def exceptions_of(conn: Connection, record_ids: list[int]) -> list[wire.ExceptionItem]:
    """The exception entries (补录 无法采集 / 无法拍照) of each record's latest enrollment, in
    record order, then position: a later enrollment without exceptions leaves none. Not
    biometric data: served with or without the vault."""
    E, X = ServerEnrollment, ServerException  # noqa: N806
    found = conn.execute(
        select(E.borderer_id, E.uuid, E.captured_at, X.position, X.reason, X.note)
        .join(X, X.enrollment_uuid == E.uuid)
        .where(among(E.borderer_id, record_ids, conn))
    ).all()
    if not found:
        return []
    latest: dict[int, str] = {}
    for uuid, record_id in conn.execute(
        select(E.uuid, E.borderer_id)
        .where(among(E.borderer_id, sorted({row.borderer_id for row in found}), conn))
        .order_by(E.borderer_id, E.captured_at.desc(), E.received_at.desc())
    ):
        latest.setdefault(record_id, uuid)
    return [
        wire.ExceptionItem(
            borderer_id=row.borderer_id,
            enrollment_uuid=row.uuid,
            captured_at=_utc(row.captured_at),
            position=row.position,
            reason=row.reason,
            note=row.note,
        )
        for row in sorted(found, key=lambda r: (r.borderer_id, r.position))
        if latest[row.borderer_id] == row.uuid
    ]


def _utc(when: dt.datetime) -> dt.datetime:
    """A stored time as aware UTC (SQLite gives it back naive)."""
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def page_query(
    cursor: int, limit: int, districts: Iterable[str], dialect: str = "sqlite"
) -> Select[int, int]:
    """The (id, revision) of up to ``limit`` records of ``districts`` above ``cursor`` and
    below the revision horizon of ``dialect`` (``database.revision_horizon``: revisions
    that may still be joined by a lower one are left for a later pull), in revision order.

    The district test is written ``customs_code || '' IN (...)`` so that no database can use
    the (district, revision) index for it: with an IN list that index yields each district's
    rows separately and the page then sorts every remaining row of the grant (SQLite's
    "temp B-tree for ORDER BY"), which makes a full pull quadratic — minutes for a million
    records. Walking the revision index and filtering stops after ``limit`` matching rows, so
    a full pull reads the table once."""
    conditions = [
        ServerBorderer.revision > cursor,
        (ServerBorderer.customs_code + "").in_(sorted(districts)),
    ]
    horizon = revision_horizon(dialect)
    if horizon is not None:
        conditions.append(ServerBorderer.revision < horizon)
    return (
        select(ServerBorderer.id, ServerBorderer.revision)
        .where(*conditions)
        .order_by(ServerBorderer.revision)
        .limit(limit)
    )


def portrait(
    db: ServiceDatabase, vault: Vault, record_id: int, districts: Iterable[str]
) -> wire.PortraitAnswer:
    """The face of the record's latest enrollment with one (边民核验 at a desk online);
    ApiError 404 without record or face, 403 outside the session's districts."""
    with db.read() as conn:
        district = conn.execute(
            select(ServerBorderer.customs_code).where(ServerBorderer.id == record_id)
        ).scalar_one_or_none()
        if district is None:
            raise ApiError(404, wire.E_RECORD_MISSING, "边民备案记录不存在", f"record {record_id}")
        if district not in set(districts):
            raise ApiError(
                403,
                wire.E_DISTRICT_FORBIDDEN,
                "该记录不属于本关员可办理的关区",
                f"portrait of record {record_id} of district {district}",
            )
        row = conn.execute(
            select(ServerEnrollment.uuid, ServerEnrollment.captured_at, ServerEnvelope.cbeff)
            .join(ServerEnvelope, ServerEnvelope.enrollment_uuid == ServerEnrollment.uuid)
            .where(ServerEnrollment.borderer_id == record_id, ServerEnrollment.has_face)
            .order_by(ServerEnrollment.captured_at.desc(), ServerEnrollment.received_at.desc())
            .limit(1)
        ).first()
    parsed = cbeff.parse(open_envelope(vault, row.uuid, row.cbeff)) if row else None
    if row is None or parsed is None or parsed.face is None:
        raise ApiError(404, wire.E_RECORD_MISSING, "该边民没有登记照片", f"record {record_id}")
    when = row.captured_at if row.captured_at.tzinfo else row.captured_at.replace(tzinfo=dt.UTC)
    return wire.PortraitAnswer(
        borderer_id=record_id,
        enrollment_uuid=row.uuid,
        captured_at=when,
        jpeg=parsed.face.faces[0].image,
    )


def load_records(
    db: ServiceDatabase, records: Iterable[Mapping[str, Any]], *, chunk: int = 5000
) -> int:
    """Insert records (mappings with the BordererRow fields; ``revision`` is ignored and
    assigned here) in transactions of ``chunk``; returns how many were loaded."""
    fields = [name for name in wire.BORDERER_FIELDS if name != "revision"]
    total = 0
    iterator = iter(records)
    while batch := list(islice(iterator, chunk)):
        with db.write() as conn:
            last = take_revisions(conn, len(batch))
            first = last - len(batch) + 1
            rows = [
                {**{name: record[name] for name in fields}, "revision": first + i}
                for i, record in enumerate(batch)
            ]
            conn.execute(insert(ServerBorderer), rows)
        total += len(batch)
    return total


def update_record(db: ServiceDatabase, record_id: int, **values: Any) -> int:
    """Change fields of one record (as the central system would: 状态, 启用状态 …) and give it
    a new revision so that desks pull the change; returns the revision, 0 if there is no
    such record."""
    unknown = set(values) - set(wire.BORDERER_FIELDS) | {"id", "revision"} & set(values)
    if unknown:
        raise ValueError(f"cannot set {sorted(unknown)}")
    with db.write() as conn:
        found = conn.execute(
            select(ServerBorderer.id).where(ServerBorderer.id == record_id).with_for_update()
        ).first()
        if found is None:
            return 0
        revision = take_revisions(conn)
        conn.execute(
            update(ServerBorderer)
            .where(ServerBorderer.id == record_id)
            .values(**values, revision=revision)
        )
    return revision
