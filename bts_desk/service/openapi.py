"""What ``/openapi.json`` says about the bodies: response models and request-body schemas.

Request bodies are read raw and checked by ``bts_desk.sync.wire`` (the one validator, shared
with the desk, and the only way to answer every bad body with our own 4xx reason); the JSON
Schemas below only describe them for readers of the OpenAPI document. Responses are small
pydantic models, except the pull page, which is written directly (see ``borderers``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from bts_desk.sync import wire


class HealthOut(BaseModel):
    status: str
    version: str


class ChallengeOut(BaseModel):
    challenge: str  # base64 of 32 random bytes
    expires_in: int


class OfficerOut(BaseModel):
    officer_id: str
    name: str
    customs_code: str


class SessionOut(BaseModel):
    token: str
    expires_in: int
    officer: OfficerOut


class BordererOut(BaseModel):
    id: int
    customs_code: str
    name: str
    gender: str
    id_number: str
    address: str
    id_valid_from: str
    id_valid_to: str
    state: str
    data_source: str
    valid_to: str
    has_face: bool
    has_finger: bool
    enabled: bool
    synced: bool
    last_op_date: str | None
    revision: int


class PullOut(BaseModel):
    items: list[BordererOut]
    next_cursor: int
    has_more: bool


class PutOut(BaseModel):
    uuid: str
    status: str


class BatchResultOut(BaseModel):
    uuid: str
    http_status: int
    status: str
    code: str
    message: str


class BatchOut(BaseModel):
    results: list[BatchResultOut]


class ErrorDetailOut(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    detail: ErrorDetailOut


def _b64(description: str) -> dict[str, Any]:
    return {"type": "string", "format": "byte", "description": description}


SESSION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["certificate", "challenge", "signature", "desk_id"],
    "properties": {
        "certificate": _b64("DER X.509 of the officer card (PIV 9A)"),
        "challenge": _b64("the challenge as received"),
        "signature": _b64("the card's signature over the challenge (ECDSA/RSA, SHA-256)"),
        "desk_id": {"type": "string", "maxLength": wire.TEXT_LIMITS["desk_id"]},
    },
}

FINGER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["finger_no", "template", "image_png"],
    "properties": {
        "finger_no": {"type": "integer", "enum": [1, 2]},
        "template": _b64(f"exactly {wire.TEMPLATE_BYTES} bytes: the R30x char file"),
        "image_png": _b64(f"8-bit PNG, at most {wire.MAX_PNG_BYTES} bytes"),
        "press_quality": {
            "type": "array",
            "maxItems": wire.MAX_PRESSES,
            "items": {"type": "number", "minimum": 0, "maximum": 100},
        },
    },
}

FACE_SCHEMA: dict[str, Any] = {
    "type": ["object", "null"],
    "required": ["jpeg"],
    "properties": {
        "jpeg": _b64(f"JPEG, at most {wire.MAX_JPEG_BYTES} bytes"),
        "quality": {"type": "object", "additionalProperties": {"type": "number"}},
    },
}

ENROLLMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["borderer_id", "officer_id", "desk_id", "captured_at", "fingers"],
    "properties": {
        "borderer_id": {"type": "integer", "minimum": 1},
        "officer_id": {"type": "string", "maxLength": wire.TEXT_LIMITS["officer_id"]},
        "desk_id": {"type": "string", "maxLength": wire.TEXT_LIMITS["desk_id"]},
        "captured_at": {"type": "string", "format": "date-time"},
        "scanner_model": {"type": "string", "maxLength": wire.TEXT_LIMITS["scanner_model"]},
        "scanner_serial": {"type": "string", "maxLength": wire.TEXT_LIMITS["scanner_serial"]},
        "camera_name": {"type": "string", "maxLength": wire.TEXT_LIMITS["camera_name"]},
        "fingers": {"type": "array", "maxItems": 2, "items": FINGER_SCHEMA},
        "face": FACE_SCHEMA,
    },
}

BATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["items"],
    "properties": {
        "items": {
            "type": "array",
            "maxItems": wire.MAX_BATCH_ITEMS,
            "items": {
                "type": "object",
                "required": ["uuid", "enrollment"],
                "properties": {
                    "uuid": {"type": "string", "format": "uuid"},
                    "enrollment": ENROLLMENT_SCHEMA,
                },
            },
        }
    },
}


def request_body(schema: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` of a route whose JSON body is read raw."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` entry documenting our error body for the given statuses."""
    return {status: {"model": ErrorOut} for status in statuses}
