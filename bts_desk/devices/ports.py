"""Finding the fingerprint scanner's serial port.

The modules hang behind a USB-serial bridge; the usual ones are recognised by USB VID:PID. The
config overrides discovery: ``[scanner] port = "COM3"`` (or ``/dev/ttyUSB0``) is used as is;
only ``"auto"`` (the default) searches. Pure pyserial, any thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from serial.tools import list_ports
from serial.tools.list_ports_common import ListPortInfo

from bts_desk.errors import ScannerError

AUTO = "auto"

# (VID, PID) -> bridge name, as serial.tools.list_ports reports them.
USB_SERIAL_BRIDGES: dict[tuple[int, int], str] = {
    (0x1A86, 0x7523): "CH340",
    (0x10C4, 0xEA60): "CP210x",
    (0x0403, 0x6001): "FTDI FT232R",
    (0x0403, 0x6015): "FTDI FT231X",
    (0x067B, 0x2303): "PL2303",
}


@dataclass(frozen=True)
class PortInfo:
    device: str  # what to open: "COM3", "/dev/ttyUSB0"
    description: str
    bridge: str = ""  # a known USB-serial bridge, else ""

    @property
    def label(self) -> str:
        return f"{self.device} — {self.bridge or self.description}"


def list_serial_ports(comports: Iterable[ListPortInfo] | None = None) -> list[PortInfo]:
    """Every serial port of the machine (or of ``comports``), known USB-serial bridges first."""
    found = []
    for port in list_ports.comports() if comports is None else comports:
        bridge = USB_SERIAL_BRIDGES.get((port.vid, port.pid), "") if port.vid is not None else ""
        found.append(PortInfo(port.device, port.description or "", bridge))
    return sorted(found, key=lambda p: (not p.bridge, p.device))


def resolve_port(configured: str, comports: Iterable[ListPortInfo] | None = None) -> str:
    """The port to open: the configured one, or with ``"auto"`` the first known bridge.

    Raises ScannerError when auto-discovery finds nothing (the panel shows it in red)."""
    if configured and configured != AUTO:
        return configured
    for port in list_serial_ports(comports):
        if port.bridge:
            return port.device
    raise ScannerError(
        "未找到指纹识别器：请检查 USB 连接，或在“外接设备状态”中指定端口",
        "no USB-serial bridge (CH340/CP210x/FTDI/PL2303) found by serial.tools.list_ports",
    )
