"""An emulated R30x/AS608 module on a pseudo-terminal, in the spirit of libfprint's virtual
devices: the driver above it runs for real through pyserial, byte for byte.

The emulator owns a pty pair (``os.openpty``, raw mode) and publishes the slave under a stable
symlink (``path``), so "unplugging" closes the pty and "replugging" makes a new one behind the
same name, as a USB-serial adapter coming back would. A daemon thread answers EF 01 packets:
VfyPwd, ReadSysPara, SetSysPara, GenImg, Img2Tz, Match, Search, HighSpeedSearch, RegModel,
Store, LoadChar, UpChar, DownChar, UpImage, TemplateNum, ReadIndexTable, Empty, DeletChar,
GetRandomCode, and HandShake / ReadProdInfo where its model has them.

It is one of several modules (``model``, ``--model``; ``EMULATED_MODELS``), each with its
profile's geometry and template size (``profiles.py``): ``as608`` knows neither HandShake nor
ReadProdInfo and stays silent on any instruction it does not know; ``r307`` answers unknown
instructions with 0x01; ``r503`` has both; ``generic`` answers HandShake but not ReadProdInfo.
It listens at its own baud rate only: bytes sent at another line speed (the pty's termios, as
the driver set it) go unanswered, as a real module sees only framing errors. SetSysPara
changes the rate (after its acknowledgement, as the hardware does) and ``pace`` follows it.

The finger on the sensor follows a script: ``place(finger, presses=3)`` queues presses (each
after ``gap`` GenImg polls without a finger, held for ``hold`` polls); ``no_finger(n)`` keeps
the sensor empty; ``auto=True`` makes a patient person who keeps pressing and changes finger
after each uploaded template (the demo). Faults: ``inject(Fault.X, count)`` for the wire
(garbage, bad checksum, truncated reply, stuck), press kinds for the finger (messy, small),
and ``unplug()``/``replug()``. ``pace=True`` sends at the real baud rate.

    python -m bts_desk.drivers.r30x.emulator --link /tmp/ttyR30x --auto --pace
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import enum
import fcntl
import logging
import os
import random
import select
import signal
import struct
import tempfile
import termios
import threading
import time
import tty
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType

from . import fingerimage as fi
from .profiles import AS608, BAUD_UNIT, GENERIC, R307, R503, ModuleProfile, ProductInfo
from .protocol import (
    DEFAULT_ADDRESS,
    PACKET_SIZES,
    Cmd,
    FrameError,
    FrameParser,
    Packet,
    Pid,
    SysParaNo,
    encode_packet,
    pack_image,
)

log = logging.getLogger(__name__)


class Fault(enum.Enum):
    GARBAGE = "garbage"  # random bytes (no header) before the next reply
    BAD_CHECKSUM = "bad_checksum"  # the next reply's checksum is wrong
    TRUNCATED = "truncated"  # only the first half of the next reply is sent
    STUCK = "stuck"  # the next command gets no answer at all


@dataclass(frozen=True)
class EmulatedModel:
    """How one model behaves on the wire beyond its profile's figures."""

    profile: ModuleProfile
    silent_on_unknown: bool  # True: an unknown instruction gets no answer at all
    module_type: str = ""  # ReadProdInfo's module type (profiles with ReadProdInfo)


EMULATED_MODELS: dict[str, EmulatedModel] = {
    "as608": EmulatedModel(AS608, silent_on_unknown=True),
    "r307": EmulatedModel(R307, silent_on_unknown=False),
    "r503": EmulatedModel(R503, silent_on_unknown=False, module_type="R503"),
    "generic": EmulatedModel(replace(GENERIC, handshake=True), silent_on_unknown=False),
}

# termios2 (Linux): the line speed as a number, also for rates without a B-constant.
_TCGETS2 = 0x802C542A
_TERMIOS2 = struct.Struct("4I B 19s 2I")


def line_speed(fd: int) -> int:
    """The baud rate the other end of the pty set (0 when it cannot be read)."""
    try:
        raw = fcntl.ioctl(fd, _TCGETS2, bytes(_TERMIOS2.size))
        return int(_TERMIOS2.unpack(raw)[7])
    except OSError:
        pass
    try:
        speed = termios.tcgetattr(fd)[5]
    except termios.error:
        return 0
    names = {getattr(termios, f"B{r}", -1): r for r in (9600, 19200, 38400, 57600, 115200)}
    return names.get(speed, 0)


@dataclass
class _Segment:
    finger: int | None
    polls: int
    kind: fi.PressKind = fi.PressKind.GOOD


class R30xEmulator:
    """One emulated module. Methods are thread-safe; answers come from its own thread."""

    def __init__(
        self,
        link: Path | str | None = None,
        *,
        address: int = DEFAULT_ADDRESS,
        password: int = 0,
        packet_size: int = 128,
        baudrate: int = 57600,
        capacity: int | None = None,
        pace: bool = False,
        auto: bool = False,
        genimg_delay: float = 0.0,
        first_finger: int = 1,
        repeat_first_finger: bool = False,
        model: str = "r503",
        serial_number: str = "EMU00001",
        check_line_speed: bool = True,
    ) -> None:
        self._own_dir = None if link else tempfile.mkdtemp(prefix="r30x-")
        self.path = Path(link) if link else Path(self._own_dir or "") / "ttyR30x"
        self.model = EMULATED_MODELS[model]
        self.profile = self.model.profile
        self.address, self.password = address, password
        self.packet_size, self.baudrate = packet_size, baudrate
        self.capacity = self.profile.capacity or 300 if capacity is None else capacity
        self.pace, self.auto, self.genimg_delay = pace, auto, genimg_delay
        self.auto_finger = first_finger
        # auto person: offers 指纹1's finger once more for 指纹2 (the desk must refuse it)
        self.repeat_first_finger = repeat_first_finger
        self._templates_read = 0
        self.fingers_enrolled: list[int] = []  # auto person: fingers whose template was read
        self.serial_number = serial_number
        self.check_line_speed = check_line_speed
        self.security_level = 3
        self.ignored_bytes = 0  # arrived at a line speed other than the module's
        self.switch_lands_at: int | None = None  # fault: SetSysPara(baud) ends at this rate
        self._next_baudrate = 0
        self._lock = threading.RLock()
        self._timeline: collections.deque[_Segment] = collections.deque()
        self._faults: collections.deque[Fault] = collections.deque()
        self._press_no = 0
        self._on_sensor: _Segment | None = None
        self._image: bytes | None = None  # 4 bpp packed, as UpImage sends it
        self._pixels_for_tz: fi.U8 | None = None
        self._buffers: dict[int, bytes | None] = {1: None, 2: None}
        self._library: dict[int, bytes] = {}
        self._verified = password == 0
        self._receiving: tuple[int, bytearray] | None = None
        self._master = -1
        self._slave = -1
        self._stop = threading.Event()
        self._unplug_request = threading.Event()
        self._unplugged = threading.Event()
        self._thread: threading.Thread | None = None
        self.bytes_in = 0
        self.bytes_out = 0
        self.commands: list[int] = []

    # --- life cycle --------------------------------------------------------------------------

    def start(self) -> R30xEmulator:
        self._plug()
        self._thread = threading.Thread(target=self._serve, name="r30x-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        with self._lock:
            self._close_pty()
        if self._own_dir:
            with contextlib.suppress(OSError):
                os.rmdir(self._own_dir)

    def __enter__(self) -> R30xEmulator:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def unplug(self) -> None:
        """The USB cable is pulled: the port vanishes (reads and writes on it fail).

        The serving thread closes the pty itself (a descriptor closed under another thread's
        select could be reused by anything the process opens next); this waits for it."""
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                self._close_pty()
            return
        self._unplugged.clear()
        self._unplug_request.set()
        if not self._unplugged.wait(5):
            raise RuntimeError("the emulator thread did not unplug in time")

    def replug(self) -> None:
        """The cable is back: a new pty behind the same path; the module has restarted."""
        with self._lock:
            if self._master < 0:
                self._plug()
                self._buffers = {1: None, 2: None}
                self._image = None
                self._verified = self.password == 0

    @property
    def plugged(self) -> bool:
        return self._master >= 0

    # --- scripting ---------------------------------------------------------------------------

    def place(
        self,
        finger: int,
        presses: int = 1,
        *,
        hold: int = 1,
        gap: int = 1,
        kind: fi.PressKind = fi.PressKind.GOOD,
    ) -> None:
        """Queue ``presses`` presses of ``finger``: each one lifted for ``gap`` GenImg polls,
        then on the sensor for ``hold`` polls (then lifted while nothing more is queued)."""
        with self._lock:
            for _ in range(presses):
                self._timeline.append(_Segment(None, gap))
                self._timeline.append(_Segment(finger, hold, kind))

    def no_finger(self, polls: int) -> None:
        with self._lock:
            self._timeline.append(_Segment(None, polls))

    def inject(self, fault: Fault, count: int = 1) -> None:
        with self._lock:
            self._faults.extend([fault] * count)

    def clear_faults(self) -> None:
        """Forget faults injected but not yet used."""
        with self._lock:
            self._faults.clear()

    @property
    def press_count(self) -> int:
        """Presses imaged so far: the next one is imaged as press ``press_count + 1``
        (``fingerimage.press_image(finger, press_count + 1, …)``)."""
        with self._lock:
            return self._press_no

    def stored_template(self, page: int) -> bytes | None:
        with self._lock:
            return self._library.get(page)

    def reset_counters(self) -> None:
        with self._lock:
            self.bytes_in = self.bytes_out = 0
            self.commands.clear()

    # --- pty -------------------------------------------------------------------------------

    def _plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        tty.setraw(master)
        flags = fcntl.fcntl(master, fcntl.F_GETFL)
        fcntl.fcntl(master, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self._master, self._slave = master, slave
        tmp = self.path.with_name(self.path.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(os.ttyname(slave))
        os.replace(tmp, self.path)
        log.info("emulated R30x module on %s -> %s", self.path, os.ttyname(slave))

    def _close_pty(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        for fd in (self._master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1

    def _serve(self) -> None:
        parser = FrameParser()
        while not self._stop.is_set():
            if self._unplug_request.is_set():
                with self._lock:
                    self._close_pty()
                self._unplug_request.clear()
                self._unplugged.set()
            with self._lock:
                master = self._master
            if master < 0:
                parser = FrameParser()
                time.sleep(0.02)
                continue
            try:
                ready, _, _ = select.select([master], [], [], 0.05)
                data = os.read(master, 4096) if ready else b""
            except OSError:
                time.sleep(0.02)
                continue
            if not data:
                continue
            if self.check_line_speed and line_speed(master) not in (0, self.baudrate):
                self.ignored_bytes += len(data)  # framing errors at the wrong speed: no reply
                parser = FrameParser()
                continue
            self.bytes_in += len(data)
            try:
                packets = parser.feed(data)
            except FrameError as exc:
                log.debug("emulator got a broken frame: %s", exc)
                self._send(master, [self._ack(0x01)])
                continue
            for packet in packets:
                self._handle(master, packet)

    def _send(self, master: int, wire: list[bytes]) -> None:
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
        if fault is Fault.STUCK:
            return
        data = b"".join(wire)
        if fault is Fault.GARBAGE:
            data = bytes(random.choice(range(0x00, 0xEF)) for _ in range(23)) + data
        elif fault is Fault.BAD_CHECKSUM:
            first = wire[0]
            data = first[:-1] + bytes(((first[-1] + 1) & 0xFF,)) + b"".join(wire[1:])
        elif fault is Fault.TRUNCATED:
            data = data[: len(wire[0]) // 2]
        self._write(master, data)

    def _write(self, master: int, data: bytes) -> None:
        view = memoryview(data)
        deadline = time.monotonic() + 30
        while view and not self._stop.is_set() and time.monotonic() < deadline:
            if self._unplug_request.is_set():
                return  # the cable is out mid-reply; _serve closes the pty
            chunk = view[:256]
            try:
                _, ready, _ = select.select([], [master], [], 0.05)
                if not ready:
                    continue
                self.bytes_out += len(chunk)  # counted before the driver can see them
                sent = os.write(master, chunk)
            except OSError:
                self.bytes_out -= len(chunk)
                return  # unplugged meanwhile
            self.bytes_out -= len(chunk) - sent
            view = view[sent:]
            if self.pace:
                time.sleep(sent * 10 / self.baudrate)

    # --- the module ------------------------------------------------------------------------

    def _ack(self, code: int, extra: bytes = b"") -> bytes:
        return encode_packet(Pid.ACK, bytes((code,)) + extra, self.address)

    def _data(self, payload: bytes) -> list[bytes]:
        size = self.packet_size
        chunks = [payload[i : i + size] for i in range(0, len(payload), size)]
        return [
            encode_packet(Pid.END_DATA if i == len(chunks) - 1 else Pid.DATA, c, self.address)
            for i, c in enumerate(chunks)
        ]

    def _handle(self, master: int, packet: Packet) -> None:
        if packet.address != self.address:
            return  # another module on the bus: stay silent, as the hardware does
        if packet.pid in (Pid.DATA, Pid.END_DATA):
            self._receive_data(packet)
            return
        if packet.pid != Pid.COMMAND or not packet.payload:
            self._send(master, [self._ack(0x01)])
            return
        with self._lock:
            self.commands.append(packet.payload[0])
            replies = self._command(packet.payload[0], packet.payload[1:])
        if replies:
            self._send(master, replies)
        if self._next_baudrate:  # SetSysPara: the new rate once its ACK is out
            self._wait_drained(master)
            self.baudrate, self._next_baudrate = self._next_baudrate, 0
            log.info("emulated module now at %d baud", self.baudrate)

    def _wait_drained(self, master: int) -> None:
        """Until the driver has read what was sent (a real UART switches after the stop bit)."""
        deadline = time.monotonic() + 2.0
        with contextlib.suppress(OSError):
            while time.monotonic() < deadline:
                pending = fcntl.ioctl(master, termios.TIOCOUTQ, b"\0\0\0\0")
                if int.from_bytes(pending, "little") == 0:
                    return
                time.sleep(0.005)

    def _receive_data(self, packet: Packet) -> None:
        with self._lock:
            if self._receiving is None:
                return
            buffer_id, got = self._receiving
            got += packet.payload
            if packet.pid == Pid.END_DATA:
                self._receiving = None
                complete = len(got) == self.profile.template_bytes
                self._buffers[buffer_id] = bytes(got) if complete else None

    def _knows(self, cmd: int) -> bool:
        if cmd == Cmd.HANDSHAKE:
            return self.profile.handshake
        if cmd == Cmd.READ_PROD_INFO:
            return self.profile.product_info
        return cmd in Cmd._value2member_map_

    def _command(self, cmd: int, args: bytes) -> list[bytes]:  # noqa: PLR0911, PLR0912
        if not self._knows(cmd):
            return [] if self.model.silent_on_unknown else [self._ack(0x01)]
        if cmd == Cmd.HANDSHAKE:
            return [self._ack(0x00)]
        if cmd == Cmd.VFY_PWD:
            ok = len(args) == 4 and int.from_bytes(args, "big") == self.password
            self._verified = self._verified or ok
            return [self._ack(0x00 if ok else 0x13)]
        if not self._verified:
            return [self._ack(0x21)]
        if cmd == Cmd.READ_SYS_PARA:
            return [self._ack(0x00, self._sys_para())]
        if cmd == Cmd.SET_SYS_PARA:
            return [self._ack(self._set_sys_para(args))]
        if cmd == Cmd.READ_PROD_INFO:
            return [self._ack(0x00, self._product_info())]
        if cmd == Cmd.GET_RANDOM_CODE:
            return [self._ack(0x00, random.getrandbits(32).to_bytes(4, "big"))]
        if cmd == Cmd.READ_INDEX_TABLE:
            return [self._ack(0x00, self._index_table(args[0] if args else 0))]
        if cmd == Cmd.DELETE_CHAR:
            return [self._ack(self._delete(args))]
        if cmd == Cmd.GEN_IMG:
            return [self._ack(self._gen_img())]
        if cmd == Cmd.TEMPLATE_NUM:
            return [self._ack(0x00, len(self._library).to_bytes(2, "big"))]
        if cmd == Cmd.EMPTY:
            self._library.clear()
            return [self._ack(0x00)]
        if cmd == Cmd.UP_IMAGE:
            if self._image is None:
                return [self._ack(0x0F)]
            return [self._ack(0x00), *self._data(self._image)]
        if cmd == Cmd.MATCH:
            a, b = self._buffers[1], self._buffers[2]
            score = fi.match_score(a, b) if a and b else 0
            code = 0x00 if score >= fi.MATCH_THRESHOLD else 0x08
            return [self._ack(code, min(score, 0xFFFF).to_bytes(2, "big"))]
        if cmd == Cmd.REG_MODEL:
            a, b = self._buffers[1], self._buffers[2]
            merged = fi.merge(a, b) if a and b else None
            if merged is None:
                return [self._ack(0x0A)]
            self._buffers[1] = self._buffers[2] = merged
            return [self._ack(0x00)]
        if not args or args[0] not in self._buffers:
            return [self._ack(0x1A if args else 0x01)]
        return self._buffer_command(cmd, args[0], args[1:])

    def _buffer_command(self, cmd: int, buffer_id: int, args: bytes) -> list[bytes]:  # noqa: PLR0911
        page = int.from_bytes(args[:2], "big") if len(args) >= 2 else 0
        if cmd == Cmd.IMG2TZ:
            return [self._ack(self._img2tz(buffer_id))]
        if cmd == Cmd.UP_CHAR:
            char = self._buffers[buffer_id]
            if char is None:
                return [self._ack(0x0D)]
            if self.auto and buffer_id == 1:
                self._auto_template_read()
            return [self._ack(0x00), *self._data(char)]
        if cmd == Cmd.DOWN_CHAR:
            self._receiving = (buffer_id, bytearray())
            return [self._ack(0x00)]
        if cmd == Cmd.STORE:
            if page >= self.capacity or self._buffers[buffer_id] is None:
                return [self._ack(0x0B if page >= self.capacity else 0x18)]
            self._library[page] = self._buffers[buffer_id] or b""
            return [self._ack(0x00)]
        if cmd == Cmd.LOAD_CHAR:
            if page not in self._library:
                return [self._ack(0x0C)]
            self._buffers[buffer_id] = self._library[page]
            return [self._ack(0x00)]
        if cmd in (Cmd.SEARCH, Cmd.HIGH_SPEED_SEARCH):
            return [self._search(buffer_id, args)]
        return [self._ack(0x19)]

    def _auto_template_read(self) -> None:
        """The auto person saw a finger's template taken: next time another finger — after
        one press of the same finger first, when ``repeat_first_finger`` and it was 指纹1's
        (every other template read: 指纹1, 指纹2, 指纹1 …)."""
        self._templates_read += 1
        self.fingers_enrolled.append(self.auto_finger)
        if self.repeat_first_finger and self._templates_read % 2 == 1:
            self.place(self.auto_finger, presses=1, hold=1, gap=2)
        self.auto_finger += 1

    def _set_sys_para(self, args: bytes) -> int:
        """SetSysPara: 0x1A for an unknown parameter number, 0x1B for a value out of range."""
        if len(args) != 2:
            return 0x01
        number, value = args
        if number == SysParaNo.BAUD:
            if value not in self.profile.baud_multipliers:
                return 0x1B
            self._next_baudrate = self.switch_lands_at or BAUD_UNIT * value
        elif number == SysParaNo.SECURITY_LEVEL:
            if not 1 <= value <= 5:
                return 0x1B
            self.security_level = value
        elif number == SysParaNo.PACKET_SIZE:
            if value >= len(PACKET_SIZES):
                return 0x1B
            self.packet_size = PACKET_SIZES[value]
        else:
            return 0x1A
        return 0x00

    def _index_table(self, page: int) -> bytes:
        """ReadIndexTable: 32 bytes, bit i of byte j set when template 256·page + 8j + i is."""
        table = bytearray(32)
        for number in self._library:
            if number // 256 == page:
                table[(number % 256) // 8] |= 1 << (number % 8)
        return bytes(table)

    def _delete(self, args: bytes) -> int:
        if len(args) < 4:
            return 0x01
        start, count = int.from_bytes(args[:2], "big"), int.from_bytes(args[2:4], "big")
        if start + count > self.capacity:
            return 0x10
        for page in range(start, start + count):
            self._library.pop(page, None)
        return 0x00

    def _product_info(self) -> bytes:
        """ReadProdInfo ([R503] §ReadProdInfo): type, batch, serial, version, sensor, sizes."""
        return ProductInfo(
            module_type=self.model.module_type or self.profile.name,
            batch="2026",
            serial=self.serial_number,
            hardware_version=(1, 0),
            sensor="EMU-CAP",
            width=self.profile.width,
            height=self.profile.height,
            template_bytes=self.profile.template_bytes,
            capacity=self.capacity,
        ).encode()

    def _sys_para(self) -> bytes:
        return b"".join(
            (
                (0).to_bytes(2, "big"),  # status register
                self.profile.system_id.to_bytes(2, "big"),  # system identifier code
                self.capacity.to_bytes(2, "big"),
                self.security_level.to_bytes(2, "big"),
                self.address.to_bytes(4, "big"),
                PACKET_SIZES.index(self.packet_size).to_bytes(2, "big"),
                (self.baudrate // 9600).to_bytes(2, "big"),
            )
        )

    def _next_segment(self) -> _Segment:
        while self._timeline and self._timeline[0].polls <= 0:
            self._timeline.popleft()
        if not self._timeline and self.auto:
            self.place(self.auto_finger, hold=1, gap=2)
        if not self._timeline:
            return _Segment(None, 1)
        segment = self._timeline[0]
        segment.polls -= 1
        return segment

    def _gen_img(self) -> int:
        if self.genimg_delay:
            time.sleep(self.genimg_delay)
        segment = self._next_segment()
        if segment.finger is None:
            self._on_sensor = None
            return 0x02
        if segment.kind is fi.PressKind.FAINT:
            self._on_sensor = segment
            return 0x03
        if segment is not self._on_sensor:  # a new press (still held: same image)
            self._on_sensor = segment
            self._press_no += 1
            size = (self.profile.width, self.profile.height)
            pixels = fi.press_image(segment.finger, self._press_no, segment.kind, size)
            self._image = pack_image(pixels, self.profile.bits_per_pixel)
            self._pixels_for_tz = pixels
        return 0x00

    def _img2tz(self, buffer_id: int) -> int:
        pixels = self._pixels_for_tz
        if pixels is None or self._image is None:
            return 0x15
        try:
            self._buffers[buffer_id] = fi.char_file(pixels, self.profile.template_bytes)
        except fi.FeatureError as exc:
            return exc.code
        return 0x00

    def _search(self, buffer_id: int, args: bytes) -> bytes:
        char = self._buffers[buffer_id]
        if char is None or len(args) < 4:
            return self._ack(0x01)
        start, count = int.from_bytes(args[:2], "big"), int.from_bytes(args[2:4], "big")
        best = (0, -1)
        for page, stored in self._library.items():
            if start <= page < start + count:
                best = max(best, (fi.match_score(stored, char), page))
        if best[0] < fi.MATCH_THRESHOLD:
            return self._ack(0x09, bytes(4))
        return self._ack(0x00, best[1].to_bytes(2, "big") + best[0].to_bytes(2, "big"))


def start_demo_emulator(
    link: Path | str, *, pace: bool = False, model: str = "r503"
) -> R30xEmulator:
    """The demo's scanner (``bts-desk --demo``): a patient person who presses whenever asked,
    about three presses a second as GenImg takes 0.2 s, and, once a template has been read,
    another finger — for 指纹2 after first offering the same finger once (the desk answers
    请换个手指再按三次指纹). Point ``[scanner] port`` at ``.path``; ``stop()`` at exit."""
    return R30xEmulator(
        link, auto=True, genimg_delay=0.2, pace=pace, model=model, repeat_first_finger=True
    ).start()


def main(argv: list[str] | None = None) -> int:
    """Run an emulated module until interrupted, printing the path to open."""
    parser = argparse.ArgumentParser(description="Emulated R30x/AS608 fingerprint module (pty)")
    parser.add_argument("--link", help="stable symlink path of the port (default: a temp dir)")
    parser.add_argument("--pace", action="store_true", help="send at the real baud rate")
    parser.add_argument("--auto", action="store_true", help="a person keeps pressing fingers")
    parser.add_argument("--baudrate", type=int, default=57600)
    parser.add_argument("--model", choices=sorted(EMULATED_MODELS), default="r503")
    parser.add_argument("--genimg-delay", type=float, default=0.3, help="seconds per GenImg")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    emulator = R30xEmulator(
        args.link,
        pace=args.pace,
        auto=args.auto,
        baudrate=args.baudrate,
        genimg_delay=args.genimg_delay,
        model=args.model,
    ).start()
    print(emulator.path, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
