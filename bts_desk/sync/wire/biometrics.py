"""The biometric payload of an enrollment on the wire: fingers and face.

Kept apart from the enrollment envelope (``models.EnrollmentBody``) so that the payload can
be replaced (ISO/IEC 19794 records in a CBEFF envelope) without touching the rest of the
API. Each model mirrors its domain capture field for field (``from_capture``/``to_capture``
copy every field by name, so a field added to ``FingerCapture`` must be added here, and a
test notices if it is not). Pure Python, any thread.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Self

from pydantic import BaseModel, Field, StrictInt

from bts_desk.domain import FaceCapture, FingerCapture
from bts_desk.sync.wire import limits
from bts_desk.sync.wire.types import STRICT, Base64, Figure, FigureName, Percent

Template = Annotated[
    bytes,
    Base64(limits.MIN_TEMPLATE_BYTES, limits.MAX_TEMPLATE_BYTES, short_code=limits.E_BAD_TEMPLATE),
]
SensorSize = Annotated[StrictInt, Field(ge=0, le=65535)]
FingerImage = Annotated[bytes, Base64(1, limits.MAX_PNG_BYTES)]
FaceImage = Annotated[bytes, Base64(1, limits.MAX_JPEG_BYTES)]


def _fields_of(capture: Any) -> dict[str, Any]:
    return {f.name: getattr(capture, f.name) for f in dataclasses.fields(capture)}


class FingerBody(BaseModel):
    """One enrolled finger: the scanner's template, the best press as a PNG, press figures."""

    model_config = STRICT

    finger_no: Annotated[StrictInt, Field(ge=1, le=2, description="1 = 指纹1, 2 = 指纹2")]
    template: Template = Field(description="the scanner module's template, its own format")
    image_png: FingerImage = Field(description="8-bit greyscale PNG of the best press")
    press_quality: list[Percent] = Field(default_factory=list, max_length=limits.MAX_PRESSES)
    width: SensorSize = Field(default=0, description="sensor image columns (0: not told)")
    height: SensorSize = Field(default=0, description="sensor image rows (0: not told)")
    bits_per_pixel: Annotated[StrictInt, Field(ge=0, le=16)] = 0
    dpi: SensorSize = 0
    template_format: Annotated[str, Field(max_length=64)] = Field(
        default="", description='the template\'s format, e.g. "synochip-r30x-char"'
    )

    @classmethod
    def from_capture(cls, capture: FingerCapture) -> Self:
        return cls.model_validate(_fields_of(capture))

    def to_capture(self) -> FingerCapture:
        values = dict(self)
        values["press_quality"] = tuple(self.press_quality)
        return FingerCapture(**values)


class FaceBody(BaseModel):
    """The portrait photo (JPEG) and the quality figures the desk's gate measured."""

    model_config = STRICT

    jpeg: FaceImage
    quality: dict[FigureName, Figure] = Field(
        default_factory=dict, max_length=limits.MAX_FACE_FIGURES
    )

    @classmethod
    def from_capture(cls, capture: FaceCapture) -> Self:
        return cls.model_validate(_fields_of(capture))

    def to_capture(self) -> FaceCapture:
        return FaceCapture(**dict(self))
