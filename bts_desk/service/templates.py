"""Vendor finger templates for the pull (边民核验 at the desks), kept apart from the envelope.

A record that has fingerprints brings, in every pull page that holds it, the vendor templates
of its latest enrollment with fingers (``wire.TemplateItem``). Reading them from the sealed
CBEFF envelope means fetching about 200 KB per record and parsing it again with every image
decoded (about 6 ms of CPU each): a page of 1,000 freshly enrolled records then took seconds,
and a fleet whose desks pull every few minutes kept the service busy with nothing else.

So the upload, which has just parsed the envelope, also stores its templates
(``template_row``): one row per enrollment in ``enrollment_templates``, a JSON list of
``{position, template_format, module_family, template}`` sealed with the service key
(field ``templates``; ``payloads.rotate_key`` rewraps it with the envelopes). ``templates_of``
reads those rows; an enrollment without one (stored before this table existed, or a row
that does not open) is served from its envelope as before, so no template is ever lost.

Every desk of a district pulls the same changed records, so each worker also keeps the
``wire.TemplateItem``s of the last ``CACHE_ENROLLMENTS`` enrollments it served (an
enrollment's templates never change; a key rotation changes only their wrapping): opening and
validating them once per worker instead of once per desk and pull was 80 of the ~100 ms of
CPU a page of 1,000 enrolled records cost. Bounded, in memory only, per process.
Blocking (SQL, AES-GCM): worker threads only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import weakref
from collections import OrderedDict
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Connection, String, any_, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY

from bts_desk.biometrics import cbeff
from bts_desk.biometrics.errors import RecordError
from bts_desk.errors import StoreError
from bts_desk.service.models import ServerEnrollment, ServerEnvelope, ServerTemplates
from bts_desk.service.payloads import open_envelope
from bts_desk.service.vault import Vault, field_aad
from bts_desk.sync import wire

log = logging.getLogger(__name__)

FIELD = "templates"
CACHE_ENROLLMENTS = 20_000  # about 50 MB per worker
K = TypeVar("K")
V = TypeVar("V")


class ServedCache(Generic[K, V]):
    """What this process served recently, least recently used dropped first (thread-safe).
    Only for values that never change for their key."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        _caches.add(self)

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def get_many(self, keys: list[K]) -> list[V | None]:
        """``get`` of each key, under one acquisition of the lock."""
        with self._lock:
            found = [self._items.get(key) for key in keys]
            for key, value in zip(keys, found, strict=True):
                if value is not None:
                    self._items.move_to_end(key)
            return found

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)


_caches: weakref.WeakSet[ServedCache[Any, Any]] = weakref.WeakSet()
# An enrollment's serialised TemplateItems (``wire.template_items_json``).
_served: ServedCache[str, bytes] = ServedCache(CACHE_ENROLLMENTS)


def forget_served() -> None:
    """Empty this process's caches (tests that change stored rows behind the service)."""
    for cache in _caches:
        cache.clear()


def _blocks(parsed: cbeff.ParsedEnvelope) -> list[dict[str, Any]]:
    out = []
    for position, block in sorted(parsed.vendor.items()):
        product = block.product
        out.append(
            {
                "position": int(position),
                "template_format": product.type if product else "",
                "module_family": product.organization if product else "",
                "template": wire.b64encode(block.data),
            }
        )
    return out


def template_row(vault: Vault, uuid: str, parsed: cbeff.ParsedEnvelope) -> dict[str, Any]:
    """The ``enrollment_templates`` row of a stored enrollment (an empty list without vendor
    blocks: the row says so, and the pull does not go to the envelope to find out)."""
    plain = json.dumps(_blocks(parsed), separators=(",", ":")).encode()
    return {"enrollment_uuid": uuid, "templates": vault.seal(plain, field_aad(uuid, FIELD))}


def templates_of(conn: Connection, vault: Vault, record_ids: list[int]) -> dict[int, bytes]:
    """The ``wire.TemplateItem``s of the latest enrollment with fingers of each record, in
    finger position order: one ``wire.template_items_json`` part per record (for
    ``wire.pull_page_json``); a record whose templates cannot be read now is left out."""
    latest: dict[int, tuple[str, dt.datetime]] = {}
    for uuid, record_id, captured_at in conn.execute(
        select(ServerEnrollment.uuid, ServerEnrollment.borderer_id, ServerEnrollment.captured_at)
        .where(among(ServerEnrollment.borderer_id, record_ids, conn), ServerEnrollment.has_finger)
        .order_by(
            ServerEnrollment.borderer_id,
            ServerEnrollment.captured_at.desc(),
            ServerEnrollment.received_at.desc(),
        )
    ):
        latest.setdefault(record_id, (uuid, captured_at))
    if not latest:
        return {}
    cached = {uuid: _served.get(uuid) for uuid, _ in latest.values()}
    uuids = [uuid for uuid, items in cached.items() if items is None]
    sealed: dict[str, bytes] = (
        {
            uuid: blob
            for uuid, blob in conn.execute(
                select(ServerTemplates.enrollment_uuid, ServerTemplates.templates).where(
                    among(ServerTemplates.enrollment_uuid, uuids, conn)
                )
            )
        }
        if uuids
        else {}
    )
    out: dict[int, bytes] = {}
    for record_id, (uuid, captured_at) in latest.items():
        items = cached[uuid]
        if items is None:
            blocks = _opened(vault, uuid, sealed.get(uuid))
            if blocks is None:
                blocks = _from_envelope(conn, vault, uuid)
            if blocks is None:  # logged; tried again at the next pull
                continue
            when = captured_at if captured_at.tzinfo else captured_at.replace(tzinfo=dt.UTC)
            stamp = when.astimezone(dt.UTC).isoformat()
            items = wire.template_items_json(
                [
                    wire.TemplateItem.model_validate(
                        {
                            **b,
                            "borderer_id": record_id,
                            "enrollment_uuid": uuid,
                            "captured_at": stamp,
                        }
                    )
                    for b in blocks
                ]
            )
            _served.put(uuid, items)
        out[record_id] = items
    return out


def among(column: Any, values: list[int] | list[str], conn: Connection) -> ColumnElement[bool]:
    """``column IN values`` with the values as one parameter, whatever their number: on
    PostgreSQL ``column = ANY(array)``, on SQLite ``column IN (SELECT value FROM
    json_each(array))``. A plain ``IN`` of a page's thousand ids made SQLAlchemy coerce and
    render a thousand placeholders for every statement (a quarter of the pull's CPU on SQLite)
    and psycopg parse such a statement anew each time (12% of the service's CPU under
    fleet_bench's load)."""
    if conn.dialect.name == "postgresql":
        return column == any_(literal(values, ARRAY(column.type)))  # type: ignore[no-any-return]
    listed = func.json_each(literal(json.dumps(values), String)).table_valued("value")
    return column.in_(select(listed.c.value))  # type: ignore[no-any-return]


def _opened(vault: Vault, uuid: str, blob: bytes | None) -> list[dict[str, Any]] | None:
    if blob is None:
        return None
    try:
        blocks: list[dict[str, Any]] = json.loads(vault.open(blob, field_aad(uuid, FIELD)))
    except (StoreError, ValueError) as exc:
        log.error("templates row of enrollment %s unusable, read from its envelope: %s", uuid, exc)
        return None
    return blocks


def _from_envelope(conn: Connection, vault: Vault, uuid: str) -> list[dict[str, Any]] | None:
    """The slow path: open and parse the enrollment's envelope (older rows); None when it
    cannot be read."""
    blob = conn.execute(
        select(ServerEnvelope.cbeff).where(ServerEnvelope.enrollment_uuid == uuid)
    ).scalar_one_or_none()
    if blob is None:
        log.error("templates of enrollment %s left out of the pull: no envelope", uuid)
        return None
    try:
        return _blocks(cbeff.parse(open_envelope(vault, uuid, blob)))
    except (StoreError, RecordError) as exc:
        log.error("templates of enrollment %s left out of the pull: %s", uuid, exc)
        return None
