"""Every request and response body of the sync API as a Pydantic model.

The service declares these on its routes (FastAPI validates requests with them and builds
``/openapi.json`` from them); the desk encodes its requests and decodes the answers with
the same classes. Request bodies refuse unknown fields; answers ignore them. Pure Python,
any thread.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, TypeAdapter
from pydantic import with_config as pydantic_config
from typing_extensions import TypedDict

from bts_desk.domain import (
    MAX_EXCEPTION_NOTE,
    BioException,
    EnrollmentDraft,
    ExceptionReason,
    FingerPosition,
    Gender,
    RecordState,
)
from bts_desk.sync.wire import limits
from bts_desk.sync.wire.biometrics import Envelope
from bts_desk.sync.wire.types import (
    LENIENT,
    STRICT,
    Base64,
    Count,
    RecordId,
    Text,
    UtcTime,
    Uuid,
)

T = limits.TEXT_LIMITS

# --- enrollments ------------------------------------------------------------------------------


class EnrollmentBody(BaseModel):
    """``PUT /api/v1/enrollments/{uuid}``: one 补录 (the UUID is in the URL, not here); its
    captures are the records of one CBEFF envelope (``biometrics``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    borderer_id: RecordId
    officer_id: Annotated[str, Text(T["officer_id"], required=True)]
    desk_id: Annotated[str, Text(T["desk_id"], required=True)] = Field(
        description="informational: the service records the desk of the session"
    )
    captured_at: UtcTime
    biometrics: Envelope
    scanner_model: Annotated[str, Text(T["scanner_model"])] = ""
    scanner_serial: Annotated[str, Text(T["scanner_serial"])] = ""
    camera_name: Annotated[str, Text(T["camera_name"])] = ""

    @classmethod
    def from_draft(cls, draft: EnrollmentDraft) -> Self:
        """The body of a draft, its envelope built here (the desk's upload path). Raises
        ``RecordError`` if a capture cannot be recorded."""
        from bts_desk.biometrics.enrollment import envelope_of

        return cls(
            borderer_id=draft.borderer_id,
            officer_id=draft.officer.officer_id,
            desk_id=draft.desk_id,
            captured_at=draft.captured_at.astimezone(dt.UTC),
            biometrics=envelope_of(draft).decode("utf-8"),
            scanner_model=draft.scanner_model,
            scanner_serial=draft.scanner_serial,
            camera_name=draft.camera_name,
        )

    def body_sha256(self) -> str:
        """The idempotency fingerprint: same content → same hash on desk and service, whatever
        the key order, spacing or float spelling of the JSON that carried it. The canonical
        JSON of the body with each bytes field replaced by its own SHA-256.

        Hashed in pieces: the rest of the body as canonical JSON around a placeholder, and the
        envelope (~200 KB) escaped by ``_json_string`` — the same bytes ``json.dumps`` gives,
        several times faster (the service hashes every upload)."""
        fields = _hashable(self.model_dump())
        envelope = fields["biometrics"]
        fields["biometrics"] = _PLACEHOLDER
        canonical = canonical_json(fields)
        if canonical.count(_PLACEHOLDER_JSON) != 1:  # a text field holding the placeholder
            fields["biometrics"] = envelope
            return hashlib.sha256(canonical_json(fields)).hexdigest()
        head, _, tail = canonical.partition(_PLACEHOLDER_JSON)
        digest = hashlib.sha256(head)
        digest.update(_json_string(envelope))
        digest.update(tail)
        return digest.hexdigest()


_PLACEHOLDER = "\x00bts-envelope\x00"
_PLACEHOLDER_JSON = json.dumps(_PLACEHOLDER).encode()
# Bytes json.dumps escapes in an ASCII string (controls, quote, backslash): all others kept.
_JSON_SPECIAL = bytes([*range(0x20), ord('"'), ord("\\")])
_JSON_PLAIN = bytes(b for b in range(128) if b not in _JSON_SPECIAL)
_JSON_SHORT = b'\n"\\'  # the specials of an XML envelope, escaped as \n, \" and \\


def _json_string(text: str) -> bytes:
    """``json.dumps(text, ensure_ascii=False).encode()``: for ASCII text whose only special
    characters are newlines, quotes and backslashes (the XML of an envelope: attributes are
    quoted) by a few C passes over bytes, otherwise by json (~3 times slower)."""
    if text.isascii():
        raw = text.encode("ascii")
        if not raw.translate(None, _JSON_PLAIN).strip(_JSON_SHORT):
            if b"\\" in raw:
                raw = raw.replace(b"\\", b"\\\\")
            if b'"' in raw:
                raw = raw.replace(b'"', b'\\"')
            return b'"' + raw.replace(b"\n", b"\\n") + b'"'
    return json.dumps(text, ensure_ascii=False).encode()


def _hashable(value: Any) -> Any:
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dict):
        return {k: _hashable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_hashable(v) for v in value]
    return value


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys, no spaces, UTF-8)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


ReasonCode = Literal["missing", "damaged", "bandaged", "cannot_pose", "other"]
assert set(ReasonCode.__args__) == {r.value for r in ExceptionReason}  # type: ignore[attr-defined]


class ExceptionEntry(BaseModel):
    """One biometric recorded as impossible to capture (补录 无法采集 / 无法拍照), as the
    enrollment's envelope carried it (its exception entry, ``biometrics``)."""

    model_config = LENIENT

    position: Annotated[StrictInt, Field(ge=0, le=10)] = Field(
        description="ISO/IEC 19794 finger position 1..10; 0 is the face"
    )
    reason: ReasonCode = Field(
        description="missing/damaged/bandaged/other for a finger; bandaged/cannot_pose/other "
        "for the face"
    )
    note: Annotated[StrictStr, Field(max_length=MAX_EXCEPTION_NOTE)] = Field(
        default="", description="the officer's words, only with 'other'"
    )

    @classmethod
    def of(cls, exception: BioException) -> Self:
        position = 0 if exception.position is None else int(exception.position)
        return cls(position=position, reason=exception.reason.value, note=exception.note)  # type: ignore[arg-type]

    def to_domain(self) -> BioException:
        position = None if self.position == 0 else FingerPosition.from_code(self.position)
        return BioException(position, ExceptionReason.from_code(self.reason), self.note)


class EnrollmentAnswer(BaseModel):
    """``GET /api/v1/enrollments/{uuid}``: what the service stored of an enrollment, without
    the biometric records: who, where, when, what was captured and what could not be."""

    model_config = LENIENT

    uuid: StrictStr
    borderer_id: RecordId
    officer_id: StrictStr
    desk_id: StrictStr
    captured_at: UtcTime
    received_at: UtcTime
    has_face: StrictBool
    has_finger: StrictBool
    finger_positions: list[Annotated[StrictInt, Field(ge=1, le=10)]]
    exceptions: list[ExceptionEntry] = Field(default_factory=list, max_length=11)


class BatchItem(BaseModel):
    model_config = STRICT

    uuid: Uuid
    enrollment: EnrollmentBody


class BatchBody(BaseModel):
    """``POST /api/v1/enrollments:batch``: several uploads in one request."""

    model_config = STRICT

    items: list[BatchItem] = Field(max_length=limits.MAX_BATCH_ITEMS)


class PutAnswer(BaseModel):
    model_config = LENIENT

    uuid: StrictStr
    status: Literal["stored", "already_stored"]


class BatchResult(BaseModel):
    """One item of the batch answer: as its own PUT would have answered."""

    model_config = LENIENT

    uuid: StrictStr
    http_status: Annotated[StrictInt, Field(ge=100, le=599)]
    status: Literal["stored", "already_stored", "refused"]
    code: StrictStr = ""
    message: StrictStr = ""


class BatchAnswer(BaseModel):
    model_config = LENIENT

    results: list[BatchResult]


# --- sessions -------------------------------------------------------------------------------


class HealthAnswer(BaseModel):
    model_config = LENIENT

    status: Literal["ok"]
    version: StrictStr


class ChallengeAnswer(BaseModel):
    model_config = LENIENT

    challenge: Annotated[bytes, Base64(limits.CHALLENGE_BYTES, limits.CHALLENGE_BYTES)]
    expires_in: Count


class SessionBody(BaseModel):
    """``POST /api/v1/session``: the card's certificate and its signature of a challenge."""

    model_config = STRICT

    certificate: Annotated[bytes, Base64(1, limits.MAX_CERTIFICATE_BYTES)] = Field(
        description="DER X.509 of the officer card (PIV 9A)"
    )
    challenge: Annotated[bytes, Base64(limits.CHALLENGE_BYTES, limits.CHALLENGE_BYTES)]
    signature: Annotated[bytes, Base64(1, limits.MAX_SIGNATURE_BYTES)] = Field(
        description="the card's signature over the challenge (ECDSA/RSA, SHA-256)"
    )
    desk_id: Annotated[str, Text(T["desk_id"], required=True)]


class OfficerAnswer(BaseModel):
    model_config = LENIENT

    officer_id: StrictStr
    name: StrictStr
    customs_code: StrictStr


class SessionAnswer(BaseModel):
    """An opaque session id (revocable: ``DELETE /api/v1/session``), bound to the officer,
    the desk named at login and the districts (关区) the officer may serve."""

    model_config = LENIENT

    token: StrictStr
    expires_in: Count
    officer: OfficerAnswer
    desk_id: StrictStr = ""
    districts: list[StrictStr] = Field(default_factory=list)


# --- borderer records (pull) -----------------------------------------------------------------

# Every column of bts_desk.store.models.BordererRow, in its order.
BORDERER_FIELDS = (
    "id",
    "customs_code",
    "name",
    "gender",
    "id_number",
    "address",
    "id_valid_from",
    "id_valid_to",
    "state",
    "data_source",
    "valid_to",
    "has_face",
    "has_finger",
    "enabled",
    "synced",
    "last_op_date",
    "revision",
)
GenderCode = Literal["M", "F"]
StateCode = Literal["normal", "suspended", "cancelled"]
assert set(GenderCode.__args__) == {g.value for g in Gender}  # type: ignore[attr-defined]
assert set(StateCode.__args__) == {s.value for s in RecordState}  # type: ignore[attr-defined]


@pydantic_config(STRICT)
class BordererItem(TypedDict):
    """One 边民备案记录 as pulled: a TypedDict, so a decoded page is ready for the desk's bulk
    insert without a model object per record (a desk pulls up to millions)."""

    id: RecordId
    customs_code: Annotated[StrictStr, Field(max_length=8)]
    name: Annotated[StrictStr, Field(max_length=64)]
    gender: GenderCode
    id_number: Annotated[StrictStr, Field(max_length=18)]
    address: Annotated[StrictStr, Field(max_length=200)]
    id_valid_from: dt.date
    id_valid_to: dt.date
    state: StateCode
    data_source: Annotated[StrictStr, Field(max_length=32)]
    valid_to: dt.date
    has_face: StrictBool
    has_finger: StrictBool
    enabled: StrictBool
    synced: StrictBool
    last_op_date: dt.date | None
    revision: Annotated[StrictInt, Field(ge=1, le=limits.MAX_CURSOR)]


class TemplateItem(BaseModel):
    """One enrolled finger's vendor template for 边民核验 at the desk (no image): a record of
    the page that has fingerprints brings those of its latest enrollment."""

    model_config = LENIENT

    borderer_id: RecordId
    position: Annotated[StrictInt, Field(ge=1, le=10)] = Field(
        description="ISO/IEC 19794 finger position code"
    )
    template_format: Annotated[StrictStr, Field(min_length=1, max_length=256)]
    module_family: Annotated[StrictStr, Field(max_length=256)] = ""
    enrollment_uuid: Uuid
    captured_at: UtcTime
    template: Annotated[bytes, Base64(1, limits.MAX_TEMPLATE_BYTES)]


class ExceptionItem(ExceptionEntry):
    """One biometric recorded as impossible to capture in a record's latest enrollment, as
    the pull brings it (详情 at the other desks shows it): the exception entry, with whose
    record and which enrollment it belongs to."""

    borderer_id: RecordId
    enrollment_uuid: Uuid
    captured_at: UtcTime


class PortraitAnswer(BaseModel):
    """``GET /api/v1/borderers/{record_id}/portrait``: the face of the record's latest
    enrollment with one (边民核验, online only: portraits are not pulled to the desks)."""

    model_config = LENIENT

    borderer_id: RecordId
    enrollment_uuid: StrictStr
    captured_at: UtcTime
    jpeg: Annotated[bytes, Base64(1, limits.MAX_JPEG_BYTES)]


class PullPage(BaseModel):
    """``GET /api/v1/borderers``: records with a revision above the cursor, in order, the
    finger templates of those of them that have fingerprints, and the exception entries of
    those whose latest enrollment recorded biometrics as impossible to capture."""

    model_config = LENIENT

    items: list[BordererItem]
    next_cursor: Annotated[StrictInt, Field(ge=0, le=limits.MAX_CURSOR)]
    has_more: StrictBool
    templates: list[TemplateItem] = Field(default_factory=list)
    exceptions: list[ExceptionItem] = Field(default_factory=list)


_PULL_ITEM: TypeAdapter[BordererItem] = TypeAdapter(BordererItem)
_TEMPLATE_ITEMS: TypeAdapter[list[TemplateItem]] = TypeAdapter(list[TemplateItem])
_EXCEPTION_ITEMS: TypeAdapter[list[ExceptionItem]] = TypeAdapter(list[ExceptionItem])
assert tuple(PullPage.model_fields) == (
    "items",
    "next_cursor",
    "has_more",
    "templates",
    "exceptions",
)


def borderer_item_json(item: BordererItem) -> bytes:
    """One ``BordererItem`` as a part of ``pull_page_json``'s items."""
    return _PULL_ITEM.dump_json(item)


def template_items_json(items: list[TemplateItem]) -> bytes:
    """``TemplateItem``s as one part of ``pull_page_json``'s templates (empty: b"")."""
    return _TEMPLATE_ITEMS.dump_json(items)[1:-1]


def pull_page_json(
    items: list[bytes],
    next_cursor: int,
    has_more: bool,
    templates: list[bytes],
    exceptions: list[ExceptionItem] | None = None,
) -> bytes:
    """The JSON of ``PullPage(items, next_cursor, has_more, templates, exceptions)`` — the
    same bytes as its ``model_dump_json()`` — from parts already serialised: each item by
    ``borderer_item_json``, the templates by ``template_items_json`` (empty parts left out).
    The service keeps the parts of each record revision and serves them to every desk that
    pulls it: serialising 1,000 records and 2,000 TemplateItems again for each desk's page
    was a third of its CPU under fleet_bench's load."""
    return b"".join(
        (
            b'{"items":[',
            b",".join(items),
            b'],"next_cursor":%d,"has_more":' % next_cursor,
            b"true" if has_more else b"false",
            b',"templates":[',
            b",".join(part for part in templates if part),
            b'],"exceptions":',
            _EXCEPTION_ITEMS.dump_json(exceptions or []),
            b"}",
        )
    )


# --- errors ------------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    model_config = LENIENT

    code: StrictStr
    message: StrictStr = Field(description="Chinese, safe to show to the officer")


class ErrorBody(BaseModel):
    """Every refusal: ``{"detail": {"code", "message"}}``."""

    model_config = LENIENT

    detail: ErrorDetail
