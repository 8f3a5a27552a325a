"""Borderer records on the service: the incremental pull and loading records in bulk.

``pull_page`` answers ``GET /api/v1/borderers``: the records whose revision is above the
cursor, in revision order, at most ``limit``; the JSON (the shape of ``wire.PullPage``) is
built here with Core rows and ``json.dumps`` (no per-row model objects, no FastAPI encoder)
because a desk pulls up to a million records. Records of the page that have fingerprints
bring the vendor templates of their latest enrollment with fingers (``wire.TemplateItem``:
finger position, format, module family; no image), read from its sealed envelope, so a desk
can verify its districts' borderers offline (边民核验). ``load_records`` gives every record a fresh
revision from one reserved block, so a pull brings them all. Blocking: call from a worker thread.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Mapping
from itertools import islice
from typing import Any

from sqlalchemy import Connection, insert, select, update

from bts_desk.biometrics import cbeff
from bts_desk.biometrics.errors import RecordError
from bts_desk.errors import StoreError
from bts_desk.service.database import ServiceDatabase, take_revisions
from bts_desk.service.models import ServerBorderer, ServerEnrollment, ServerEnvelope
from bts_desk.service.payloads import open_envelope
from bts_desk.service.vault import Vault
from bts_desk.sync import wire

log = logging.getLogger(__name__)

_COLUMNS = [getattr(ServerBorderer, name) for name in wire.BORDERER_FIELDS]
_DATE_FIELDS = ("id_valid_from", "id_valid_to", "valid_to", "last_op_date")
_BOOL_FIELDS = ("has_face", "has_finger", "enabled", "synced")


def _item(row: Mapping[Any, Any]) -> dict[str, Any]:
    """One pulled item (``wire.BordererItem``) from a row with the BordererRow fields."""
    item = {name: row[name] for name in wire.BORDERER_FIELDS}
    for name in _DATE_FIELDS:
        value = item[name]
        item[name] = None if value is None else value.isoformat()
    for name in _BOOL_FIELDS:
        item[name] = bool(item[name])
    return item


def pull_page(
    db: ServiceDatabase,
    cursor: int,
    limit: int,
    districts: Iterable[str],
    vault: Vault | None = None,
) -> bytes:
    """The JSON bytes of one page: ``{"items", "next_cursor", "has_more", "templates"}``,
    records of ``districts`` only (the session's grant); templates only with a ``vault``."""
    with db.read() as conn:
        rows = conn.execute(
            select(*_COLUMNS)
            .where(
                ServerBorderer.revision > cursor,
                ServerBorderer.customs_code.in_(sorted(districts)),
            )
            .order_by(ServerBorderer.revision)
            .limit(limit + 1)
        ).all()
        has_more = len(rows) > limit
        rows = rows[:limit]
        enrolled = [row.id for row in rows if row.has_finger]
        templates = _templates(conn, vault, enrolled) if vault and enrolled else []
    items = [_item(row._mapping) for row in rows]
    next_cursor = rows[-1].revision if rows else cursor
    page = {"items": items, "next_cursor": next_cursor, "has_more": has_more}
    page["templates"] = templates
    return json.dumps(page, ensure_ascii=False, separators=(",", ":")).encode()


def _templates(conn: Connection, vault: Vault, record_ids: list[int]) -> list[dict[str, Any]]:
    """``wire.TemplateItem``s of the latest enrollment with fingers of each record."""
    rows = conn.execute(
        select(
            ServerEnrollment.uuid,
            ServerEnrollment.borderer_id,
            ServerEnrollment.captured_at,
            ServerEnvelope.cbeff,
        )
        .join(ServerEnvelope, ServerEnvelope.enrollment_uuid == ServerEnrollment.uuid)
        .where(ServerEnrollment.borderer_id.in_(record_ids), ServerEnrollment.has_finger)
        .order_by(
            ServerEnrollment.borderer_id,
            ServerEnrollment.captured_at.desc(),
            ServerEnrollment.received_at.desc(),
        )
    ).all()
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    for uuid, record_id, captured_at, sealed in rows:
        if record_id in seen:
            continue
        seen.add(record_id)
        try:
            parsed = cbeff.parse(open_envelope(vault, uuid, sealed))
        except (StoreError, RecordError) as exc:
            log.error("templates of enrollment %s left out of the pull: %s", uuid, exc)
            continue
        when = captured_at if captured_at.tzinfo else captured_at.replace(tzinfo=dt.UTC)
        for position, block in sorted(parsed.vendor.items()):
            product = block.product
            out.append(
                {
                    "borderer_id": record_id,
                    "position": int(position),
                    "template_format": product.type if product else "",
                    "module_family": product.organization if product else "",
                    "enrollment_uuid": uuid,
                    "captured_at": when.astimezone(dt.UTC).isoformat(),
                    "template": wire.b64encode(block.data),
                }
            )
    return out


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
