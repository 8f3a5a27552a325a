"""The sync API's wire: one definition shared by the desk client and the sync service.

Pydantic models (``models``, with the biometric payload, one CBEFF envelope, in
``biometrics``) define every request and response body; the service declares them on its
routes, so FastAPI validates with them and generates ``/openapi.json`` from them, and the
desk encodes and decodes with the same classes, so the two sides cannot drift. Limits, paths
and error codes are in ``limits``. Bytes travel as standard base64, times as ISO 8601 with a
UTC offset, enum values as the codes of ``bts_desk.domain``.

API (all JSON; every call except health, the CRL and the two session calls needs
``Authorization: Bearer <token>``):

- ``GET  /api/v1/health`` → ``HealthAnswer``
- ``POST /api/v1/session/challenge`` → ``ChallengeAnswer`` (32 random bytes, 120 s)
- ``POST /api/v1/session`` ``SessionBody`` → ``SessionAnswer``
- ``GET  /api/v1/borderers?cursor=&limit=`` → ``PullPage`` (with the records' finger templates)
- ``GET  /api/v1/borderers/{record_id}/portrait`` → ``PortraitAnswer`` (404 without one)
- ``PUT  /api/v1/enrollments/{uuid}`` ``EnrollmentBody`` → 201 ``PutAnswer`` "stored",
  200 "already_stored", 409 conflicting body under a known UUID
- ``GET  /api/v1/enrollments/{uuid}`` → ``EnrollmentAnswer`` (no biometric records: who,
  when, the fingers captured and the exception entries; 404 unknown, 403 another district)
- ``POST /api/v1/enrollments:batch`` ``BatchBody`` → ``BatchAnswer``: each item is judged
  as its own PUT would be (a body that does not fit the models is refused whole, 422).
- ``POST /api/v1/desk-reports`` ``report.DeskReport`` → ``report.DeskReportAck`` (a desk's
  status for IT's fleet console; 403 for another desk's id)
- Every refusal: 4xx ``ErrorBody`` ``{"detail": {"code", "message"}}`` (Chinese message).

Pure Python, no Qt, no HTTP library: safe on any thread.
"""

from bts_desk.sync.wire.biometrics import ENVELOPE_DESCRIPTION, Envelope
from bts_desk.sync.wire.errors import decode, decode_error, error_body, wire_error
from bts_desk.sync.wire.limits import *  # noqa: F403  (paths, limits, codes, WireError)
from bts_desk.sync.wire.models import (
    BORDERER_FIELDS,
    BatchAnswer,
    BatchBody,
    BatchItem,
    BatchResult,
    BordererItem,
    ChallengeAnswer,
    EnrollmentAnswer,
    EnrollmentBody,
    ErrorBody,
    ErrorDetail,
    ExceptionEntry,
    ExceptionItem,
    HealthAnswer,
    OfficerAnswer,
    PortraitAnswer,
    PullPage,
    PutAnswer,
    SessionAnswer,
    SessionBody,
    TemplateItem,
    borderer_item_json,
    canonical_json,
    pull_page_json,
    template_items_json,
)
from bts_desk.sync.wire.types import b64encode

__all__ = [
    "BORDERER_FIELDS",
    "ENVELOPE_DESCRIPTION",
    "BatchAnswer",
    "BatchBody",
    "BatchItem",
    "BatchResult",
    "BordererItem",
    "ChallengeAnswer",
    "EnrollmentAnswer",
    "EnrollmentBody",
    "Envelope",
    "ErrorBody",
    "ErrorDetail",
    "ExceptionEntry",
    "ExceptionItem",
    "HealthAnswer",
    "OfficerAnswer",
    "PortraitAnswer",
    "PullPage",
    "PutAnswer",
    "SessionAnswer",
    "SessionBody",
    "TemplateItem",
    "b64encode",
    "borderer_item_json",
    "canonical_json",
    "decode",
    "decode_error",
    "error_body",
    "pull_page_json",
    "template_items_json",
    "wire_error",
]
