"""Field colours of the manual (界面: yellow required, white optional, grey read-only).

A widget gets the dynamic property ``field`` = ``required`` | ``optional`` | ``readonly``;
``resources/styles/desk.qss`` paints each kind. GUI thread.
"""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtWidgets import QWidget


class FieldKind(StrEnum):
    REQUIRED = "required"  # 黄底色: 必填项
    OPTIONAL = "optional"  # 白底色: 非必填项
    READONLY = "readonly"  # 灰底色: 不可录入项


def set_field_kind(widget: QWidget, kind: FieldKind) -> None:
    """Mark ``widget`` and re-polish it so the style sheet's colour applies at once."""
    widget.setProperty("field", str(kind))
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)


def field_kind(widget: QWidget) -> FieldKind | None:
    value = widget.property("field")
    return FieldKind(value) if isinstance(value, str) and value else None
