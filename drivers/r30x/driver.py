"""``R30xScanner``: the EF 01 serial fingerprint modules (Synochip AS608, ZhianTec ZFM-20,
Grow R307/R503 and compatibles) over pyserial, implementing
``bts_desk.devices.fingerprint.FingerprintScanner``.

Blocking, not thread-safe: exactly one thread (the ``ScannerWorker``) owns an instance and its
port. Every failure leaves as a ``ScannerError``: a vanished port (USB unplug) closes the port
and raises ``ScannerDisconnectedError``; the next call reopens it if the device is back, so the app
never needs a restart. Before each command stale input is discarded, so a garbled or cut-off
reply spoils only the command it belonged to; commands without side effects are retried once.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import time

import numpy as np
import numpy.typing as npt
import serial

from bts_desk.devices.fingerprint import (
    FingerprintScanner,
    MatchResult,
    MergeFailedError,
    PressRejectedError,
    ScannerDisconnectedError,
    ScannerInfo,
    ScannerRefusedError,
    ScannerTimeoutError,
)
from bts_desk.devices.ports import resolve_port

from .protocol import (
    DEFAULT_ADDRESS,
    IMAGE_BYTES,
    PACKET_SIZES,
    TEMPLATE_BYTES,
    BadFrameError,
    Cmd,
    FrameError,
    FrameParser,
    Packet,
    Pid,
    command,
    confirmation_message,
    encode_packet,
    unpack_image,
)

log = logging.getLogger(__name__)

MODEL = "R30x/AS608 (EF01)"
# Confirmation codes that mean "this press is unusable, press again".
PRESS_CODES = frozenset({0x03, 0x04, 0x05, 0x06, 0x07, 0x15, 0x17, 0x33, 0x34})
# Commands that change nothing on the module: safe to send again after a garbled reply.
_IDEMPOTENT = frozenset({Cmd.HANDSHAKE, Cmd.READ_SYS_PARA, Cmd.MATCH, Cmd.TEMPLATE_NUM})
PROBE_TIMEOUT = 0.5  # seconds to wait for an optional command older modules ignore
FULL_SCORE = 300  # Match score of two excellent presses of one finger (AS608 scale)
_READ_SLICE = 0.05  # seconds per serial read while waiting for a reply


def _port_errors() -> tuple[type[BaseException], ...]:
    """What a vanished port raises: pyserial's error, OSError, and on POSIX termios.error
    (tcdrain on a hung-up pty)."""
    errors: tuple[type[BaseException], ...] = (serial.SerialException, OSError)
    if sys.platform != "win32":
        import termios

        errors += (termios.error,)
    return errors


PORT_ERRORS = _port_errors()
_OPEN_ERRORS: tuple[type[BaseException], ...] = (
    *PORT_ERRORS,
    ValueError,
)  # ValueError: a malformed port name
_READ_ERRORS: tuple[type[BaseException], ...] = (
    *PORT_ERRORS,
    TypeError,
)  # TypeError: pyserial reading a closed fd


def _open_failure(port: str, exc: BaseException) -> str:
    """What to tell the officer when the port does not open."""
    text = str(exc).lower()
    code = getattr(exc, "errno", None)
    if code in (errno.EBUSY, errno.EACCES) or any(
        word in text for word in ("busy", "denied", "locked", "resource temporarily")
    ):
        return f"指纹识别器端口 {port} 被其他程序占用：请关闭其他指纹程序后点“重启服务”"
    return f"指纹识别器未连接（{port}）：请检查 USB 连接"


class R30xScanner:
    """One module on one serial port (``port="auto"``: found by USB VID:PID on each open)."""

    model = MODEL

    def __init__(
        self,
        port: str = "auto",
        baudrate: int = 57600,
        address: int = DEFAULT_ADDRESS,
        password: int = 0,
        *,
        timeout: float = 2.0,
        retries: int = 1,
    ) -> None:
        self.configured_port = port
        self.baudrate = baudrate
        self.address = address
        self.password = password
        self.timeout = timeout
        self.retries = retries
        self._serial: serial.Serial | None = None
        self._parser = FrameParser(address)
        self._pending: list[Packet] = []
        self._info: ScannerInfo | None = None

    # --- connection ------------------------------------------------------------------------

    def open(self) -> ScannerInfo:
        if self._serial is not None and self._info is not None:
            return self._info
        port = resolve_port(self.configured_port)
        options = {"exclusive": True} if os.name == "posix" else {}  # Windows: always exclusive
        try:
            self._serial = serial.Serial(
                port, self.baudrate, timeout=_READ_SLICE, write_timeout=self.timeout, **options
            )
        except _OPEN_ERRORS as exc:
            self._serial = None
            raise ScannerDisconnectedError(
                _open_failure(port, exc), f"cannot open {port}: {exc}"
            ) from exc
        try:
            self._info = self._identify(port)
        except BaseException:
            self.close()
            raise
        log.info("scanner on %s: %s", port, self._info)
        return self._info

    def _identify(self, port: str) -> ScannerInfo:
        self._handshake()
        code, _ = self._transact(Cmd.VFY_PWD, self.password.to_bytes(4, "big"))
        if code != 0x00:
            raise ScannerRefusedError(
                confirmation_message(code), f"VfyPwd on {port} refused: 0x{code:02X}", code
            )
        rest = self._expect_ok(Cmd.READ_SYS_PARA)
        if len(rest) < 16:
            raise BadFrameError(f"ReadSysPara answered {len(rest)} bytes, expected 16")
        size_code = int.from_bytes(rest[12:14], "big")
        model, serial_no = self._product_info()
        return ScannerInfo(
            model=model,
            port=port,
            serial=serial_no or f"{int.from_bytes(rest[8:12], 'big'):08X}",
            capacity=int.from_bytes(rest[4:6], "big"),
            packet_size=PACKET_SIZES[size_code] if size_code < len(PACKET_SIZES) else 128,
            baudrate=int.from_bytes(rest[14:16], "big") * 9600,
            security_level=int.from_bytes(rest[6:8], "big"),
        )

    def _product_info(self) -> tuple[str, str]:
        """(model, serial number) from ReadProdInfo on modules that have it (R502/R503…);
        AS608-class modules refuse it or stay silent: (MODEL, "") then."""
        saved = self.timeout
        self.timeout = min(saved, PROBE_TIMEOUT)
        try:
            code, rest = self._transact_once(Cmd.READ_PROD_INFO)
        except (FrameError, ScannerTimeoutError) as exc:
            log.debug("ReadProdInfo not answered: %s", exc.detail)
            return MODEL, ""
        finally:
            self.timeout = saved
        if code != 0x00 or len(rest) < 46:
            return MODEL, ""

        def text(field: bytes) -> str:
            return field.rstrip(b"\x00 ").decode("ascii", "replace")

        module_type, serial_no = text(rest[0:16]), text(rest[20:28])
        return (f"{module_type} (EF01)" if module_type else MODEL), serial_no

    def close(self) -> None:
        port, self._serial, self._info = self._serial, None, None
        if port is not None:
            try:
                port.close()
            except PORT_ERRORS as exc:
                log.debug("closing %s: %s", port.port, exc)

    def check(self) -> ScannerInfo:
        if self._serial is None or self._info is None:
            return self.open()
        self._handshake()
        return self._info

    def _handshake(self) -> None:
        """Is a module answering? Any ACK says yes: R503-style modules confirm HandShake
        (0x40) with 0x00, older AS608 firmware answers it with an error code."""
        self._transact(Cmd.HANDSHAKE)

    # --- FingerprintScanner ----------------------------------------------------------------

    def capture(self) -> bool:
        code, _ = self._transact(Cmd.GEN_IMG)
        if code == 0x02:
            return False
        self._raise_for(code, Cmd.GEN_IMG)
        return True

    def extract(self, slot: int) -> None:
        code, _ = self._transact(Cmd.IMG2TZ, slot)
        self._raise_for(code, Cmd.IMG2TZ)

    def compare(self) -> MatchResult:
        code, rest = self._transact(Cmd.MATCH)
        score = int.from_bytes(rest[:2], "big") if len(rest) >= 2 else 0
        quality = round(min(100.0, score * 100 / FULL_SCORE), 1)
        if code == 0x08:
            return MatchResult(False, score, quality)
        self._raise_for(code, Cmd.MATCH)
        return MatchResult(True, score, quality)

    def merge(self) -> None:
        code, _ = self._transact(Cmd.REG_MODEL)
        if code == 0x0A:
            raise MergeFailedError(confirmation_message(code), "RegModel refused: 0x0A", code)
        self._raise_for(code, Cmd.REG_MODEL)

    def read_template(self, slot: int) -> bytes:
        data = self._upload(Cmd.UP_CHAR, TEMPLATE_BYTES, slot)
        if len(data) != TEMPLATE_BYTES:
            raise BadFrameError(f"UpChar gave {len(data)} bytes, expected {TEMPLATE_BYTES}")
        return data

    def write_template(self, slot: int, template: bytes) -> None:
        if len(template) != TEMPLATE_BYTES:
            raise ValueError(f"a template is {TEMPLATE_BYTES} bytes, not {len(template)}")
        self._expect_ok(Cmd.DOWN_CHAR, slot)
        size = self._packet_size()
        chunks = [template[i : i + size] for i in range(0, len(template), size)]
        for i, chunk in enumerate(chunks):
            pid = Pid.END_DATA if i == len(chunks) - 1 else Pid.DATA
            self._write(encode_packet(pid, chunk, self.address))

    def read_image(self) -> npt.NDArray[np.uint8]:
        return unpack_image(self._upload(Cmd.UP_IMAGE, IMAGE_BYTES))

    # --- library (optional on the desk: enrollment keeps templates on the desk) -----------

    def store(self, slot: int, page: int) -> None:
        self._expect_ok(Cmd.STORE, slot, page.to_bytes(2, "big"))

    def search(self, slot: int, start: int = 0, count: int = 1000) -> tuple[int, int] | None:
        """(page, score) of the best stored template matching ``slot``, or None."""
        code, rest = self._transact(
            Cmd.SEARCH, slot, start.to_bytes(2, "big"), count.to_bytes(2, "big")
        )
        if code == 0x09:
            return None
        self._raise_for(code, Cmd.SEARCH)
        return int.from_bytes(rest[0:2], "big"), int.from_bytes(rest[2:4], "big")

    def template_count(self) -> int:
        return int.from_bytes(self._expect_ok(Cmd.TEMPLATE_NUM)[:2], "big")

    # --- transactions ----------------------------------------------------------------------

    def _raise_for(self, code: int, cmd: Cmd) -> None:
        if code == 0x00:
            return
        detail = f"{cmd.name} answered 0x{code:02X}"
        if code in PRESS_CODES:
            raise PressRejectedError(confirmation_message(code), detail, code)
        raise ScannerRefusedError(confirmation_message(code), detail, code)

    def _expect_ok(self, cmd: Cmd, *args: int | bytes) -> bytes:
        code, rest = self._transact(cmd, *args)
        self._raise_for(code, cmd)
        return rest

    def _transact(self, cmd: Cmd, *args: int | bytes) -> tuple[int, bytes]:
        """Send one command, return (confirmation code, rest of the ACK payload); commands
        without side effects are sent again after a garbled or missing reply."""
        attempts = 1 + (self.retries if cmd in _IDEMPOTENT else 0)
        for attempt in range(attempts):
            try:
                return self._transact_once(cmd, *args)
            except (FrameError, ScannerTimeoutError) as exc:
                if attempt + 1 == attempts:
                    raise
                log.info("%s: %s; sending it again", cmd.name, exc.detail)
        raise AssertionError("unreachable")

    def _transact_once(self, cmd: Cmd, *args: int | bytes) -> tuple[int, bytes]:
        self._discard_input()
        self._write(command(cmd, *args, address=self.address))
        while True:
            ack = self._read_packet(self.timeout)
            if ack.pid == Pid.ACK and ack.payload:
                return ack.payload[0], ack.payload[1:]
            if ack.pid not in (Pid.DATA, Pid.END_DATA):
                raise BadFrameError(f"{cmd.name}: expected an ACK, got PID 0x{ack.pid:02X}")
            # the rest of an upload we gave up on is still streaming in: skip it

    def _upload(self, cmd: Cmd, expected: int, *args: int | bytes) -> bytes:
        """A command followed by data packets (UpChar, UpImage), tried again once whole."""
        attempts = 1 + self.retries
        for attempt in range(attempts):
            try:
                code, _ = self._transact_once(cmd, *args)
                self._raise_for(code, cmd)
                return self._read_data(expected)
            except (FrameError, ScannerTimeoutError) as exc:
                if attempt + 1 == attempts:
                    raise
                log.info("%s: %s; uploading again", cmd.name, exc.detail)
        raise AssertionError("unreachable")

    def _read_data(self, expected: int) -> bytes:
        data = bytearray()
        per_packet = max(1.0, self.timeout / 2)
        while True:
            packet = self._read_packet(per_packet)
            if packet.pid not in (Pid.DATA, Pid.END_DATA):
                raise BadFrameError(f"expected a data packet, got PID 0x{packet.pid:02X}")
            data += packet.payload
            if len(data) > expected:
                raise BadFrameError(f"more data than expected ({len(data)} > {expected})")
            if packet.pid == Pid.END_DATA:
                return bytes(data)

    def _packet_size(self) -> int:
        return self._info.packet_size if self._info and self._info.packet_size else 128

    def _port(self) -> serial.Serial:
        if self._serial is None:
            self.open()
        assert self._serial is not None
        return self._serial

    def _lost(self, exc: BaseException) -> ScannerDisconnectedError:
        name = self._serial.port if self._serial is not None else self.configured_port
        self.close()
        return ScannerDisconnectedError(
            "指纹识别器连接已断开：请检查 USB 连接，插好后会自动重连",
            f"serial port {name} failed: {exc}",
        )

    def _discard_input(self) -> None:
        port = self._port()
        try:
            port.reset_input_buffer()
        except PORT_ERRORS as exc:
            raise self._lost(exc) from exc
        self._parser = FrameParser(self.address)
        self._pending.clear()

    def _write(self, data: bytes) -> None:
        port = self._port()
        try:
            port.write(data)
            port.flush()
        except serial.SerialTimeoutException as exc:
            raise ScannerTimeoutError(
                "指纹识别器无响应，请检查连接", f"write timed out: {exc}"
            ) from exc
        except PORT_ERRORS as exc:
            raise self._lost(exc) from exc

    def _read_packet(self, timeout: float) -> Packet:
        port = self._port()
        deadline = time.monotonic() + timeout
        while not self._pending:
            if time.monotonic() > deadline:
                if self._parser.pending():
                    self._parser.flush_partial()  # raises TruncatedFrameError on a cut-off frame
                raise ScannerTimeoutError(
                    "指纹识别器无响应，请检查连接后重试",
                    f"no reply within {timeout:.1f} s on {port.port}",
                )
            try:
                data = port.read(max(1, min(port.in_waiting, 4096)))
            except _READ_ERRORS as exc:
                raise self._lost(exc) from exc
            if data:
                self._pending.extend(self._parser.feed(data))
        return self._pending.pop(0)


def _conforms(scanner: R30xScanner) -> FingerprintScanner:
    """mypy checks here that R30xScanner implements the device-independent interface."""
    return scanner
