"""``R30xScanner``: the EF 01 serial fingerprint modules (Synochip AS608, ZhianTec ZFM-20,
Grow R307/R503 and compatibles) over pyserial, implementing
``bts_desk.devices.fingerprint.FingerprintScanner`` (``enroll`` runs the desk's press-by-press
``FingerEnroller`` over this module's ``TwoSlotModule`` operations).

Opening, as the family's manuals and widely used clients do (``profiles.py`` has the sources):
VfyPwd (0x13) then ReadSysPara (0x0F), which every module answers; the line speed is probed,
the configured rate (57600, the factory setting) first, then 115200 and the other 9600×N
rates. HandShake (0x40) and ReadProdInfo (0x3C) are sent only where the module's profile has
them (with ``model = "auto"``, ReadProdInfo is asked once at open with a short wait, which a
module that does not know it may leave unanswered). Optionally (``switch_baudrate``, off by
default) the module is set to a faster rate with SetSysPara and the driver follows it,
falling back to the old rate if the link does not come back. The idle check is HandShake
where the profile has it, else ReadSysPara: neither touches the image buffer or the slots.

Blocking, not thread-safe: exactly one thread (the ``ScannerWorker``) owns an instance and its
port. Every failure leaves as a ``ScannerError``: a vanished port (USB unplug) closes the port
and raises ``ScannerDisconnectedError``; the next call reopens it if the device is back, so the app
never needs a restart. Before each command stale input is discarded; a garbled or missing
reply is answered by a resync (drain the line, fresh parser) and the command is sent once
more (``retries``), except SetSysPara/SetPwd whose effect cannot be told apart.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import threading
import time

import numpy as np
import numpy.typing as npt
import serial

from bts_desk.capture.events import DEFAULT_TIMING, EnrollTiming, EventCallback
from bts_desk.capture.finger import enroll_two_slot
from bts_desk.capture.verify import EnrolledFinger, verify_two_slot
from bts_desk.config import ScannerSettings
from bts_desk.devices.fingerprint import (
    FingerprintScanner,
    MatchResult,
    MergeFailedError,
    PressRejectedError,
    ScannerDisconnectedError,
    ScannerInfo,
    ScannerRefusedError,
    ScannerTimeoutError,
    TwoSlotModule,
)
from bts_desk.devices.ports import resolve_port
from bts_desk.domain import FingerCapture

from .profiles import (
    BAUD_UNIT,
    GENERIC,
    MAX_TEMPLATE_BYTES,
    ModuleProfile,
    ProductInfo,
    profile_for,
    profile_named,
    rates_to_probe,
)
from .protocol import (
    DEFAULT_ADDRESS,
    PACKET_SIZES,
    BadFrameError,
    Cmd,
    FrameError,
    FrameParser,
    Packet,
    Pid,
    SysParaNo,
    command,
    confirmation_message,
    encode_packet,
    unpack_image,
)

log = logging.getLogger(__name__)

MODEL = GENERIC.name
# Confirmation codes that mean "this press is unusable, press again".
PRESS_CODES = frozenset({0x03, 0x04, 0x05, 0x06, 0x07, 0x15, 0x17, 0x33, 0x34})
# Commands whose second sending could differ from the first: never sent twice on their own.
_NOT_REPEATED = frozenset({Cmd.SET_SYS_PARA, Cmd.SET_PWD})
PROBE_TIMEOUT = 0.3  # seconds for an answer while probing a rate or an optional instruction
FULL_SCORE = 300  # Match score of two excellent presses of one finger (AS608 scale)
_READ_SLICE = 0.05  # seconds per serial read while waiting for a reply
_QUIET = 0.05  # resync: the line counts as quiet after this long without a byte


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
        profile: str = "auto",
        switch_baudrate: int = 0,
    ) -> None:
        self.configured_port = port
        self.baudrate = baudrate  # tried first when opening
        self.address = address
        self.password = password
        self.timeout = timeout
        self.retries = retries
        self.configured_profile = profile
        self.switch_baudrate = switch_baudrate
        self.profile: ModuleProfile = profile_named(profile) or GENERIC
        self.link_rate = 0  # the rate the module answered at (0: not open)
        self.rates_tried: list[int] = []
        self.image_bits = 0  # bits per pixel of the last UpImage
        self._serial: serial.Serial | None = None
        self._parser = FrameParser(address)
        self._pending: list[Packet] = []
        self._info: ScannerInfo | None = None

    @classmethod
    def from_settings(cls, settings: ScannerSettings) -> R30xScanner:
        return cls(
            port=settings.port,
            baudrate=settings.baudrate,
            address=settings.address,
            password=settings.password,
            profile=settings.model,
            switch_baudrate=settings.switch_baudrate,
        )

    # --- connection ------------------------------------------------------------------------

    def open(self) -> ScannerInfo:
        if self._serial is not None and self._info is not None:
            return self._info
        port = resolve_port(self.configured_port)
        options = {"exclusive": True} if os.name == "posix" else {}  # Windows: always exclusive
        first = self.link_rate or self.baudrate
        try:
            self._serial = serial.Serial(
                port, first, timeout=_READ_SLICE, write_timeout=self.timeout, **options
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
        self._find_rate(port)
        rest = self._read_sys_para()
        self.profile, product = self._learn_profile()
        if self.switch_baudrate and self.switch_baudrate != self.link_rate:
            rest = self._switch_rate(self.switch_baudrate) or rest
        size_code = int.from_bytes(rest[12:14], "big")
        address_hex = f"{int.from_bytes(rest[8:12], 'big'):08X}"
        profile = self.profile
        return ScannerInfo(
            model=profile.name,
            port=port,
            serial=(product.serial if product else "") or address_hex,
            capacity=int.from_bytes(rest[4:6], "big"),
            packet_size=PACKET_SIZES[size_code] if size_code < len(PACKET_SIZES) else 128,
            baudrate=self.link_rate,
            security_level=int.from_bytes(rest[6:8], "big"),
            width=profile.width,
            height=profile.height,
            dpi=profile.dpi,
            bits_per_pixel=profile.bits_per_pixel,
            template_bytes=profile.template_bytes,
            template_format=profile.template_format,
        )

    def _find_rate(self, port: str) -> None:
        """VfyPwd at each candidate rate until the module answers (any ACK: it is there)."""
        self.rates_tried = []
        candidates = rates_to_probe(self.link_rate or self.baudrate)
        for rate in candidates:
            if not self._set_line_rate(rate):
                continue
            self.rates_tried.append(rate)
            try:
                code, _ = self._probe(Cmd.VFY_PWD, self.password.to_bytes(4, "big"))
            except (FrameError, ScannerTimeoutError) as exc:
                log.debug("no answer at %d baud on %s: %s", rate, port, exc.detail)
                continue
            self.link_rate = rate
            if code != 0x00:
                raise ScannerRefusedError(
                    confirmation_message(code), f"VfyPwd on {port} refused: 0x{code:02X}", code
                )
            return
        rates = "、".join(str(r) for r in self.rates_tried)
        self.link_rate = 0
        raise ScannerTimeoutError(
            f"指纹识别器无响应（已尝试波特率 {rates}）：请检查连接和识别器型号设置",
            f"no answer to VfyPwd on {port} at {self.rates_tried} baud",
        )

    def _set_line_rate(self, rate: int) -> bool:
        port = self._port()
        try:
            port.baudrate = rate
        except _OPEN_ERRORS as exc:
            log.debug("cannot set %d baud on %s: %s", rate, port.port, exc)
            return False
        return True

    def _probe(self, cmd: Cmd, *args: int | bytes) -> tuple[int, bytes]:
        """One command with a short wait and no repetition (the answer may never come)."""
        saved = self.timeout
        self.timeout = min(saved, PROBE_TIMEOUT)
        try:
            return self._transact_once(cmd, *args)
        finally:
            self.timeout = saved

    def _read_sys_para(self) -> bytes:
        rest = self._expect_ok(Cmd.READ_SYS_PARA)
        if len(rest) < 16:
            raise BadFrameError(f"ReadSysPara answered {len(rest)} bytes, expected 16")
        return rest

    def _learn_profile(self) -> tuple[ModuleProfile, ProductInfo | None]:
        """The configured profile (asking ReadProdInfo only if it has it), or with ``auto``
        the one the module's ReadProdInfo answer points at (GENERIC if it gives none)."""
        named = profile_named(self.configured_profile)
        if named is not None and not named.product_info:
            return named, None
        try:
            code, rest = self._probe(Cmd.READ_PROD_INFO)
        except (FrameError, ScannerTimeoutError) as exc:
            log.debug("ReadProdInfo not answered: %s", exc.detail)
            return named or GENERIC, None
        product = ProductInfo.parse(rest) if code == 0x00 else None
        if named is not None:
            return (named.with_product_info(product) if product else named), product
        return profile_for(product), product

    def _switch_rate(self, rate: int) -> bytes | None:
        """SetSysPara to ``rate`` and follow; back to the old rate if the link does not come
        back there. Returns ReadSysPara's answer at whichever rate works (None: unchanged)."""
        multiplier, old = rate // BAUD_UNIT, self.link_rate
        if rate % BAUD_UNIT or multiplier not in self.profile.baud_multipliers:
            log.warning("%s cannot run at %d baud; staying at %d", self.profile.name, rate, old)
            return None
        try:
            code, _ = self._transact_once(Cmd.SET_SYS_PARA, SysParaNo.BAUD, multiplier)
        except (FrameError, ScannerTimeoutError) as exc:
            log.warning("SetSysPara(baud %d) not confirmed: %s", rate, exc.detail)
            code = -1
        if code not in (0x00, -1):
            log.warning("SetSysPara(baud %d) refused: 0x%02X", rate, code)
            return None
        for candidate in (rate, old) if code == 0x00 else (old, rate):
            if not self._set_line_rate(candidate):
                continue
            try:
                rest = self._read_sys_para()
            except (FrameError, ScannerTimeoutError) as exc:
                log.info("no answer at %d baud after SetSysPara: %s", candidate, exc.detail)
                continue
            self.link_rate = candidate
            if candidate != rate:
                log.warning("the module did not come back at %d baud; still at %d", rate, old)
            return rest
        self._set_line_rate(old)
        raise ScannerTimeoutError(
            "指纹识别器切换波特率后无响应：请重新插拔后点“重启服务”",
            f"no answer at {rate} or {old} baud after SetSysPara",
        )

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
        if self.profile.handshake:
            self._transact(Cmd.HANDSHAKE)  # any ACK: the module is there
        else:
            self._read_sys_para()
        return self._info

    def enroll(
        self,
        finger_no: int,
        on_event: EventCallback,
        *,
        other_template: bytes | None = None,
        cancel: threading.Event | None = None,
        timing: EnrollTiming = DEFAULT_TIMING,
    ) -> FingerCapture:
        self.open()
        return enroll_two_slot(
            self,
            finger_no,
            on_event,
            other_template=other_template,
            cancel=cancel,
            timing=timing,
        )

    def verify(
        self,
        finger: EnrolledFinger,
        on_event: EventCallback,
        *,
        cancel: threading.Event | None = None,
        timing: EnrollTiming = DEFAULT_TIMING,
    ) -> MatchResult:
        self.open()
        return verify_two_slot(self, finger, on_event, cancel=cancel, timing=timing)

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
        """The template in ``slot``: the profile's size, or whatever size the module sends
        (up to MAX_TEMPLATE_BYTES; a longer one is a BadFrameError)."""
        data = self._upload(Cmd.UP_CHAR, MAX_TEMPLATE_BYTES, slot)
        if not data:
            raise BadFrameError("UpChar gave no data")
        if len(data) != self.profile.template_bytes:
            log.info(
                "UpChar: %d bytes (%s says %d)",
                len(data),
                self.profile.name,
                self.profile.template_bytes,
            )
        return data

    def write_template(self, slot: int, template: bytes) -> None:
        if not 0 < len(template) <= MAX_TEMPLATE_BYTES:
            raise ValueError(f"a template is 1..{MAX_TEMPLATE_BYTES} bytes, not {len(template)}")
        self._expect_ok(Cmd.DOWN_CHAR, slot)
        size = self._packet_size()
        chunks = [template[i : i + size] for i in range(0, len(template), size)]
        for i, chunk in enumerate(chunks):
            pid = Pid.END_DATA if i == len(chunks) - 1 else Pid.DATA
            self._write(encode_packet(pid, chunk, self.address))

    def read_image(self) -> npt.NDArray[np.uint8]:
        """The last image at the profile's geometry; its depth (4 or 8 bpp) is told by its
        length, anything else is a BadImageError (ScannerError)."""
        width, height = self.profile.width, self.profile.height
        pixels, self.image_bits = unpack_image(
            self._upload(Cmd.UP_IMAGE, width * height), width, height
        )
        return pixels

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

    def high_speed_search(
        self, slot: int, start: int = 0, count: int = 1000
    ) -> tuple[int, int] | None:
        """HighSpeedSearch (0x1B): as ``search``, the module's faster 1:N variant."""
        code, rest = self._transact(
            Cmd.HIGH_SPEED_SEARCH, slot, start.to_bytes(2, "big"), count.to_bytes(2, "big")
        )
        if code == 0x09:
            return None
        self._raise_for(code, Cmd.HIGH_SPEED_SEARCH)
        return int.from_bytes(rest[0:2], "big"), int.from_bytes(rest[2:4], "big")

    def load(self, slot: int, page: int) -> None:
        """LoadChar: the stored template ``page`` into ``slot``."""
        self._expect_ok(Cmd.LOAD_CHAR, slot, page.to_bytes(2, "big"))

    def template_count(self) -> int:
        return int.from_bytes(self._expect_ok(Cmd.TEMPLATE_NUM)[:2], "big")

    def index_table(self, page: int = 0) -> list[int]:
        """ReadIndexTable: the numbers of the stored templates in 256·page .. 256·page + 255."""
        table = self._expect_ok(Cmd.READ_INDEX_TABLE, page)[:32]
        return [
            256 * page + 8 * i + bit
            for i, byte in enumerate(table)
            for bit in range(8)
            if byte >> bit & 1
        ]

    def delete(self, page: int, count: int = 1) -> None:
        self._expect_ok(Cmd.DELETE_CHAR, page.to_bytes(2, "big"), count.to_bytes(2, "big"))

    def empty(self) -> None:
        self._expect_ok(Cmd.EMPTY)

    def random_code(self) -> int:
        """GetRandomCode (0x14): 32 bits from the module's generator."""
        return int.from_bytes(self._expect_ok(Cmd.GET_RANDOM_CODE)[:4], "big")

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
        """Send one command, return (confirmation code, rest of the ACK payload); after a
        garbled or missing reply, resync and send it again (``retries`` times)."""
        attempts = 1 + (0 if cmd in _NOT_REPEATED else self.retries)
        for attempt in range(attempts):
            try:
                return self._transact_once(cmd, *args)
            except (FrameError, ScannerTimeoutError) as exc:
                if attempt + 1 == attempts:
                    raise
                late = self._recover(cmd, exc)
                if late is not None:
                    return late
        raise AssertionError("unreachable")

    def _recover(self, cmd: Cmd, exc: FrameError | ScannerTimeoutError) -> tuple[int, bytes] | None:
        """Before sending ``cmd`` again. A missing reply may only be late (a busy module):
        wait one more timeout for it, and take it, since a reply arriving after the second
        sending would be taken for that one's and every later answer would be off by one.
        Otherwise (garbled, or still nothing) resync: let the line go quiet, drop it."""
        if isinstance(exc, ScannerTimeoutError):
            try:
                late = self._await_ack(cmd)
            except (FrameError, ScannerTimeoutError) as again:
                log.info("%s: %s; resync and send it again", cmd.name, again.detail)
            else:
                log.info("%s: the reply came late (%s)", cmd.name, exc.detail)
                return late
        else:
            log.info("%s: %s; resync and send it again", cmd.name, exc.detail)
        self._resync()
        return None

    def _resync(self) -> None:
        """Let the line go quiet (the rest of a garbled reply), then drop what came."""
        port = self._port()
        deadline = time.monotonic() + max(0.2, self.timeout / 4)
        quiet_since = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - quiet_since < _QUIET:
            try:
                if port.read(max(1, port.in_waiting)):
                    quiet_since = time.monotonic()
            except _READ_ERRORS as exc:
                raise self._lost(exc) from exc
        self._discard_input()

    def _transact_once(self, cmd: Cmd, *args: int | bytes) -> tuple[int, bytes]:
        self._discard_input()
        self._write(command(cmd, *args, address=self.address))
        return self._await_ack(cmd)

    def _await_ack(self, cmd: Cmd) -> tuple[int, bytes]:
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
            last = attempt + 1 == attempts
            try:
                code, _ = self._transact_once(cmd, *args)
            except (FrameError, ScannerTimeoutError) as exc:
                if last:
                    raise
                late = self._recover(cmd, exc)
                if late is None:
                    continue
                code = late[0]
            self._raise_for(code, cmd)
            try:
                return self._read_data(expected)
            except (FrameError, ScannerTimeoutError) as exc:
                if last:
                    raise
                log.info("%s: %s; resync and upload again", cmd.name, exc.detail)
                self._resync()
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


def _conforms(scanner: R30xScanner) -> tuple[FingerprintScanner, TwoSlotModule]:
    """mypy checks here that R30xScanner implements both interfaces."""
    return scanner, scanner
