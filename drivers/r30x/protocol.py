"""EF 01 packet protocol of the Synochip AS608 / ZhianTec ZFM-20 / Grow R30x module family.

A packet on the wire::

    EF 01 | address (4, big-endian) | PID (1) | length (2) | payload (length - 2) | checksum (2)

``length`` counts the payload plus the two checksum bytes; the checksum is the low 16 bits of
the sum of the PID, the two length bytes and every payload byte. PIDs: 01 command, 02 data
(more follows), 07 acknowledgement (first payload byte: the confirmation code), 08 last data.

Pure functions and a streaming parser, no I/O: safe on any thread. The parser is what stands
between the desk and whatever a serial line delivers, so it resynchronises after garbage and
only ever raises the ``FrameError`` family (fuzzed in tests/unit/test_r30x_protocol.py).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bts_desk.errors import ScannerError

HEADER = b"\xef\x01"
DEFAULT_ADDRESS = 0xFFFFFFFF
MAX_PAYLOAD = 256 + 16  # the largest data packet (256 bytes) with room for a command reply
_PREFIX_LEN = 9  # header 2 + address 4 + PID 1 + length 2

PACKET_SIZES = (32, 64, 128, 256)  # ReadSysPara's packet-size code 0..3


class Pid(enum.IntEnum):
    COMMAND = 0x01
    DATA = 0x02
    ACK = 0x07
    END_DATA = 0x08


class Cmd(enum.IntEnum):
    """Instruction codes (first payload byte of a command packet)."""

    GEN_IMG = 0x01
    IMG2TZ = 0x02
    MATCH = 0x03
    SEARCH = 0x04
    REG_MODEL = 0x05
    STORE = 0x06
    LOAD_CHAR = 0x07
    UP_CHAR = 0x08
    DOWN_CHAR = 0x09
    UP_IMAGE = 0x0A
    DOWN_IMAGE = 0x0B
    DELETE_CHAR = 0x0C
    EMPTY = 0x0D
    SET_SYS_PARA = 0x0E
    READ_SYS_PARA = 0x0F
    SET_PWD = 0x12
    VFY_PWD = 0x13
    GET_RANDOM_CODE = 0x14
    HIGH_SPEED_SEARCH = 0x1B
    TEMPLATE_NUM = 0x1D
    READ_INDEX_TABLE = 0x1F
    READ_PROD_INFO = 0x3C  # R502/R503 and later: model, serial number, sensor geometry
    HANDSHAKE = 0x40  # R50x only: a module of another model may not answer it at all


class SysParaNo(enum.IntEnum):
    """SetSysPara's parameter numbers ([ZFM] §5, [R503] §SetSysPara)."""

    BAUD = 4  # N: 9600 × N bps
    SECURITY_LEVEL = 5
    PACKET_SIZE = 6  # code 0..3: 32, 64, 128, 256 bytes


class FrameError(ScannerError):
    """The bytes from the module do not form a valid packet (the driver's own error family)."""

    def __init__(self, detail: str) -> None:
        super().__init__("指纹识别器通信数据错误，请重试", detail)


class BadChecksumError(FrameError):
    """A whole packet arrived but its checksum does not add up."""


class TruncatedFrameError(FrameError):
    """The line went quiet in the middle of a packet."""


class BadFrameError(FrameError):
    """A packet with an unknown PID, an impossible length or an unexpected shape."""


class BadImageError(FrameError):
    """An uploaded image whose size fits neither 4 nor 8 bits per pixel of the sensor."""


# Confirmation codes of the AS608 / R30x user manuals, with what the officer should read.
CONFIRMATION_MESSAGES: dict[int, str] = {
    0x00: "指令执行完毕",
    0x01: "数据包接收错误",
    0x02: "传感器上没有手指",
    0x03: "录入指纹图像失败，请重新按压",
    0x04: "指纹图像太干、太淡，请重新按压",
    0x05: "指纹图像太湿、太糊，请擦干手指后重新按压",
    0x06: "指纹图像太乱，请擦干净手指和传感器后重新按压",
    0x07: "指纹特征点太少，请将手指放平、按实后重新按压",
    0x08: "指纹不匹配",
    0x09: "没有搜索到指纹",
    0x0A: "三次按压不是同一手指，特征合并失败",
    0x0B: "指纹库地址序号超出范围",
    0x0C: "从指纹库读模板出错或模板无效",
    0x0D: "上传特征失败",
    0x0E: "模块不能接收后续数据包",
    0x0F: "上传图像失败",
    0x10: "删除模板失败",
    0x11: "清空指纹库失败",
    0x12: "不能进入低功耗状态",
    0x13: "指纹识别器口令不正确",
    0x14: "系统复位失败",
    0x15: "缓冲区内没有有效原始图，无法生成图像",
    0x16: "在线升级失败",
    0x17: "残留指纹或两次采集之间手指没有移动过",
    0x18: "读写闪存出错",
    0x19: "未定义错误",
    0x1A: "无效寄存器号",
    0x1B: "寄存器设定内容错误",
    0x1C: "记事本页码指定错误",
    0x1D: "端口操作失败",
    0x1E: "自动注册失败",
    0x1F: "指纹库已满",
    0x20: "指纹识别器地址错误",
    0x21: "必须先验证口令",
    0x22: "指纹模板非空",
    0x23: "指纹模板为空",
    0x24: "指纹库为空",
    0x25: "录入次数设置错误",
    0x26: "指纹识别器操作超时",
    0x27: "指纹已存在",
    0x28: "指纹特征有关联",
    0x29: "传感器初始化失败",
    0x2A: "模组信息非空",
    0x2B: "模组信息为空",
    0x33: "指纹图像面积太小，请将手指放平、按实",
    0x34: "指纹图像不可用",
    0x35: "非法数据",
}


def confirmation_message(code: int) -> str:
    """The Chinese message for a confirmation code (unknown codes are named by number)."""
    return CONFIRMATION_MESSAGES.get(code, f"指纹识别器返回未知错误（代码 0x{code:02X}）")


@dataclass(frozen=True, slots=True)
class Packet:
    pid: int
    payload: bytes
    address: int = DEFAULT_ADDRESS

    def encode(self) -> bytes:
        return encode_packet(self.pid, self.payload, self.address)


def checksum(pid: int, payload: bytes) -> int:
    length = len(payload) + 2
    return (pid + (length >> 8) + (length & 0xFF) + sum(payload)) & 0xFFFF


def encode_packet(pid: int, payload: bytes, address: int = DEFAULT_ADDRESS) -> bytes:
    """The wire bytes of one packet."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes is too long")
    length = len(payload) + 2
    return (
        HEADER
        + address.to_bytes(4, "big")
        + bytes((pid,))
        + length.to_bytes(2, "big")
        + payload
        + checksum(pid, payload).to_bytes(2, "big")
    )


def command(cmd: int, *args: int | bytes, address: int = DEFAULT_ADDRESS) -> bytes:
    """A command packet: instruction code then its parameters (ints are single bytes)."""
    body = bytearray((cmd,))
    for arg in args:
        body += arg if isinstance(arg, bytes) else bytes((arg,))
    return encode_packet(Pid.COMMAND, bytes(body), address)


class FrameParser:
    """Streaming packet parser: ``feed`` bytes as they come, get whole packets back.

    Bytes before a header are skipped (counted in ``skipped``). A frame with a bad checksum or
    an impossible length raises the matching ``FrameError`` once and is dropped, so the next
    ``feed`` carries on from the byte after its header. ``flush_partial`` tells whether a frame
    was left half-read when the line went quiet (``TruncatedFrameError``).
    """

    def __init__(self, address: int | None = None) -> None:
        self._buf = bytearray()
        self._address = address
        self._error: FrameError | None = None
        self.skipped = 0

    def feed(self, data: bytes) -> list[Packet]:
        """Add bytes; return the complete packets now available (in order).

        A broken frame raises its FrameError; packets parsed before it in the same call are
        returned first and the error is raised by the next call (nothing is lost)."""
        self._buf += data
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        packets: list[Packet] = []
        while True:
            try:
                packet = self._next()
            except FrameError as exc:
                if not packets:
                    raise
                self._error = exc
                return packets
            if packet is None:
                return packets
            packets.append(packet)

    def pending(self) -> int:
        """Bytes held that do not yet form a packet."""
        return len(self._buf)

    def flush_partial(self) -> None:
        """Drop what is held; raise TruncatedFrameError if it was the start of a packet."""
        held = bytes(self._buf)
        self._buf.clear()
        if held.startswith(HEADER):
            raise TruncatedFrameError(f"frame cut off after {len(held)} bytes")
        if held == HEADER[:1]:
            return
        self.skipped += len(held)

    def _resync(self) -> None:
        """Drop bytes up to the next header candidate (keep a lone trailing 0xEF)."""
        start = self._buf.find(HEADER, 1)
        if start < 0:
            start = len(self._buf) - 1 if self._buf.endswith(HEADER[:1]) else len(self._buf)
        self.skipped += start
        del self._buf[:start]

    def _next(self) -> Packet | None:
        while True:
            if not self._buf.startswith(HEADER):
                if len(self._buf) < 2 and self._buf in (b"", HEADER[:1]):
                    return None
                self._resync()
                continue
            if len(self._buf) < _PREFIX_LEN:
                return None
            address = int.from_bytes(self._buf[2:6], "big")
            pid = self._buf[6]
            length = int.from_bytes(self._buf[7:9], "big")
            if pid not in Pid._value2member_map_ or not 2 <= length <= MAX_PAYLOAD + 2:
                self._resync()
                raise BadFrameError(f"bad frame: PID 0x{pid:02X}, length {length}")
            end = _PREFIX_LEN + length
            if len(self._buf) < end:
                return None
            payload = bytes(self._buf[_PREFIX_LEN : end - 2])
            got = int.from_bytes(self._buf[end - 2 : end], "big")
            if got != checksum(pid, payload):
                self._resync()
                raise BadChecksumError(
                    f"checksum 0x{got:04X} != 0x{checksum(pid, payload):04X} (PID 0x{pid:02X})"
                )
            del self._buf[:end]
            if self._address is not None and address != self._address:
                raise BadFrameError(
                    f"packet from address 0x{address:08X}, not 0x{self._address:08X}"
                )
            return Packet(pid, payload, address)


def pack_image(pixels: npt.NDArray[np.uint8], bits_per_pixel: int = 4) -> bytes:
    """8-bit grey pixels (rows × columns) → UpImage's bytes: 4 bpp high nibble first, or 8."""
    if pixels.ndim != 2 or bits_per_pixel not in (4, 8) or pixels.shape[1] % 2:
        raise ValueError(f"cannot pack a {pixels.shape} image at {bits_per_pixel} bpp")
    flat = pixels.astype(np.uint8).reshape(-1)
    if bits_per_pixel == 8:
        return bytes(flat.tobytes())
    nibbles = flat >> 4
    return bytes((nibbles[0::2] << 4) | nibbles[1::2])


def unpack_image(packed: bytes, width: int, height: int) -> tuple[npt.NDArray[np.uint8], int]:
    """UpImage's bytes → (8-bit grey pixels, height × width; bits per pixel on the wire).

    The depth is told by the length (4 bpp: nibbles scaled ×17; 8 bpp as is), so a module
    whose manual does not say still reads right; any other length is a BadImageError."""
    pixels = width * height
    if pixels <= 0 or len(packed) not in (pixels // 2, pixels):
        raise BadImageError(
            f"image of {len(packed)} bytes fits no {width}x{height} sensor at 4 or 8 bpp"
        )
    raw = np.frombuffer(packed, dtype=np.uint8)
    if len(packed) == pixels:
        return raw.reshape(height, width).copy(), 8
    out = np.empty(raw.size * 2, dtype=np.uint8)
    out[0::2] = (raw >> 4) * 17
    out[1::2] = (raw & 0x0F) * 17
    return out.reshape(height, width), 4
