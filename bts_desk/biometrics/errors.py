"""The records layer's one error type, with a precise code per refusal.

A ``RecordError`` says which rule of which format a record broke (``code``, e.g.
``fir.truncated``), where (``detail``: field and offset, never the biometric bytes), and gives
the officer or the desk's operator a safe Chinese ``user_message``. The service answers it as
``{"detail": {"code", "message"}}``. Pure Python; any thread.
"""

from __future__ import annotations

import enum

from bts_desk.errors import DeskError


class RecordErrorCode(enum.StrEnum):
    """Why a record was refused. Prefixes: ``fir`` ISO/IEC 19794-4, ``fac`` 19794-5,
    ``image`` the embedded image, ``cbeff`` the envelope."""

    # shared by both binary formats
    FIR_TRUNCATED = "fir.truncated"
    FIR_OVERSIZED = "fir.oversized"
    FIR_FORMAT = "fir.format_identifier"
    FIR_VERSION = "fir.version"
    FIR_LENGTH = "fir.length_mismatch"
    FIR_FIELD = "fir.field_out_of_range"
    FIR_RESERVED = "fir.reserved_not_zero"
    FIR_INCONSISTENT = "fir.inconsistent"
    FIR_COMPRESSION = "fir.compression_unsupported"
    FAC_TRUNCATED = "fac.truncated"
    FAC_OVERSIZED = "fac.oversized"
    FAC_FORMAT = "fac.format_identifier"
    FAC_VERSION = "fac.version"
    FAC_LENGTH = "fac.length_mismatch"
    FAC_FIELD = "fac.field_out_of_range"
    FAC_RESERVED = "fac.reserved_not_zero"
    FAC_INCONSISTENT = "fac.inconsistent"
    IMAGE_CORRUPT = "image.corrupt"
    IMAGE_DIMENSIONS = "image.dimensions_mismatch"
    IMAGE_TOO_LARGE = "image.too_large"
    CBEFF_OVERSIZED = "cbeff.oversized"
    CBEFF_XML = "cbeff.malformed_xml"
    CBEFF_STRUCTURE = "cbeff.structure"
    CBEFF_FORMAT = "cbeff.unknown_format"
    CBEFF_FIELD = "cbeff.field_invalid"
    CBEFF_BASE64 = "cbeff.bad_base64"
    CBEFF_COUNT = "cbeff.block_count"
    CBEFF_INCONSISTENT = "cbeff.inconsistent"
    CBEFF_DUPLICATE = "cbeff.duplicate_position"
    CBEFF_EXCEPTION = "cbeff.exception_invalid"  # an exception entry breaks a rule
    SOURCE_INVALID = "source.invalid"  # the desk was handed something it cannot record


_MESSAGES = {
    "fir": "指纹图像记录格式不正确",
    "fac": "人脸图像记录格式不正确",
    "image": "生物特征图像数据不正确",
    "cbeff": "生物特征数据包格式不正确",
    "source": "采集数据不完整，无法生成生物特征记录",
}


class RecordError(DeskError):
    """A biometric record or envelope broke a rule of its format; ``code`` says which."""

    def __init__(self, code: RecordErrorCode, detail: str) -> None:
        prefix = code.value.split(".", 1)[0]
        super().__init__(_MESSAGES[prefix], f"{code.value}: {detail}")
        self.code = code
