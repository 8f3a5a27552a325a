"""Validation failures → the API's refusals: one ``WireError`` (code, status, Chinese reason).

Used by the service for every ``RequestValidationError`` and by the desk for answers that do
not match the models. The first error decides: a wire code raised by our own field types
(``types``) is kept as it is; the parser's and Pydantic's own error types are mapped to the
nearest wire code. Pure Python, any thread.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bts_desk.sync.wire import limits
from bts_desk.sync.wire.models import ErrorBody, ErrorDetail

M = TypeVar("M", bound=BaseModel)


def _where(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "function-after")]
    return ".".join(parts) or "请求"


def _message(kind: str, loc: tuple[Any, ...], where: str) -> tuple[str, str, int]:
    """(code, Chinese message, status) for one of Pydantic's or the parser's error types."""
    if kind == "json_invalid" or (kind == "missing" and loc == ("body",)):
        return limits.E_BAD_JSON, "请求内容不是有效的 JSON", 400
    if loc and loc[-1] == "uuid":
        return limits.E_BAD_UUID, "补录编号（UUID）格式错误", 400
    if loc and loc[-1] == "finger_no":
        return limits.E_BAD_FINGERS, "指纹编号只能是 1 或 2", 422
    special = {"missing": f"缺少字段 {where}", "extra_forbidden": f"不认识的字段 {where}"}
    if kind in special:
        return limits.E_BAD_FIELD, special[kind], 422
    if loc and loc[0] == "query":
        return limits.E_BAD_FIELD, f"请求参数 {where} 错误", 422
    return limits.E_BAD_FIELD, f"字段 {where} 不符合要求", 422


def wire_error(errors: Sequence[Mapping[str, Any]]) -> limits.WireError:
    """The refusal for Pydantic/FastAPI error dicts (``exc.errors()``); the first decides."""
    if not errors:
        return limits.WireError(limits.E_BAD_FIELD, "请求数据格式错误", "no error details")
    first = errors[0]
    kind = str(first.get("type", ""))
    loc = tuple(first.get("loc", ()))
    where = _where(loc)
    detail = f"{where}: {kind}: {first.get('msg', '')}"[:500]
    if kind in limits.VALIDATION_STATUS:  # raised by our own field types, message included
        message = f"{where}：{first.get('msg', '')}"
        return limits.WireError(kind, message, detail, status=limits.VALIDATION_STATUS[kind])
    code, message, status = _message(kind, loc, where)
    return limits.WireError(code, message, detail, status=status)


def decode(model: type[M], data: bytes | str | object) -> M:
    """``data`` (JSON text or a parsed value) as ``model``; WireError when it does not fit."""
    try:
        if isinstance(data, bytes | str):
            return model.model_validate_json(data)
        return model.model_validate(data)
    except ValidationError as exc:
        raise wire_error(exc.errors(include_url=False, include_input=False)) from None


def error_body(code: str, message: str) -> dict[str, Any]:
    return ErrorBody(detail=ErrorDetail(code=code, message=message)).model_dump()


def decode_error(body: object) -> ErrorDetail | None:
    """The ``{"detail": {"code", "message"}}`` of a refusal, or None if it has another shape."""
    try:
        return ErrorBody.model_validate(body).detail
    except ValidationError:
        return None
