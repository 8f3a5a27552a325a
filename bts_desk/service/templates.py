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
Blocking (SQL, AES-GCM): worker threads only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from sqlalchemy import Connection, select

from bts_desk.biometrics import cbeff
from bts_desk.biometrics.errors import RecordError
from bts_desk.errors import StoreError
from bts_desk.service.models import ServerEnrollment, ServerEnvelope, ServerTemplates
from bts_desk.service.payloads import open_envelope
from bts_desk.service.vault import Vault, field_aad
from bts_desk.sync import wire

log = logging.getLogger(__name__)

FIELD = "templates"


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


def template_row(vault: Vault, uuid: str, parsed: cbeff.ParsedEnvelope) -> dict[str, Any] | None:
    """The ``enrollment_templates`` row of a stored enrollment; None without vendor blocks."""
    if not parsed.vendor:
        return None
    plain = json.dumps(_blocks(parsed), separators=(",", ":")).encode()
    return {"enrollment_uuid": uuid, "templates": vault.seal(plain, field_aad(uuid, FIELD))}


def templates_of(conn: Connection, vault: Vault, record_ids: list[int]) -> list[wire.TemplateItem]:
    """The ``wire.TemplateItem``s of the latest enrollment with fingers of each record, in
    record order, then finger position."""
    latest: dict[int, tuple[str, dt.datetime]] = {}
    for uuid, record_id, captured_at in conn.execute(
        select(ServerEnrollment.uuid, ServerEnrollment.borderer_id, ServerEnrollment.captured_at)
        .where(ServerEnrollment.borderer_id.in_(record_ids), ServerEnrollment.has_finger)
        .order_by(
            ServerEnrollment.borderer_id,
            ServerEnrollment.captured_at.desc(),
            ServerEnrollment.received_at.desc(),
        )
    ):
        latest.setdefault(record_id, (uuid, captured_at))
    if not latest:
        return []
    uuids = [uuid for uuid, _ in latest.values()]
    sealed: dict[str, bytes] = {
        uuid: blob
        for uuid, blob in conn.execute(
            select(ServerTemplates.enrollment_uuid, ServerTemplates.templates).where(
                ServerTemplates.enrollment_uuid.in_(uuids)
            )
        )
    }
    out: list[wire.TemplateItem] = []
    for record_id, (uuid, captured_at) in sorted(latest.items()):
        blocks = _opened(vault, uuid, sealed.get(uuid))
        if blocks is None:
            blocks = _from_envelope(conn, vault, uuid)
        when = captured_at if captured_at.tzinfo else captured_at.replace(tzinfo=dt.UTC)
        stamp = when.astimezone(dt.UTC).isoformat()
        out += [
            wire.TemplateItem.model_validate(
                {**block, "borderer_id": record_id, "enrollment_uuid": uuid, "captured_at": stamp}
            )
            for block in blocks
        ]
    return out


def _opened(vault: Vault, uuid: str, blob: bytes | None) -> list[dict[str, Any]] | None:
    if blob is None:
        return None
    try:
        blocks: list[dict[str, Any]] = json.loads(vault.open(blob, field_aad(uuid, FIELD)))
    except (StoreError, ValueError) as exc:
        log.error("templates row of enrollment %s unusable, read from its envelope: %s", uuid, exc)
        return None
    return blocks


def _from_envelope(conn: Connection, vault: Vault, uuid: str) -> list[dict[str, Any]]:
    """The slow path: open and parse the enrollment's envelope (older rows)."""
    blob = conn.execute(
        select(ServerEnvelope.cbeff).where(ServerEnvelope.enrollment_uuid == uuid)
    ).scalar_one_or_none()
    if blob is None:
        return []
    try:
        return _blocks(cbeff.parse(open_envelope(vault, uuid, blob)))
    except (StoreError, RecordError) as exc:
        log.error("templates of enrollment %s left out of the pull: %s", uuid, exc)
        return []
