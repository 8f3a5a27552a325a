"""Port discovery by USB VID:PID (pyserial's own port records) and the config override."""

from __future__ import annotations

import pytest
from serial.tools.list_ports_common import ListPortInfo

from bts_desk.devices.ports import AUTO, list_serial_ports, resolve_port
from bts_desk.errors import ScannerError


def _port(device: str, vid: int | None = None, pid: int | None = None) -> ListPortInfo:
    info = ListPortInfo(device, skip_link_detection=True)
    info.vid, info.pid, info.description = vid, pid, f"{device} description"
    return info


def test_known_bridges_come_first_and_are_named() -> None:
    ports = list_serial_ports(
        [
            _port("/dev/ttyS0"),
            _port("/dev/ttyUSB3", 0x10C4, 0xEA60),
            _port("/dev/ttyACM0", 0x2341, 0x0043),  # an Arduino, not a scanner bridge
            _port("/dev/ttyUSB1", 0x1A86, 0x7523),
        ]
    )
    assert [(p.device, p.bridge) for p in ports] == [
        ("/dev/ttyUSB1", "CH340"),
        ("/dev/ttyUSB3", "CP210x"),
        ("/dev/ttyACM0", ""),
        ("/dev/ttyS0", ""),
    ]
    assert ports[0].label == "/dev/ttyUSB1 — CH340"


@pytest.mark.parametrize(
    ("vid", "pid", "bridge"),
    [(0x0403, 0x6001, "FTDI FT232R"), (0x0403, 0x6015, "FTDI FT231X"), (0x067B, 0x2303, "PL2303")],
)
def test_auto_picks_the_bridge(vid: int, pid: int, bridge: str) -> None:
    comports = [_port("COM1"), _port("COM7", vid, pid)]
    assert resolve_port(AUTO, comports) == "COM7"
    assert list_serial_ports(comports)[0].bridge == bridge


def test_configured_port_wins_and_nothing_found_is_a_clear_error() -> None:
    assert resolve_port("COM3", [_port("COM7", 0x1A86, 0x7523)]) == "COM3"
    with pytest.raises(ScannerError) as info:
        resolve_port(AUTO, [_port("/dev/ttyS0")])
    assert "外接设备状态" in info.value.user_message
    assert "CH340" in info.value.detail
