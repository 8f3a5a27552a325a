"""Paths, limits, status words and error codes of the sync API, and ``WireError``.

The numbers here are the limits the models (``bts_desk.sync.wire.models``) put into their
JSON Schema and enforce; nothing else checks a body. Pure Python, any thread.
"""

from __future__ import annotations

from bts_desk.errors import SyncError

API_PREFIX = "/api/v1"
PATH_HEALTH = f"{API_PREFIX}/health"
PATH_CHALLENGE = f"{API_PREFIX}/session/challenge"
PATH_SESSION = f"{API_PREFIX}/session"
PATH_BORDERERS = f"{API_PREFIX}/borderers"
PATH_ENROLLMENT = API_PREFIX + "/enrollments/{uuid}"
PATH_PORTRAIT = API_PREFIX + "/borderers/{record_id}/portrait"  # 边民核验: the enrolled face
PATH_ENROLLMENT_BATCH = f"{API_PREFIX}/enrollments:batch"
PATH_CRL = f"{API_PREFIX}/crl"  # the officer CA's CRL, DER (application/pkix-crl), no login
CRL_MEDIA_TYPE = "application/pkix-crl"

CHALLENGE_BYTES = 32
CHALLENGE_TTL_S = 120
TOKEN_TTL_S = 900
MAX_PULL_LIMIT = 5000
DEFAULT_PULL_LIMIT = 1000
MAX_CURSOR = 2**63 - 1  # revisions are BIGINT on the service
MAX_RECORD_ID = 2**63 - 1

# Fingerprint templates: each scanner model has its own size and format (the R30x char file
# is 512 bytes; other modules use other sizes), so only a sane range is enforced.
MIN_TEMPLATE_BYTES = 1
MAX_TEMPLATE_BYTES = 4096
MAX_PNG_BYTES = 2 * 1024 * 1024
MAX_JPEG_BYTES = 4 * 1024 * 1024
MAX_IMAGE_SIDE = 2048  # pixels, either image
MAX_PRESSES = 10
MAX_FACE_FIGURES = 32
MAX_FIGURE_NAME = 64
MAX_CERTIFICATE_BYTES = 16384
MAX_SIGNATURE_BYTES = 1024
MAX_CBEFF_CHARS = 11 * 1024 * 1024  # the envelope's XML text (records inside in base64)
MAX_ENROLLMENT_BODY = 12 * 1024 * 1024  # bytes of JSON: base64 of the limits above + slack
MAX_BATCH_ITEMS = 100
MAX_BATCH_BODY = 64 * 1024 * 1024
MAX_SESSION_BODY = 64 * 1024

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
E_BAD_TEMPLATE = "bad_template"  # 422: template size outside MIN/MAX_TEMPLATE_BYTES
E_BAD_FINGERS = "bad_fingers"  # 422: finger numbers not 1/2, repeated, or no capture at all
E_BAD_IMAGE = "bad_image"  # 422: PNG/JPEG does not decode or has impossible dimensions
E_TOO_LARGE = "too_large"  # 413
E_BAD_UUID = "bad_uuid"  # 400
E_RECORD_MISSING = "record_missing"  # 404
E_ENROLLMENT_MISSING = "enrollment_missing"  # 404: GET of an enrollment the service does not hold
E_RECORD_NOT_NORMAL = "record_not_normal"  # 422: 状态 is not 正常 (or not 已同步海关)
E_CONFLICT = "conflict"  # 409: known UUID, different body
E_OFFICER_MISMATCH = "officer_mismatch"  # 403
E_DISTRICT_FORBIDDEN = "district_forbidden"  # 403: record outside the token's districts
E_NO_TOKEN = "no_token"  # 401
E_BAD_TOKEN = "bad_token"  # 401
E_TOKEN_EXPIRED = "token_expired"  # 401
E_BAD_CHALLENGE = "bad_challenge"  # 401: unknown or already used
E_CHALLENGE_EXPIRED = "challenge_expired"  # 401
E_BAD_SIGNATURE = "bad_signature"  # 401
E_BAD_CERTIFICATE = "bad_certificate"  # 401: unreadable, untrusted CA, expired
E_TOO_MANY = "too_many_requests"  # 429
E_NO_CRL = "no_crl"  # 404: the service publishes no CRL
E_UNAVAILABLE = "unavailable"  # 503: the service database is down; retry later
E_DISCONNECTED = "disconnected"  # 400: the desk went away mid-body (nobody reads the answer)
E_INTERNAL = "internal"  # 500: never on purpose

# The HTTP status of each validation code (the others carry their status where raised).
VALIDATION_STATUS = {
    E_BAD_JSON: 400,
    E_BAD_UUID: 400,
    E_TOO_LARGE: 413,
    E_BAD_FIELD: 422,
    E_BAD_BASE64: 422,
    E_BAD_TEMPLATE: 422,
    E_BAD_FINGERS: 422,
}


class WireError(SyncError):
    """A body that does not follow the wire models.

    ``code`` is one of the ``E_*`` codes and ``status`` the HTTP status the service answers
    with; ``user_message`` is the Chinese reason. On the desk, a response that fails to decode
    is a misbehaving service: retryable (the default), the outbox tries again later."""

    def __init__(
        self, code: str, user_message: str, detail: str = "", *, status: int = 422
    ) -> None:
        super().__init__(user_message, detail or f"{code}: {user_message}", retryable=True)
        self.code = code
        self.status = status
