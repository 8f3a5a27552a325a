"""The sync API's wire format, shared by the desk client and the reference sync service.

One place for the paths, the limits and the JSON shape of every body, so that both sides
encode and check the same way (the desk may run ``decode_enrollment`` on what it is about to
send; the service runs it on everything it receives). Bytes travel as standard base64, dates
and times as ISO 8601 (times always with a UTC offset), enum values as the codes of
``bts_desk.domain``.

API (all JSON; every call except health and the two session calls needs
``Authorization: Bearer <token>``):

- ``GET  /api/v1/health`` → ``{"status": "ok", "version"}``
- ``POST /api/v1/session/challenge`` → ``{"challenge": b64(32 bytes), "expires_in": 120}``
- ``POST /api/v1/session`` ``{"certificate", "challenge", "signature", "desk_id"}`` →
  ``{"token", "expires_in": 900, "officer": {"officer_id", "name", "customs_code"}}``
- ``GET  /api/v1/borderers?cursor=&limit=`` → ``{"items", "next_cursor", "has_more"}``
- ``PUT  /api/v1/enrollments/{uuid}`` (enrollment body) → 201 ``{"uuid", "status": "stored"}``,
  200 ``{"uuid", "status": "already_stored"}``, 409 conflicting body under a known UUID
- ``POST /api/v1/enrollments:batch`` ``{"items": [{"uuid", "enrollment"}]}`` →
  ``{"results": [{"uuid", "http_status", "status", "code", "message"}]}``: each item is judged
  exactly as its own PUT would be (``status`` "stored"/"already_stored" or "refused" with the
  PUT's ``code``/``message``/``http_status``), all in one request.
- Every refusal: 4xx ``{"detail": {"code", "message"}}`` (``message`` Chinese, safe to show).

Pure Python, no Qt, no HTTP library: safe on any thread.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import math
import re
import uuid as uuid_mod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bts_desk.domain import EnrollmentDraft, FaceCapture, FingerCapture, Gender, RecordState
from bts_desk.errors import SyncError

API_PREFIX = "/api/v1"
PATH_HEALTH = f"{API_PREFIX}/health"
PATH_CHALLENGE = f"{API_PREFIX}/session/challenge"
PATH_SESSION = f"{API_PREFIX}/session"
PATH_BORDERERS = f"{API_PREFIX}/borderers"
PATH_ENROLLMENT = API_PREFIX + "/enrollments/{uuid}"
PATH_ENROLLMENT_BATCH = f"{API_PREFIX}/enrollments:batch"

CHALLENGE_BYTES = 32
CHALLENGE_TTL_S = 120
TOKEN_TTL_S = 900
MAX_PULL_LIMIT = 5000
DEFAULT_PULL_LIMIT = 1000

FINGER_SENSOR_FIELDS = ("width", "height", "bits_per_pixel", "dpi")  # ints from the driver
MAX_TEMPLATE_BYTES = 4096  # any scanner family's template: 1..4096 bytes (its size is the driver's)
MAX_PNG_BYTES = 2 * 1024 * 1024
MAX_JPEG_BYTES = 4 * 1024 * 1024
MAX_IMAGE_SIDE = 2048  # pixels, either image
MAX_PRESSES = 10
MAX_FACE_FIGURES = 32
MAX_ENROLLMENT_BODY = 12 * 1024 * 1024  # bytes of JSON: base64 of the limits above + slack
MAX_BATCH_ITEMS = 100
MAX_BATCH_BODY = 64 * 1024 * 1024

# Text limits: the desk store's column widths (bts_desk.store.models.EnrollmentRow).
TEXT_LIMITS = {
    "officer_id": 32,
    "desk_id": 64,
    "scanner_model": 64,
    "scanner_serial": 64,
    "camera_name": 128,
}

STATUS_STORED = "stored"
STATUS_ALREADY_STORED = "already_stored"
STATUS_REFUSED = "refused"  # batch results only

# Error codes in ``{"detail": {"code", "message"}}``; the HTTP status goes with the code.
E_BAD_JSON = "bad_json"  # 400
E_BAD_FIELD = "bad_field"  # 422: a missing/ill-typed/out-of-range field
E_BAD_BASE64 = "bad_base64"  # 422
E_BAD_TEMPLATE = "bad_template"  # 422: template empty or over MAX_TEMPLATE_BYTES
E_BAD_FINGERS = "bad_fingers"  # 422: finger numbers not 1/2, repeated, or no capture at all
E_BAD_IMAGE = "bad_image"  # 422: PNG/JPEG does not decode or has impossible dimensions
E_TOO_LARGE = "too_large"  # 413
E_BAD_UUID = "bad_uuid"  # 400
E_RECORD_MISSING = "record_missing"  # 404
E_RECORD_NOT_NORMAL = "record_not_normal"  # 422: 状态 is not 正常 (or not 已同步海关)
E_CONFLICT = "conflict"  # 409: known UUID, different body
E_OFFICER_MISMATCH = "officer_mismatch"  # 403
E_NO_TOKEN = "no_token"  # 401
E_BAD_TOKEN = "bad_token"  # 401
E_TOKEN_EXPIRED = "token_expired"  # 401
E_BAD_CHALLENGE = "bad_challenge"  # 401: unknown or already used
E_CHALLENGE_EXPIRED = "challenge_expired"  # 401
E_BAD_SIGNATURE = "bad_signature"  # 401
E_BAD_CERTIFICATE = "bad_certificate"  # 401: unreadable, untrusted CA, expired
E_UNAVAILABLE = "unavailable"  # 503: the service database is down; retry later
E_DISCONNECTED = "disconnected"  # 400: the desk went away mid-body (nobody reads the answer)
E_INTERNAL = "internal"  # 500: never on purpose


class WireError(SyncError):
    """A body that does not follow this module's format.

    ``code`` is one of the ``E_*`` codes and ``status`` the HTTP status the service answers
    with; ``user_message`` is the Chinese reason. On the desk, a response that fails to decode
    is a misbehaving service: retryable (the default), the outbox tries again later."""

    def __init__(
        self, code: str, user_message: str, detail: str = "", *, status: int = 422
    ) -> None:
        super().__init__(user_message, detail or f"{code}: {user_message}", retryable=True)
        self.code = code
        self.status = status


# --- primitives ---------------------------------------------------------------------------

_B64_RE = re.compile(rb"^[A-Za-z0-9+/]*={0,2}$")


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(value: object, name: str, *, max_bytes: int | None = None) -> bytes:
    """Strict standard base64 (no whitespace, correct padding). Raises WireError."""
    if not isinstance(value, str):
        raise WireError(E_BAD_FIELD, f"字段 {name} 应为 base64 文本", f"{name}: not a string")
    raw = value.encode("ascii", errors="replace")
    if max_bytes is not None and len(raw) > (max_bytes + 2) // 3 * 4:
        raise WireError(
            E_TOO_LARGE, f"字段 {name} 超过大小上限", f"{name}: > {max_bytes} bytes", status=413
        )
    if len(raw) % 4 or not _B64_RE.match(raw):
        raise WireError(E_BAD_BASE64, f"字段 {name} 不是有效的 base64", f"{name}: bad base64")
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WireError(E_BAD_BASE64, f"字段 {name} 不是有效的 base64", f"{name}: {exc}") from exc
    if max_bytes is not None and len(data) > max_bytes:
        raise WireError(
            E_TOO_LARGE, f"字段 {name} 超过大小上限", f"{name}: > {max_bytes} bytes", status=413
        )
    return data


def encode_datetime(value: dt.datetime) -> str:
    """ISO 8601 in UTC; a naive value is taken as the machine's local time."""
    return value.astimezone(dt.UTC).isoformat()


def decode_datetime(value: object, name: str) -> dt.datetime:
    """An ISO 8601 time that carries its UTC offset (naive times are refused)."""
    if not isinstance(value, str) or len(value) > 40:
        raise WireError(E_BAD_FIELD, f"字段 {name} 应为 ISO 8601 时间", f"{name}: not a string")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise WireError(E_BAD_FIELD, f"字段 {name} 时间格式错误", f"{name}: {exc}") from exc
    if parsed.tzinfo is None:
        raise WireError(E_BAD_FIELD, f"字段 {name} 缺少时区", f"{name}: naive datetime")
    return parsed.astimezone(dt.UTC)


def decode_date(value: object, name: str) -> dt.date:
    if not isinstance(value, str):
        raise WireError(E_BAD_FIELD, f"字段 {name} 应为日期", f"{name}: not a string")
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise WireError(E_BAD_FIELD, f"字段 {name} 日期格式错误", f"{name}: {exc}") from exc


def _text(body: Mapping[str, Any], name: str, limit: int, *, required: bool = True) -> str:
    value = body.get(name, None if required else "")
    if not isinstance(value, str):
        raise WireError(E_BAD_FIELD, f"缺少字段 {name} 或类型错误", f"{name}: not a string")
    if len(value) > limit:
        raise WireError(E_BAD_FIELD, f"字段 {name} 过长", f"{name}: longer than {limit}")
    if required and not value.strip():
        raise WireError(E_BAD_FIELD, f"字段 {name} 不能为空", f"{name}: empty")
    return value


def _int(body: Mapping[str, Any], name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise WireError(E_BAD_FIELD, f"缺少字段 {name} 或类型错误", f"{name}: not an integer")
    return value


def _figure(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise WireError(E_BAD_FIELD, f"字段 {name} 应为数值", f"{name}: not a finite number")
    return float(value)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes) -> Any:
    """JSON text → Python value; WireError(bad_json, 400) for anything else."""
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WireError(
            E_BAD_JSON, "请求内容不是有效的 JSON", f"bad JSON: {exc}", status=400
        ) from exc


def check_uuid(value: str) -> str:
    """The canonical lower-case form of a UUID; WireError(bad_uuid, 400) otherwise."""
    try:
        parsed = uuid_mod.UUID(value)
    except (ValueError, AttributeError, TypeError) as exc:
        raise WireError(
            E_BAD_UUID, "补录编号（UUID）格式错误", f"bad uuid {value!r}", status=400
        ) from exc
    if str(parsed) != value.lower():
        raise WireError(
            E_BAD_UUID, "补录编号（UUID）格式错误", f"non-canonical uuid {value!r}", status=400
        )
    return str(parsed)


# --- enrollments --------------------------------------------------------------------------


@dataclass(frozen=True)
class WireEnrollment:
    """An enrollment body as it travels (the UUID is in the URL, not in the body)."""

    borderer_id: int
    officer_id: str
    desk_id: str
    captured_at: dt.datetime
    fingers: tuple[FingerCapture, ...]  # the domain's captures travel as they are
    face: FaceCapture | None = None
    scanner_model: str = ""
    scanner_serial: str = ""
    camera_name: str = ""

    @property
    def has_finger(self) -> bool:
        return bool(self.fingers)

    @property
    def has_face(self) -> bool:
        return self.face is not None


def enrollment_from_draft(draft: EnrollmentDraft) -> WireEnrollment:
    return WireEnrollment(
        borderer_id=draft.borderer_id,
        officer_id=draft.officer.officer_id,
        desk_id=draft.desk_id,
        captured_at=draft.captured_at,
        fingers=draft.fingers,
        face=draft.face,
        scanner_model=draft.scanner_model,
        scanner_serial=draft.scanner_serial,
        camera_name=draft.camera_name,
    )


def encode_enrollment(enrollment: WireEnrollment | EnrollmentDraft) -> dict[str, Any]:
    """The JSON body of ``PUT /api/v1/enrollments/{uuid}``."""
    if isinstance(enrollment, EnrollmentDraft):
        enrollment = enrollment_from_draft(enrollment)
    return _enrollment_json(enrollment, b64encode)


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _enrollment_json(enrollment: WireEnrollment, blob: Callable[[bytes], str]) -> dict[str, Any]:
    """The body's JSON structure with every bytes field rendered by ``blob``."""
    face = enrollment.face
    return {
        "borderer_id": enrollment.borderer_id,
        "officer_id": enrollment.officer_id,
        "desk_id": enrollment.desk_id,
        "captured_at": encode_datetime(enrollment.captured_at),
        "scanner_model": enrollment.scanner_model,
        "scanner_serial": enrollment.scanner_serial,
        "camera_name": enrollment.camera_name,
        "fingers": [
            {
                "finger_no": f.finger_no,
                "template": blob(f.template),
                "image_png": blob(f.image_png),
                "press_quality": [float(q) for q in f.press_quality],
                **{k: getattr(f, k) for k in FINGER_SENSOR_FIELDS},
                "template_format": f.template_format,
            }
            for f in enrollment.fingers
        ],
        "face": None
        if face is None
        else {
            "jpeg": blob(face.jpeg),
            "quality": {k: float(v) for k, v in face.quality.items()},
        },
    }


def decode_enrollment(body: object) -> WireEnrollment:
    """Check a decoded JSON body field by field; WireError with the first problem found.

    Checks structure, types, text lengths, base64, byte sizes, the template length and the
    finger numbers. Whether the images decode is checked by the service (it has the codecs)."""
    if not isinstance(body, dict):
        raise WireError(E_BAD_FIELD, "补录数据应为 JSON 对象", "enrollment body: not an object")
    borderer_id = _int(body, "borderer_id")
    if borderer_id <= 0:
        raise WireError(E_BAD_FIELD, "边民记录编号无效", f"borderer_id {borderer_id}")
    fingers_raw = body.get("fingers")
    if not isinstance(fingers_raw, list):
        raise WireError(E_BAD_FIELD, "缺少字段 fingers 或类型错误", "fingers: not a list")
    fingers = tuple(_decode_finger(item, i) for i, item in enumerate(fingers_raw))
    numbers = [f.finger_no for f in fingers]
    if len(set(numbers)) != len(numbers):
        raise WireError(E_BAD_FINGERS, "指纹编号重复", f"finger numbers {numbers}")
    face_raw = body.get("face")
    face = None if face_raw is None else _decode_face(face_raw)
    if not fingers and face is None:
        raise WireError(E_BAD_FINGERS, "补录数据中既没有指纹也没有人脸", "no finger and no face")
    return WireEnrollment(
        borderer_id=borderer_id,
        officer_id=_text(body, "officer_id", TEXT_LIMITS["officer_id"]),
        desk_id=_text(body, "desk_id", TEXT_LIMITS["desk_id"]),
        captured_at=decode_datetime(body.get("captured_at"), "captured_at"),
        fingers=fingers,
        face=face,
        scanner_model=_text(body, "scanner_model", TEXT_LIMITS["scanner_model"], required=False),
        scanner_serial=_text(body, "scanner_serial", TEXT_LIMITS["scanner_serial"], required=False),
        camera_name=_text(body, "camera_name", TEXT_LIMITS["camera_name"], required=False),
    )


def _decode_finger(item: object, index: int) -> FingerCapture:
    name = f"fingers[{index}]"
    if not isinstance(item, dict):
        raise WireError(E_BAD_FIELD, f"字段 {name} 应为对象", f"{name}: not an object")
    finger_no = item.get("finger_no")
    if finger_no not in (1, 2) or isinstance(finger_no, bool):
        raise WireError(E_BAD_FINGERS, "指纹编号只能是 1 或 2", f"{name}.finger_no {finger_no!r}")
    template = b64decode(item.get("template"), f"{name}.template", max_bytes=2 * MAX_TEMPLATE_BYTES)
    if not 0 < len(template) <= MAX_TEMPLATE_BYTES:
        raise WireError(
            E_BAD_TEMPLATE,
            f"指纹模板长度应为 1 到 {MAX_TEMPLATE_BYTES} 字节",
            f"{name}.template: {len(template)} bytes",
        )
    image = b64decode(item.get("image_png"), f"{name}.image_png", max_bytes=MAX_PNG_BYTES)
    presses = item.get("press_quality", [])
    if not isinstance(presses, list) or len(presses) > MAX_PRESSES:
        raise WireError(E_BAD_FIELD, "按压质量数据格式错误", f"{name}.press_quality")
    quality = tuple(_figure(q, f"{name}.press_quality") for q in presses)
    if any(not 0.0 <= q <= 100.0 for q in quality):
        raise WireError(E_BAD_FIELD, "按压质量应在 0 到 100 之间", f"{name}.press_quality range")
    sensor = {}
    for key in FINGER_SENSOR_FIELDS:  # optional: 0 when the desk's driver did not say
        value = item.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
            raise WireError(E_BAD_FIELD, "指纹图像参数格式错误", f"{name}.{key}: {value!r}")
        sensor[key] = value
    template_format = item.get("template_format", "")
    if not isinstance(template_format, str) or len(template_format) > 64:
        raise WireError(E_BAD_FIELD, "指纹模板格式名称错误", f"{name}.template_format")
    return FingerCapture(
        finger_no, template, image, quality, **sensor, template_format=template_format
    )


def _decode_face(item: object) -> FaceCapture:
    if not isinstance(item, dict):
        raise WireError(E_BAD_FIELD, "字段 face 应为对象或 null", "face: not an object")
    jpeg = b64decode(item.get("jpeg"), "face.jpeg", max_bytes=MAX_JPEG_BYTES)
    quality_raw = item.get("quality", {})
    if not isinstance(quality_raw, dict) or len(quality_raw) > MAX_FACE_FIGURES:
        raise WireError(E_BAD_FIELD, "人脸质量数据格式错误", "face.quality")
    quality: dict[str, float] = {}
    for key, value in quality_raw.items():
        if len(key) > 64:
            raise WireError(E_BAD_FIELD, "人脸质量数据格式错误", "face.quality key too long")
        quality[key] = _figure(value, f"face.quality.{key}")
    return FaceCapture(jpeg, quality)


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys, no spaces, UTF-8)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def enrollment_body_sha256(enrollment: WireEnrollment) -> str:
    """The idempotency fingerprint of a body: same content → same hash on desk and service,
    whatever the key order, spacing or float spelling of the JSON that carried it.

    The canonical JSON of the body with each bytes field replaced by its own SHA-256 (hashing
    the bytes directly is cheaper than base64-encoding them again)."""
    return _sha256_hex(canonical_json(_enrollment_json(enrollment, _sha256_hex)))


# --- borderer records (pull) --------------------------------------------------------------

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
_DATE_FIELDS = ("id_valid_from", "id_valid_to", "valid_to", "last_op_date")
_BOOL_FIELDS = ("has_face", "has_finger", "enabled", "synced")


def encode_borderer(row: Mapping[Any, Any]) -> dict[str, Any]:
    """One pulled item from a mapping with the BordererRow fields (dates as date objects)."""
    item = {name: row[name] for name in BORDERER_FIELDS}
    for name in _DATE_FIELDS:
        value = item[name]
        item[name] = None if value is None else value.isoformat()
    for name in _BOOL_FIELDS:
        item[name] = bool(item[name])
    return item


_STR_FIELDS = ("customs_code", "name", "id_number", "address", "data_source")
_CODES = {"gender": {g.value for g in Gender}, "state": {s.value for s in RecordState}}


def _bad_item(what: str) -> WireError:
    return WireError(E_BAD_FIELD, "同步数据格式错误", f"borderer item: {what}")


def decode_borderer(item: object) -> dict[str, Any]:
    """One pulled item → the keyword arguments of a BordererRow (dates as date objects)."""
    if not isinstance(item, dict):
        raise _bad_item("not an object")
    missing = [name for name in BORDERER_FIELDS if name not in item]
    if missing:
        raise _bad_item(f"lacks {missing}")
    out: dict[str, Any] = {name: item[name] for name in BORDERER_FIELDS}
    for name in _DATE_FIELDS:
        if out[name] is not None or name != "last_op_date":
            out[name] = decode_date(out[name], name)
    bad = [n for n in _BOOL_FIELDS if not isinstance(out[n], bool)]
    bad += [n for n in ("id", "revision") if type(out[n]) is not int]
    bad += [n for n in _STR_FIELDS if not isinstance(out[n], str)]
    bad += [n for n, codes in _CODES.items() if out[n] not in codes]
    if bad:
        raise _bad_item(f"bad {bad}")
    return out


@dataclass(frozen=True)
class PullPage:
    items: list[dict[str, Any]]  # decode_borderer() of each item
    next_cursor: int
    has_more: bool


def decode_pull_page(body: object) -> PullPage:
    """``GET /api/v1/borderers`` response → PullPage; WireError if malformed."""
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise WireError(E_BAD_FIELD, "同步数据格式错误", "pull page: no items list")
    cursor, more = body.get("next_cursor"), body.get("has_more")
    if isinstance(cursor, bool) or not isinstance(cursor, int) or not isinstance(more, bool):
        raise WireError(E_BAD_FIELD, "同步数据格式错误", "pull page: bad next_cursor/has_more")
    return PullPage([decode_borderer(i) for i in body["items"]], cursor, more)


# --- sessions, results, errors --------------------------------------------------------------


def encode_session_request(
    certificate_der: bytes, challenge: bytes, signature: bytes, desk_id: str
) -> dict[str, str]:
    return {
        "certificate": b64encode(certificate_der),
        "challenge": b64encode(challenge),
        "signature": b64encode(signature),
        "desk_id": desk_id,
    }


@dataclass(frozen=True)
class SessionRequest:
    certificate_der: bytes = field(repr=False)
    challenge: bytes = field(repr=False)
    signature: bytes = field(repr=False)
    desk_id: str


def decode_session_request(body: object) -> SessionRequest:
    if not isinstance(body, dict):
        raise WireError(E_BAD_FIELD, "登录请求格式错误", "session body: not an object")
    return SessionRequest(
        certificate_der=b64decode(body.get("certificate"), "certificate", max_bytes=16384),
        challenge=b64decode(body.get("challenge"), "challenge", max_bytes=CHALLENGE_BYTES),
        signature=b64decode(body.get("signature"), "signature", max_bytes=1024),
        desk_id=_text(body, "desk_id", TEXT_LIMITS["desk_id"]),
    )


@dataclass(frozen=True)
class ErrorDetail:
    code: str
    message: str


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"detail": {"code": code, "message": message}}


def decode_error(body: object) -> ErrorDetail | None:
    """The ``{"detail": {"code", "message"}}`` of a refusal, or None if it has another shape."""
    if isinstance(body, dict):
        detail = body.get("detail")
        if isinstance(detail, dict):
            code, message = detail.get("code"), detail.get("message")
            if isinstance(code, str) and isinstance(message, str):
                return ErrorDetail(code, message)
    return None


@dataclass(frozen=True)
class BatchResult:
    """One item of ``POST /api/v1/enrollments:batch``: as its own PUT would have answered."""

    uuid: str
    http_status: int
    status: str  # STATUS_STORED / STATUS_ALREADY_STORED / STATUS_REFUSED
    code: str = ""
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "http_status": self.http_status,
            "status": self.status,
            "code": self.code,
            "message": self.message,
        }


def encode_batch(items: Sequence[tuple[str, WireEnrollment | EnrollmentDraft]]) -> dict[str, Any]:
    return {"items": [{"uuid": u, "enrollment": encode_enrollment(e)} for u, e in items]}


def decode_batch_results(body: object) -> list[BatchResult]:
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise WireError(E_BAD_FIELD, "服务器应答格式错误", "batch response: no results list")
    results = []
    for item in body["results"]:
        if not isinstance(item, dict):
            raise WireError(E_BAD_FIELD, "服务器应答格式错误", "batch result: not an object")
        uuid, status, code = item.get("uuid"), item.get("status"), item.get("http_status")
        if not isinstance(uuid, str) or not isinstance(status, str) or not isinstance(code, int):
            raise WireError(E_BAD_FIELD, "服务器应答格式错误", "batch result: bad fields")
        results.append(
            BatchResult(uuid, code, status, str(item.get("code", "")), str(item.get("message", "")))
        )
    return results
