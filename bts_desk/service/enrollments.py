"""Storing uploaded enrollments: validation, idempotency by UUID + body hash, record flags.

``EnrollmentService.put_many`` judges a list of uploads exactly as each
``PUT /api/v1/enrollments/{uuid}`` would answer it (``put`` is the one-item case; the batch
endpoint passes its whole list). Order of the checks for each item:

1. (done by FastAPI before this module is reached) the UUID and the body fit the wire
   models (``wire.EnrollmentBody``);
2. its ``officer_id`` is the token's officer — 403;
3. a known UUID is answered from what is stored: same body hash → 200 already stored,
   another hash → 409 (before the record checks, so a retry stays "already stored" even if
   the record was suspended meanwhile);
4. the CBEFF envelope parses, every record in it with strict bounds (``bts_desk.biometrics``:
   format identifiers, lengths, dimensions, positions, counts; each image decodes) and it is
   this enrollment's (its index is the UUID) — 422 with the record's own code;
5. in the write transaction: the record exists (404), belongs to a district the session
   may serve (403 ``district_forbidden``) and is 正常 and 已同步海关 (422); the
   enrollment and its payload are inserted, with its exception entries (补录 无法采集 /
   无法拍照: an upload of exceptions only passes exactly these checks, and its envelope must
   account for a finger and the face), and at the end the records' 生物标识 are set from
   what was captured and their revisions bumped, so the next pull brings the change to every
   desk. The log line of each stored enrollment names officer, desk and the exception codes.

Steps 1–4 run outside the transaction (CPU only, the write lock is not held meanwhile). All
items of one call share one transaction — one commit, one fsync, which is what makes batch
uploads fast. No savepoint: every item is judged before anything is inserted, so a refused
item writes nothing, and the enrollment rows go in with ``INSERT … ON CONFLICT (uuid) DO
NOTHING RETURNING uuid``, so a UUID already there is skipped rather than aborting the
transaction (a savepoint and its release were two round trips of every upload). Records are
locked in ascending id order and the revision counter last (see ``models``), so concurrent
writers cannot deadlock. Two uploads of the same UUID at once: the second insert finds the
first's row (PostgreSQL makes it wait until the first commits; SQLite's BEGIN IMMEDIATE
serialises them), inserts nothing, and is then answered as in step 3 from the stored hash;
so is the second item of one UUID in one batch. Blocking: call from a worker thread.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Insert, Table, bindparam, insert, select, update

from bts_desk.biometrics import cbeff
from bts_desk.biometrics.errors import RecordError, RecordErrorCode
from bts_desk.domain import RecordState
from bts_desk.service.database import ServiceDatabase, dialect_insert, take_revisions
from bts_desk.service.errors import ApiError
from bts_desk.service.metrics import count_uploads
from bts_desk.service.models import (
    ServerBase,
    ServerBorderer,
    ServerEnrollment,
    ServerEnvelope,
    ServerException,
    ServerFace,
    ServerFinger,
    ServerTemplates,
)
from bts_desk.service.sessions import Clock, TokenClaims
from bts_desk.service.templates import template_row
from bts_desk.service.vault import Vault, field_aad
from bts_desk.sync import wire

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PutResult:
    http_status: int  # 201 stored, 200 already stored
    status: str


Outcome = PutResult | ApiError

STORED = PutResult(201, wire.STATUS_STORED)
ALREADY_STORED = PutResult(200, wire.STATUS_ALREADY_STORED)


@dataclass(frozen=True)
class _Prepared:
    index: int
    uuid: str
    digest: str
    enrollment: wire.EnrollmentBody
    envelope: bytes = b""
    parsed: cbeff.ParsedEnvelope | None = None

    @property
    def has_finger(self) -> bool:
        return bool(self.parsed and self.parsed.fingers)

    @property
    def has_face(self) -> bool:
        return bool(self.parsed and self.parsed.face)


def _judge_known(uuid: str, digest: str, stored: str | None) -> PutResult | None:
    if stored is None:
        return None
    if stored != digest:
        raise ApiError(
            409,
            wire.E_CONFLICT,
            "该补录编号已有不同内容的数据，不能覆盖",
            f"enrollment {uuid} exists with another body",
        )
    return ALREADY_STORED


def _table(model: type[ServerBase]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


# The statements of an upload, built once: constructing them per call, and the result
# metadata SQLAlchemy adapts for every new statement object, cost more CPU than executing them.
_ENROLLMENT = _table(ServerEnrollment)
_RECORD = _table(ServerBorderer)
_DIGEST_OF = select(_ENROLLMENT.c.body_sha256).where(_ENROLLMENT.c.uuid == bindparam("uuid"))
_DIGESTS_OF = select(_ENROLLMENT.c.uuid, _ENROLLMENT.c.body_sha256).where(
    _ENROLLMENT.c.uuid.in_(bindparam("uuids", expanding=True))
)
_LOCKED = select(
    _RECORD.c.id,
    _RECORD.c.state,
    _RECORD.c.synced,
    _RECORD.c.customs_code,
    _RECORD.c.has_face,
    _RECORD.c.has_finger,
).with_for_update()
_LOCK_ONE = _LOCKED.where(_RECORD.c.id == bindparam("id"))
_LOCK_MANY = _LOCKED.where(_RECORD.c.id.in_(bindparam("ids", expanding=True))).order_by(
    _RECORD.c.id
)
# A UUID that is already there (a concurrent upload of it committed meanwhile — PostgreSQL
# waits for that transaction — or an earlier item of this batch) inserts nothing and is left
# out of RETURNING: no error, so no savepoint is needed to carry on after it. Any other
# integrity error still raises and rolls back the whole transaction.
_INSERT_ENROLLMENT: dict[str, Insert] = {
    dialect: dialect_insert(dialect, _ENROLLMENT)
    .on_conflict_do_nothing(index_elements=[_ENROLLMENT.c.uuid])
    .returning(_ENROLLMENT.c.uuid)
    for dialect in ("postgresql", "sqlite")
}
_INSERT_ENVELOPE = insert(_table(ServerEnvelope))
_INSERT_FINGER = insert(_table(ServerFinger))
_INSERT_EXCEPTION = insert(_table(ServerException))
_INSERT_FACE = insert(_table(ServerFace))
_INSERT_TEMPLATES = insert(_table(ServerTemplates))
_BUMP_RECORD = (
    update(_RECORD)
    .where(_RECORD.c.id == bindparam("record_id"))
    .values(
        has_face=bindparam("face"),
        has_finger=bindparam("finger"),
        last_op_date=bindparam("today"),
        revision=bindparam("new_revision"),
    )
)


class EnrollmentService:
    def __init__(self, db: ServiceDatabase, clock: Clock, vault: Vault) -> None:
        self._db = db
        self._clock = clock
        self._vault = vault

    def put(self, uuid: str, body: wire.EnrollmentBody, officer: TokenClaims) -> PutResult:
        """Judge and store one upload; ApiError (4xx) for a refusal."""
        outcome = self.put_many([(uuid, body)], officer)[0]
        if isinstance(outcome, ApiError):
            raise outcome
        return outcome

    def put_many(
        self, items: Sequence[tuple[str, wire.EnrollmentBody]], officer: TokenClaims
    ) -> list[Outcome]:
        """One outcome per item, in order: a PutResult or the ApiError refusing it."""
        outcomes: list[Outcome | None] = [None] * len(items)
        decoded: list[_Prepared] = []
        for index, (uuid, body) in enumerate(items):
            try:
                decoded.append(_decode(index, uuid, body, officer))
            except ApiError as exc:
                outcomes[index] = exc
        stored = self._stored_digests([p.uuid for p in decoded])
        prepared: list[_Prepared] = []
        for item in decoded:
            try:
                known = _judge_known(item.uuid, item.digest, stored.get(item.uuid))
                if known is None:
                    prepared.append(_parse_envelope(item))
                else:
                    outcomes[item.index] = known
            except ApiError as exc:
                outcomes[item.index] = exc
        if prepared:
            prepared.sort(key=lambda p: (p.enrollment.borderer_id, p.index))
            with self._db.write() as conn:
                _Writer(conn, self._clock(), officer, self._vault).store_all(prepared, outcomes)
        final = [o for o in outcomes if o is not None]
        assert len(final) == len(items)
        count_uploads(final)
        return final

    def _stored_digests(self, uuids: list[str]) -> dict[str, str]:
        if not uuids:
            return {}
        with self._db.lookup() as conn:
            return _digests(conn, uuids)


def _digests(conn: Connection, uuids: list[str]) -> dict[str, str]:
    """The stored body hash of each of these UUIDs that is stored."""
    if len(uuids) == 1:
        digest = conn.execute(_DIGEST_OF, {"uuid": uuids[0]}).scalar_one_or_none()
        return {} if digest is None else {uuids[0]: digest}
    rows = conn.execute(_DIGESTS_OF, {"uuids": sorted(set(uuids))})
    return {uuid: digest for uuid, digest in rows}


def _decode(
    index: int, uuid: str, enrollment: wire.EnrollmentBody, officer: TokenClaims
) -> _Prepared:
    """Step 2: the officer; ApiError otherwise."""
    if enrollment.officer_id != officer.officer_id:
        raise ApiError(
            403,
            wire.E_OFFICER_MISMATCH,
            "不能以其他关员的名义上传补录数据",
            f"token of {officer.officer_id} uploads {uuid} for {enrollment.officer_id}",
        )
    return _Prepared(index, uuid.lower(), enrollment.body_sha256(), enrollment)


def _parse_envelope(item: _Prepared) -> _Prepared:
    """Step 4: the envelope and every record in it; ApiError(422, the record's code)."""
    data = item.enrollment.biometrics.encode("utf-8")
    try:
        parsed = cbeff.parse(data)
        if parsed.envelope.index != item.uuid:
            raise RecordError(
                RecordErrorCode.CBEFF_INCONSISTENT,
                f"envelope index {parsed.envelope.index} in the upload of {item.uuid}",
            )
    except RecordError as exc:
        raise ApiError(422, exc.code.value, exc.user_message, exc.detail) from exc
    return dataclasses.replace(item, envelope=data, parsed=parsed)


class _Writer:
    """One write transaction storing prepared uploads (see the module docstring).

    ``store_all`` judges every item against one locked read of its records, inserts the
    enrollment rows of the accepted ones with one statement that skips a UUID already there
    (``_INSERT_ENROLLMENT``), answers the skipped ones as in step 3 from the stored hash, and
    inserts the rest of the stored ones with one ``executemany`` per table: a handful of
    statements per batch, not a dozen per item, and no savepoint."""

    def __init__(
        self, conn: Connection, now: dt.datetime, officer: TokenClaims, vault: Vault
    ) -> None:
        self._conn = conn
        self._now = now
        self._officer = officer
        self._vault = vault
        self._flags: dict[int, tuple[bool, bool]] = {}  # record id → (has_face, has_finger)

    def store_all(self, prepared: list[_Prepared], outcomes: list[Outcome | None]) -> None:
        records = self._lock_records(sorted({p.enrollment.borderer_id for p in prepared}))
        accepted: list[_Prepared] = []
        flags = dict(self._flags)
        for item in prepared:
            try:
                flags[item.enrollment.borderer_id] = self._judge(item, records, flags)
            except ApiError as exc:
                outcomes[item.index] = exc
                continue
            accepted.append(item)
        if not accepted:
            return
        stored = self._insert_enrollments(accepted, outcomes)
        if not stored:
            return
        flags = dict(self._flags)  # again, from the stored items only (the checks passed)
        for item in stored:
            flags[item.enrollment.borderer_id] = self._judge(item, records, flags)
        self._insert_rest(stored)
        self._flags = flags
        for item in stored:
            outcomes[item.index] = STORED
            self._log_stored(item)
        self._bump_records()

    def _insert_enrollments(
        self, items: list[_Prepared], outcomes: list[Outcome | None]
    ) -> list[_Prepared]:
        """Insert the enrollment rows; the items stored, in order. An item whose UUID was
        there already (stored meanwhile, or an earlier item of the batch) gets step 3's
        answer from the stored hash."""
        statement = _INSERT_ENROLLMENT[self._conn.dialect.name]
        rows = [self._enrollment_row(item) for item in items]
        inserted = set(self._conn.execute(statement, rows[0] if len(rows) == 1 else rows).scalars())
        stored: list[_Prepared] = []
        known: list[_Prepared] = []
        for item in items:
            if item.uuid in inserted:
                inserted.discard(item.uuid)  # a second item of the same UUID is not this row
                stored.append(item)
            else:
                known.append(item)
        digests = _digests(self._conn, [item.uuid for item in known]) if known else {}
        for item in known:
            if item.uuid not in digests:  # skipped, yet not there: deleted meanwhile
                outcomes[item.index] = ApiError(
                    503,
                    wire.E_UNAVAILABLE,
                    "同步服务数据库暂时不可用，请稍后重试",
                    f"enrollment {item.uuid} conflicted with a row that is gone",
                )
                continue
            try:
                outcomes[item.index] = _judge_known(item.uuid, item.digest, digests[item.uuid])
            except ApiError as exc:
                outcomes[item.index] = exc
        return stored

    def _log_stored(self, item: _Prepared) -> None:
        log.info(
            "stored enrollment %s of record %s by %s at desk %s; exceptions: %s",
            item.uuid,
            item.enrollment.borderer_id,
            self._officer.officer_id,
            self._officer.desk_id,
            _exception_summary(item),
        )

    def _lock_records(self, ids: list[int]) -> dict[int, Any]:
        """The records of the batch, locked in ascending id order (see the module doc)."""
        if len(ids) == 1:
            rows = self._conn.execute(_LOCK_ONE, {"id": ids[0]})
        else:
            rows = self._conn.execute(_LOCK_MANY, {"ids": ids})
        return {row.id: row for row in rows}  # Row: state, synced, customs_code, flags

    def _judge(
        self,
        item: _Prepared,
        records: dict[int, Any],
        flags: dict[int, tuple[bool, bool]],
    ) -> tuple[bool, bool]:
        """Step 5's record checks; the record's new (has_face, has_finger) if accepted."""
        enrollment = item.enrollment
        record = records.get(enrollment.borderer_id)
        if record is None:
            raise ApiError(
                404,
                wire.E_RECORD_MISSING,
                "边民备案记录不存在",
                f"record {enrollment.borderer_id} not found",
            )
        if record.customs_code not in self._officer.districts:
            raise ApiError(
                403,
                wire.E_DISTRICT_FORBIDDEN,
                "该记录不属于本关员可办理的关区",
                f"record {enrollment.borderer_id} of district {record.customs_code}, "
                f"token grants {sorted(self._officer.districts)}",
            )
        if record.state != RecordState.NORMAL or not record.synced:
            raise ApiError(
                422,
                wire.E_RECORD_NOT_NORMAL,
                "只有状态为正常且已同步海关的记录才能补录",
                f"record {enrollment.borderer_id} is {record.state}, synced={record.synced}",
            )
        face, finger = flags.get(enrollment.borderer_id, (record.has_face, record.has_finger))
        return face or item.has_face, finger or item.has_finger

    def _enrollment_row(self, item: _Prepared) -> dict[str, Any]:
        e, parsed = item.enrollment, item.parsed
        assert parsed is not None
        return {
            "uuid": item.uuid,
            "body_sha256": item.digest,
            "borderer_id": e.borderer_id,
            "officer_id": self._officer.officer_id,
            "officer_name": self._officer.name,
            "desk_id": self._officer.desk_id,  # the session's desk, not the body's
            "captured_at": e.captured_at,
            "received_at": self._now,
            "scanner_model": e.scanner_model,
            "scanner_serial": e.scanner_serial,
            "camera_name": e.camera_name,
            "has_face": item.has_face,
            "has_finger": item.has_finger,
            "finger_positions": ",".join(str(int(p)) for p in parsed.fingers),
        }

    def _insert_rest(self, items: list[_Prepared]) -> None:
        """The stored enrollments' sealed envelopes, fingers, exceptions, faces and
        templates: one statement per table."""
        envelopes: list[dict[str, Any]] = []
        fingers: list[dict[str, Any]] = []
        exceptions: list[dict[str, Any]] = []
        faces: list[dict[str, Any]] = []
        templates: list[dict[str, Any]] = []
        for item in items:
            uuid, parsed = item.uuid, item.parsed
            assert parsed is not None
            # Biometrics at rest: the envelope sealed with the service key (see ``vault``).
            sealed = self._vault.seal(item.envelope, field_aad(uuid, "cbeff"))
            envelopes.append({"enrollment_uuid": uuid, "cbeff": sealed})
            templates.append(template_row(self._vault, uuid, parsed))  # what pulls serve
            fingers += _finger_rows(uuid, parsed)
            exceptions += [
                {
                    "enrollment_uuid": uuid,
                    "position": 0 if x.position is None else int(x.position),
                    "reason": x.reason.value,
                    "note": x.note,
                }
                for x in parsed.exceptions
            ]
            if parsed.face is not None:
                face = parsed.face.faces[0]
                faces.append(
                    {
                        "enrollment_uuid": uuid,
                        "image_type": int(face.image_type),
                        "width": face.width,
                        "height": face.height,
                    }
                )
        for statement, rows in (
            (_INSERT_ENVELOPE, envelopes),
            (_INSERT_FINGER, fingers),
            (_INSERT_EXCEPTION, exceptions),
            (_INSERT_FACE, faces),
            (_INSERT_TEMPLATES, templates),
        ):
            if rows:
                self._conn.execute(statement, rows[0] if len(rows) == 1 else rows)

    def _bump_records(self) -> None:
        """New 生物标识, 最近操作日期 and revision of every record that got an enrollment."""
        if not self._flags:
            return
        last = take_revisions(self._conn, len(self._flags))
        first = last - len(self._flags) + 1
        today = _local_date(self._now)
        rows = [
            {
                "record_id": record_id,
                "face": face,
                "finger": finger,
                "today": today,
                "new_revision": first + i,
            }
            for i, (record_id, (face, finger)) in enumerate(sorted(self._flags.items()))
        ]
        self._conn.execute(_BUMP_RECORD, rows[0] if len(rows) == 1 else rows)


def _finger_rows(uuid: str, parsed: cbeff.ParsedEnvelope) -> list[dict[str, object]]:
    quality = {
        b.position: b.quality.score
        for b in parsed.envelope.blocks
        if b.kind is cbeff.BlockKind.FINGER_IMAGE and b.quality is not None
    }
    rows: list[dict[str, object]] = []
    for position, record in parsed.fingers.items():
        view = record.views[0]
        vendor = parsed.vendor.get(position)
        product = vendor.product if vendor is not None else None
        rows.append(
            {
                "enrollment_uuid": uuid,
                "position": int(position),
                "width": view.width,
                "height": view.height,
                "resolution_ppi": record.resolution,
                "quality": quality.get(position),
                "module_family": product.organization if product else "",
                "template_format": product.type if product else "",
            }
        )
    return rows


def _exception_summary(item: _Prepared) -> str:
    """``7:bandaged,face:other`` (codes only, never the text of 其他) or ``none``."""
    exceptions = item.parsed.exceptions if item.parsed else ()
    return (
        ",".join(
            f"{'face' if x.position is None else int(x.position)}:{x.reason.value}"
            for x in exceptions
        )
        or "none"
    )


def _local_date(now: dt.datetime) -> dt.date:
    """最近操作日期 is a calendar date at the border: China Standard Time (UTC+8)."""
    return now.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
