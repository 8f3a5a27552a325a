"""PC/SC through pyscard: readers, a held connection to a card, APDU exchange, clear errors.

Every PC/SC failure becomes a ``CardError`` subclass with its own Chinese message: no PC/SC
service, no reader, no card, reader unplugged, card removed, card reset by another program,
card unresponsive. The APDU trace (DEBUG) shows headers, lengths and status words only, never
the data: a VERIFY carries the PIN.

Thread use: each ``CardLink`` owns its own PC/SC context (pcsc-lite serialises calls per
context, and the presence monitor blocks on its own) and a lock, so a link may be used from
any worker thread, one call at a time. Never on the GUI thread: calls can block for seconds on
a slow card.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from smartcard import scard

from bts_desk.errors import CardError

log = logging.getLogger(__name__)


class PcscServiceError(CardError):
    """pcscd (Linux) / the Smart Card service (Windows) is not running."""


class NoReaderError(CardError):
    """No card reader is connected (or none matches the configured name)."""


class NoCardError(CardError):
    """A reader is there but holds no card."""


class ReaderGoneError(CardError):
    """The reader was unplugged while in use."""


class CardRemovedError(CardError):
    """The card was pulled out while in use (or swapped)."""


class CardResetError(CardError):
    """Another program reset the card: its PIN state is lost."""


class CardUnresponsiveError(CardError):
    """The card does not answer (dirty contacts, wrong way round, not a smart card)."""


_NO_SERVICE = (scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED)
_NO_READER = (scard.SCARD_E_NO_READERS_AVAILABLE,)
_READER_GONE = (scard.SCARD_E_UNKNOWN_READER, scard.SCARD_E_READER_UNAVAILABLE)
_NO_CARD = (scard.SCARD_E_NO_SMARTCARD,)
_REMOVED = (scard.SCARD_W_REMOVED_CARD,)
_RESET = (scard.SCARD_W_RESET_CARD,)
_UNRESPONSIVE = (
    scard.SCARD_W_UNRESPONSIVE_CARD,
    scard.SCARD_W_UNPOWERED_CARD,
    scard.SCARD_W_UNSUPPORTED_CARD,
    scard.SCARD_E_PROTO_MISMATCH,
    scard.SCARD_E_NOT_TRANSACTED,
    scard.SCARD_E_TIMEOUT,
    scard.SCARD_F_COMM_ERROR,
)


_ERRORS: list[tuple[tuple[int, ...], type[CardError], str]] = [
    (_NO_SERVICE, PcscServiceError, "智能卡服务（PC/SC）未运行，请联系系统管理员"),
    (_NO_READER, NoReaderError, "未检测到读卡器，请连接读卡器"),
    (_READER_GONE, ReaderGoneError, "读卡器已断开，请重新连接读卡器"),
    (_NO_CARD, NoCardError, "请插入卡介质"),
    (_REMOVED, CardRemovedError, "卡已拔出"),
    (_RESET, CardResetError, "卡已被其他程序重置，请重新输入 PIN"),
    (_UNRESPONSIVE, CardUnresponsiveError, "卡无响应，请拔出后重新插入卡介质"),
    ((scard.SCARD_E_SHARING_VIOLATION,), CardError, "卡正被其他程序独占使用，请关闭其他读卡程序"),
]


def pcsc_error(hresult: int, action: str, reader: str = "") -> CardError:
    """The CardError for a failed PC/SC call (``action``: what the desk was doing, English)."""
    code = hresult & 0xFFFFFFFF
    where = f" on {reader!r}" if reader else ""
    detail = f"{action}{where}: PC/SC 0x{code:08X} {scard.SCardGetErrorMessage(hresult)}"
    for codes, error_class, message in _ERRORS:
        if hresult in codes:
            return error_class(message, detail)
    return CardError("读卡失败，请重新插入卡介质后再试", detail)


@dataclass(frozen=True)
class Response:
    """A response APDU split into data and status word."""

    data: bytes
    sw: int

    @property
    def ok(self) -> bool:
        return self.sw == 0x9000


def _establish() -> Any:
    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        raise pcsc_error(hresult, "establish PC/SC context")
    return context


def _list(context: Any) -> list[str]:
    hresult, readers = scard.SCardListReaders(context, [])
    if hresult == scard.SCARD_E_NO_READERS_AVAILABLE:
        return []
    if hresult != scard.SCARD_S_SUCCESS:
        raise pcsc_error(hresult, "list readers")
    return [str(name) for name in readers]


def list_readers() -> list[str]:
    """Names of the connected readers (may be empty). PcscServiceError if no PC/SC service."""
    context = _establish()
    try:
        return _list(context)
    finally:
        scard.SCardReleaseContext(context)


def matching_readers(readers: list[str], name_filter: str) -> list[str]:
    """Readers whose name contains ``name_filter`` (case-insensitive); all when it is empty."""
    needle = name_filter.strip().lower()
    return [r for r in readers if needle in r.lower()]


def card_present(context: Any, reader: str) -> bool:
    hresult, states = scard.SCardGetStatusChange(context, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
    if hresult != scard.SCARD_S_SUCCESS:
        raise pcsc_error(hresult, "read reader state", reader)
    return bool(states[0][1] & scard.SCARD_STATE_PRESENT)


class CardLink:
    """A shared connection to the card in ``reader``, held while the officer's session is open
    (closing it lets pcscd power the card off, which forgets the PIN verification)."""

    def __init__(self, reader: str) -> None:
        self.reader = reader
        self._lock = threading.Lock()
        self._context = _establish()
        hresult, handle, protocol = scard.SCardConnect(
            self._context,
            reader,
            scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
        )
        if hresult != scard.SCARD_S_SUCCESS:
            scard.SCardReleaseContext(self._context)
            raise pcsc_error(hresult, "connect to card", reader)
        self._handle: Any = handle
        self._protocol: int = protocol
        log.debug("connected to card in %r (protocol %d)", reader, protocol)

    @classmethod
    def open(cls, name_filter: str = "", prefer: str = "") -> CardLink:
        """Connect to the first reader matching ``name_filter`` that holds a card (``prefer``:
        that reader first, e.g. the one the session's card was in)."""
        context = _establish()
        try:
            readers = matching_readers(_list(context), name_filter)
            if not readers:
                wanted = f" matching {name_filter!r}" if name_filter else ""
                raise NoReaderError(
                    "未检测到读卡器，请连接读卡器", f"no PC/SC reader{wanted} is connected"
                )
            with_card = [r for r in readers if card_present(context, r)]
        finally:
            scard.SCardReleaseContext(context)
        if not with_card:
            raise NoCardError("请插入卡介质", f"no card in readers {readers}")
        return cls(prefer if prefer in with_card else with_card[0])

    def transmit(self, apdu: bytes, *, secret: bool = False) -> Response:
        """Send one APDU; follow ``61xx`` (GET RESPONSE) and ``6Cxx`` (wrong Le) per ISO
        7816-4. ``secret``: the command data must not appear even in the DEBUG trace."""
        with self._lock:
            response = self._exchange(apdu, secret)
            data = bytearray(response.data)
            while response.sw >> 8 == 0x61:
                le = response.sw & 0xFF
                response = self._exchange(bytes([0x00, 0xC0, 0x00, 0x00, le]), False)
                data += response.data
            if response.sw >> 8 == 0x6C and len(apdu) == 5:
                response = self._exchange(apdu[:4] + bytes([response.sw & 0xFF]), secret)
                data = bytearray(response.data)
            return Response(bytes(data), response.sw)

    def _exchange(self, apdu: bytes, secret: bool) -> Response:
        if self._handle is None:
            raise CardRemovedError("卡已拔出", f"link to {self.reader!r} is closed")
        hresult, raw = scard.SCardTransmit(self._handle, self._protocol, list(apdu))
        if hresult != scard.SCARD_S_SUCCESS:
            raise pcsc_error(hresult, f"transmit {apdu[:4].hex(' ')}", self.reader)
        if len(raw) < 2:
            raise CardUnresponsiveError(
                "卡无响应，请拔出后重新插入卡介质", f"short response ({len(raw)} bytes)"
            )
        body = bytes(raw[:-2])
        sw = (raw[-2] << 8) | raw[-1]
        if log.isEnabledFor(logging.DEBUG):
            shown = "data withheld" if secret else f"{max(len(apdu) - 5, 0)} data bytes"
            log.debug("APDU %s (%s) -> %d bytes, SW %04X", apdu[:4].hex(" "), shown, len(body), sw)
        return Response(body, sw)

    def check(self) -> None:
        """Raise the CardError for the link's state unless the same card is still in the reader
        since connecting (removal, swap and reset all end the link's validity)."""
        with self._lock:
            if self._handle is None:
                raise CardRemovedError("卡已拔出", f"link to {self.reader!r} is closed")
            result = scard.SCardStatus(self._handle)
            if result[0] != scard.SCARD_S_SUCCESS:
                raise pcsc_error(result[0], "card status", self.reader)

    def close(self) -> None:
        """Disconnect (leave the card as it is) and release the context. Idempotent."""
        with self._lock:
            handle, self._handle = self._handle, None
            if handle is not None:
                scard.SCardDisconnect(handle, scard.SCARD_LEAVE_CARD)
                scard.SCardReleaseContext(self._context)
                log.debug("disconnected from %r", self.reader)
