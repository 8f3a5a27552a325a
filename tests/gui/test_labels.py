"""Domain labels in Chinese: the finger positions read as officers name fingers."""

from __future__ import annotations

from desk_support import zh

from bts_desk.domain import FingerPosition
from bts_desk.ui.labels import label

__all__ = ["zh"]


def test_finger_positions_read_in_chinese(zh: None) -> None:
    assert [label(p) for p in FingerPosition] == [
        "未知手指",
        "右手拇指",
        "右手食指",
        "右手中指",
        "右手环指",
        "右手小指",
        "左手拇指",
        "左手食指",
        "左手中指",
        "左手环指",
        "左手小指",
    ]
