"""The biometric payload of an enrollment on the wire: one CBEFF envelope.

Every capture of a 补录 travels inside one ISO/IEC 19785-3 XML envelope (``bts_desk.biometrics
.cbeff``): per finger an ISO/IEC 19794-4:2005 finger image record and the module's template as
a labelled vendor block, and the portrait as an ISO/IEC 19794-5:2005 face image record. On the
wire it is a JSON string holding the XML text (the records inside are base64, so the string
needs no other escaping). The desk makes it from the draft (``bts_desk.biometrics.enrollment``);
the service parses every record in it with strict bounds before storing anything. Kept apart
from the enrollment body (``models.EnrollmentBody``) so that the payload can change without
touching the rest of the API. Pure Python, any thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from bts_desk.biometrics import cbeff
from bts_desk.domain import MAX_EXCEPTION_NOTE
from bts_desk.sync.wire import limits

ENVELOPE_DESCRIPTION = (
    "The enrollment's CBEFF envelope (ISO/IEC 19785-3 XML patron format, namespace "
    f"{cbeff.NAMESPACE}) as XML text: a root BIR whose BIRInfo/Index is the enrollment UUID, "
    "and one child BIR per biometric data block. BDBInfo/Format gives the block's registered "
    f"format: owner {cbeff.ISO_SC37_OWNER} (ISO/IEC JTC 1/SC 37) with type "
    f"{cbeff.FORMAT_FINGER_IMAGE} (ISO/IEC 19794-4:2005 finger image record, one finger view, "
    "BDBInfo/Subtype its finger position such as 'Right IndexFinger') or type "
    f"{cbeff.FORMAT_FACE_IMAGE} (ISO/IEC 19794-5:2005 face image record, JPEG), or the "
    f"unregistered owner '{cbeff.VENDOR_FORMAT_OWNER}' with type "
    f"'{cbeff.VENDOR_FORMAT_TYPE}': the scanner module's own template, BDBInfo/Product naming "
    "the module family (Organization) and template format (Type). BDBInfo also carries "
    "CreationDate, Type (Finger/Face), Level, CaptureDevice, Purpose (Enroll) and Quality "
    "(0..100 with its algorithm). BDB is the record in standard base64. A biometric that could "
    "not be captured is an exception entry: owner "
    f"'{cbeff.VENDOR_FORMAT_OWNER}', type '{cbeff.EXCEPTION_FORMAT_TYPE}', Type Finger (with "
    "its Subtype) or Face, Level Raw, and as BDB the base64 of the UTF-8 JSON "
    '{"note": "...", "reason": "<code>"}: for a finger missing, damaged, bandaged or other, '
    "for the face bandaged, cannot_pose or other; note (at most "
    f"{MAX_EXCEPTION_NOTE} printable characters) only and always with other. At least one "
    "finger or face record, or exception entries for a finger and the face. Every record is parsed "
    "by the service; a malformed one is refused 422 with a code such as fir.truncated, "
    "fac.field_out_of_range, image.dimensions_mismatch, cbeff.unknown_format or "
    "cbeff.exception_invalid."
)


@dataclass(frozen=True)
class CbeffXml:
    """Metadata for ``Annotated[str, CbeffXml()]``: XML text of at most
    ``limits.MAX_CBEFF_CHARS`` characters (too long → ``too_large``, 413). Its structure is
    checked by ``cbeff.parse`` in the service, where each refusal has its own code."""

    def validate(self, value: object) -> str:
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                raise PydanticCustomError(limits.E_BAD_FIELD, "生物特征数据包不是 UTF-8") from None
        if not isinstance(value, str):
            raise PydanticCustomError(limits.E_BAD_FIELD, "生物特征数据包应为 XML 文本")
        if len(value) > limits.MAX_CBEFF_CHARS:
            raise PydanticCustomError(limits.E_TOO_LARGE, "生物特征数据包超过大小上限")
        if not value.startswith("<"):
            raise PydanticCustomError(limits.E_BAD_FIELD, "生物特征数据包应为 XML 文本")
        return value

    def __get_pydantic_core_schema__(
        self, _source: Any, _handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            self.validate, serialization=core_schema.str_schema()
        )

    def __get_pydantic_json_schema__(
        self, _schema: core_schema.CoreSchema, _handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "contentMediaType": "application/xml",
            "minLength": 1,
            "maxLength": limits.MAX_CBEFF_CHARS,
            "description": ENVELOPE_DESCRIPTION,
        }


Envelope = Annotated[str, CbeffXml()]
