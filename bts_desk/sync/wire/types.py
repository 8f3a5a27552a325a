"""Field types of the wire models: strict base64, bounded text, finite figures, UTC times.

Each type validates, serializes and describes itself in JSON Schema from the same numbers,
so the OpenAPI document says exactly what the service accepts. A refusal is a
``PydanticCustomError`` whose type is the wire error code (``limits.E_*``) and whose message
is the Chinese reason; ``bts_desk.sync.wire.errors`` turns it into a ``WireError``.
Pure Python, any thread.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictInt,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from bts_desk.sync.wire import limits

# Request bodies refuse unknown fields; answers to the desk ignore them (a newer service may
# add fields without breaking older desks).
STRICT = ConfigDict(extra="forbid", frozen=True)
LENIENT = ConfigDict(extra="ignore", frozen=True)

B64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# Printable text: no control characters (they break logs, CSV exports and PostgreSQL's NUL).
TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
NON_BLANK_PATTERN = r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x1f\x7f]*$"


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64_chars(max_bytes: int) -> int:
    return (max_bytes + 2) // 3 * 4


def _refuse(code: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(code, message)


@dataclass(frozen=True)
class Base64:
    """Metadata making ``Annotated[bytes, Base64(lo, hi)]`` travel as strict standard base64
    (no whitespace, correct padding) of ``lo``..``hi`` bytes.

    Too long → ``too_large`` (413) before decoding; fewer than ``lo`` bytes → ``short_code``.
    Bytes given directly (the desk building a body) get the same size checks."""

    min_bytes: int
    max_bytes: int
    short_code: str = limits.E_BAD_FIELD

    @property
    def pattern(self) -> str:
        """The general pattern, or for an exact size one that fixes the length and padding."""
        if self.min_bytes != self.max_bytes:
            return B64_PATTERN
        full, rest = divmod(self.max_bytes, 3)
        body = f"[A-Za-z0-9+/]{{{4 * full}}}"
        tail = ("", "[A-Za-z0-9+/][AQgw]==", "[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=")[rest]
        return f"^{body}{tail}$"

    def validate(self, value: object) -> bytes:
        if isinstance(value, str):
            if len(value) > b64_chars(self.max_bytes):
                raise _refuse(limits.E_TOO_LARGE, "字段超过大小上限")
            if not re.match(self.pattern, value):
                raise _refuse(limits.E_BAD_BASE64, "字段不是有效的 base64")
            try:
                value = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise _refuse(limits.E_BAD_BASE64, "字段不是有效的 base64") from None
        if not isinstance(value, bytes):
            raise _refuse(limits.E_BAD_FIELD, "字段应为 base64 文本")
        if len(value) > self.max_bytes:
            raise _refuse(limits.E_TOO_LARGE, "字段超过大小上限")
        if len(value) < self.min_bytes:
            raise _refuse(self.short_code, f"字段内容过短（至少 {self.min_bytes} 字节）")
        return value

    def __get_pydantic_core_schema__(
        self, _source: Any, _handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            self.validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                b64encode, return_schema=core_schema.str_schema(), when_used="json"
            ),
        )

    def __get_pydantic_json_schema__(
        self, _schema: core_schema.CoreSchema, _handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "format": "byte",
            "pattern": self.pattern,
            "minLength": b64_chars(self.min_bytes) if self.min_bytes else 0,
            "maxLength": b64_chars(self.max_bytes),
            "description": f"standard base64 of {self.min_bytes}..{self.max_bytes} bytes",
        }


def _printable(value: object) -> object:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from "\ud800" in the JSON
            raise _refuse(limits.E_BAD_FIELD, "文本字段含有无效字符") from None
    return value


@dataclass(frozen=True)
class Text:
    """Metadata for ``Annotated[str, Text(n)]``: printable text of at most ``n`` characters
    (a JSON string, nothing converted to one); ``required``: not blank."""

    max_length: int
    required: bool = False

    def __get_pydantic_core_schema__(
        self, _source: Any, _handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        inner = core_schema.str_schema(
            strict=True,
            max_length=self.max_length,
            min_length=1 if self.required else 0,
            pattern=NON_BLANK_PATTERN if self.required else TEXT_PATTERN,
        )
        return core_schema.no_info_before_validator_function(_printable, inner)


def _number(value: object) -> object:
    """Only JSON numbers (no booleans, no numeric strings, no NaN/Infinity)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _refuse(limits.E_BAD_FIELD, "字段应为数值")
    if not math.isfinite(value):
        raise _refuse(limits.E_BAD_FIELD, "字段应为有限数值")
    return float(value)


Figure = Annotated[float, Field(allow_inf_nan=False), BeforeValidator(_number)]
Percent = Annotated[float, Field(ge=0.0, le=100.0, allow_inf_nan=False), BeforeValidator(_number)]
FigureName = Annotated[str, Field(max_length=limits.MAX_FIGURE_NAME)]


def _utc_time(value: object) -> object:
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str) and len(value) <= 40:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise _refuse(limits.E_BAD_FIELD, "时间格式错误（应为 ISO 8601）") from None
    else:
        raise _refuse(limits.E_BAD_FIELD, "时间应为 ISO 8601 文本")
    if parsed.tzinfo is None:
        raise _refuse(limits.E_BAD_FIELD, "时间缺少时区")
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        raise _refuse(limits.E_BAD_FIELD, "时间超出范围") from None


def _encode_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


UtcTime = Annotated[
    dt.datetime,
    PlainValidator(_utc_time, json_schema_input_type=str),
    PlainSerializer(_encode_time, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time", "maxLength": 40}),
]

Uuid = Annotated[str, Field(strict=True, pattern=UUID_PATTERN)]
RecordId = Annotated[StrictInt, Field(ge=1, le=limits.MAX_RECORD_ID)]
Count = Annotated[StrictInt, Field(ge=0)]
Flag = StrictBool
