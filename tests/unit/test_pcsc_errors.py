"""Every PC/SC failure the desk can meet has its own CardError class and Chinese message."""

from __future__ import annotations

from smartcard import scard

from bts_desk.card.pcsc import (
    CardRemovedError,
    CardResetError,
    CardUnresponsiveError,
    NoCardError,
    NoReaderError,
    PcscServiceError,
    ReaderGoneError,
    matching_readers,
    pcsc_error,
)
from bts_desk.errors import CardError

CASES = {
    scard.SCARD_E_NO_SERVICE: (PcscServiceError, "智能卡服务（PC/SC）未运行，请联系系统管理员"),
    scard.SCARD_E_NO_READERS_AVAILABLE: (NoReaderError, "未检测到读卡器，请连接读卡器"),
    scard.SCARD_E_READER_UNAVAILABLE: (ReaderGoneError, "读卡器已断开，请重新连接读卡器"),
    scard.SCARD_E_UNKNOWN_READER: (ReaderGoneError, "读卡器已断开，请重新连接读卡器"),
    scard.SCARD_E_NO_SMARTCARD: (NoCardError, "请插入卡介质"),
    scard.SCARD_W_REMOVED_CARD: (CardRemovedError, "卡已拔出"),
    scard.SCARD_W_RESET_CARD: (CardResetError, "卡已被其他程序重置，请重新输入 PIN"),
    scard.SCARD_W_UNRESPONSIVE_CARD: (CardUnresponsiveError, "卡无响应，请拔出后重新插入卡介质"),
    scard.SCARD_E_TIMEOUT: (CardUnresponsiveError, "卡无响应，请拔出后重新插入卡介质"),
}


def test_each_failure_has_its_class_and_message() -> None:
    for code, (cls, message) in CASES.items():
        error = pcsc_error(code, "transmit 00 a4 04 00", "Virtual PCD 00 00")
        assert type(error) is cls, hex(code)
        assert error.user_message == message
        assert f"0x{code & 0xFFFFFFFF:08X}" in error.detail
        assert "Virtual PCD 00 00" in error.detail


def test_distinct_situations_read_differently() -> None:
    messages = {
        pcsc_error(code, "x").user_message
        for code in (
            scard.SCARD_E_NO_SERVICE,
            scard.SCARD_E_NO_READERS_AVAILABLE,
            scard.SCARD_E_READER_UNAVAILABLE,
            scard.SCARD_E_NO_SMARTCARD,
            scard.SCARD_W_REMOVED_CARD,
            scard.SCARD_W_UNRESPONSIVE_CARD,
        )
    }
    assert len(messages) == 6


def test_unknown_code_is_still_a_card_error() -> None:
    error = pcsc_error(0x80100001, "connect")
    assert type(error) is CardError
    assert error.user_message


def test_reader_name_filter() -> None:
    readers = ["Virtual PCD 00 00", "Feitian R502 [CCID] 00 00", "Virtual PCD 00 01"]
    assert matching_readers(readers, "") == readers
    assert matching_readers(readers, "feitian") == ["Feitian R502 [CCID] 00 00"]
    assert matching_readers(readers, "00 01") == ["Virtual PCD 00 01"]
    assert matching_readers(readers, "ACS") == []
