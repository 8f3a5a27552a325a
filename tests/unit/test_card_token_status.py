"""What the desk says about a PKCS#11 token: the device panel row and the PIN messages built
from what the module knows (no PC/SC, no module needed)."""

from __future__ import annotations

from bts_desk.card.monitor import PresenceSnapshot
from bts_desk.card.profile import WrongPinError
from bts_desk.card.reader_status import reader_status, token_status


def test_panel_shows_module_slot_and_label_of_the_open_token() -> None:
    status = token_status("opensc-pkcs11.so · slot 0 · 李海关", "PKCS#11 /usr/lib/x.so", "pkcs11")
    assert status.ok
    assert status.summary_zh == "令牌：opensc-pkcs11.so · slot 0 · 李海关"
    assert status.port == "opensc-pkcs11.so · slot 0 · 李海关"
    idle = token_status("", "PKCS#11 /usr/lib/x.so", "pkcs11")
    assert idle.ok and idle.port == "PKCS#11 /usr/lib/x.so"
    assert "未登录" in idle.summary_zh


def test_reader_row_is_unchanged_for_pcsc() -> None:
    assert not reader_status(PresenceSnapshot(error="PC/SC 服务未运行"), "piv").ok


def test_wrong_pin_says_what_is_known_of_the_tries() -> None:
    assert WrongPinError(2, "d").user_message == "PIN 错误，还可尝试 2 次"
    assert "不多" in WrongPinError(None, "d", low=True).user_message
    unknown = WrongPinError(None, "d")
    assert unknown.user_message.startswith("PIN 错误，") and unknown.tries_left is None
