"""外接设备状态 (pytest-qt): the scanner row follows the real emulated module through the real
driver and worker (green, red on unplug, green on replug), 配置设备 saves driver and port and
restarts the scanner, 重启服务 restarts a device, the status-bar lights follow."""

from __future__ import annotations

import functools
import logging
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from bts_desk.config import CameraSettings, ScannerSettings, save_user_values
from bts_desk.devices.camera import CameraMonitor
from bts_desk.devices.fingerprint import ScannerMonitor
from bts_desk.devices.ports import PortInfo
from bts_desk.devices.status import DeviceKind, DeviceStatus, StatusCallback
from bts_desk.drivers.r30x.emulator import R30xEmulator
from bts_desk.ui import device_panel
from bts_desk.ui.device_panel import DeviceLights, DevicePanel
from bts_desk.ui.main_window import MainWindow

SHOTS = Path("/tmp")


class CardReaderStatus:
    """The card reader's monitor as the panel sees it (the PC/SC side is issue 3's)."""

    def __init__(self) -> None:
        self.restarts = 0
        self._status = DeviceStatus(
            DeviceKind.CARD_READER, True, "正常", "vpcd 0: card present", driver="piv"
        )

    def status(self) -> DeviceStatus:
        return self._status

    def restart(self) -> None:
        self.restarts += 1

    def subscribe(self, callback: StatusCallback) -> None:
        pass


@pytest.fixture
def scanner_monitor(r30x_emulator: R30xEmulator) -> Iterator[ScannerMonitor]:
    monitor = ScannerMonitor(
        ScannerSettings(driver="r30x", port=str(r30x_emulator.path)), check_interval=0.1
    )
    monitor.restart()
    yield monitor
    monitor.stop()


@pytest.fixture
def camera_monitor(tmp_path: Path) -> CameraMonitor:
    monitor = CameraMonitor(CameraSettings(source=str(tmp_path / "no-such-camera.avi")))
    monitor.restart()
    return monitor


def _panel(
    qtbot: QtBot,
    scanner: ScannerMonitor,
    camera: CameraMonitor,
    card: CardReaderStatus,
    config_file: Path,
) -> DevicePanel:
    panel = DevicePanel(
        {DeviceKind.CARD_READER: card, DeviceKind.CAMERA: camera},
        scanner=scanner,
        save=functools.partial(save_user_values, path=config_file),
        find_ports=lambda: [PortInfo("/dev/ttyUSB0", "USB Serial", "CH340")],
    )
    qtbot.addWidget(panel)
    panel.resize(640, 560)
    panel.show()
    return panel


def test_panel_follows_the_scanner_and_restarts_devices(
    qtbot: QtBot,
    r30x_emulator: R30xEmulator,
    scanner_monitor: ScannerMonitor,
    camera_monitor: CameraMonitor,
    tmp_path: Path,
) -> None:
    card = CardReaderStatus()
    panel = _panel(qtbot, scanner_monitor, camera_monitor, card, tmp_path / "user.toml")
    scanner_row = panel.rows[DeviceKind.SCANNER]
    camera_row = panel.rows[DeviceKind.CAMERA]
    qtbot.waitUntil(lambda: scanner_row.lamp.property("state") == "ok", timeout=5000)
    qtbot.waitUntil(lambda: camera_row.lamp.property("state") == "error", timeout=5000)
    assert panel.rows[DeviceKind.CARD_READER].lamp.property("state") == "ok"
    assert "R503" in scanner_row.detail_label.text()  # the model the module reported
    assert "192×192 508 dpi" in scanner_row.detail_label.text()
    assert scanner_row.state_label.text() in ("Working", "正常")
    assert camera_row.summary_label.text()  # the camera's Chinese reason
    form = panel.scanner_form
    assert form is not None
    qtbot.waitUntil(lambda: form.port_combo.count() == 2, timeout=5000)
    assert "CH340" in form.port_combo.itemText(1)
    panel.grab().save(str(SHOTS / "device_panel_green.png"))

    r30x_emulator.unplug()
    qtbot.waitUntil(lambda: scanner_row.lamp.property("state") == "error", timeout=5000)
    assert "USB" in scanner_row.summary_label.text()
    panel.grab().save(str(SHOTS / "device_panel_unplugged.png"))
    r30x_emulator.replug()
    qtbot.waitUntil(lambda: scanner_row.lamp.property("state") == "ok", timeout=5000)

    panel.rows[DeviceKind.CARD_READER].restart_button.click()
    qtbot.waitUntil(lambda: card.restarts == 1, timeout=5000)
    scanner_row.restart_button.click()
    qtbot.waitUntil(scanner_row.restart_button.isEnabled, timeout=10000)
    qtbot.waitUntil(lambda: scanner_row.lamp.property("state") == "ok", timeout=5000)


def test_configure_device_saves_driver_and_port_and_restarts(
    qtbot: QtBot,
    r30x_emulator: R30xEmulator,
    camera_monitor: CameraMonitor,
    tmp_path: Path,
) -> None:
    config_file = tmp_path / "user.toml"
    monitor = ScannerMonitor(
        ScannerSettings(driver="r30x", port=str(tmp_path / "ttyNONE")), check_interval=0.1
    )
    monitor.restart()
    try:
        panel = _panel(qtbot, monitor, camera_monitor, CardReaderStatus(), config_file)
        row = panel.rows[DeviceKind.SCANNER]
        qtbot.waitUntil(lambda: row.lamp.property("state") == "error", timeout=5000)
        assert "未连接" in row.summary_label.text()
        form = panel.scanner_form
        assert form is not None
        form.port_combo.setEditText(str(r30x_emulator.path))  # typed in by IT
        form.configure_button.click()
        qtbot.waitUntil(lambda: row.lamp.property("state") == "ok", timeout=10000)
        saved = tomllib.loads(config_file.read_text("utf-8"))
        assert saved["scanner"] == {"driver": "r30x", "port": str(r30x_emulator.path)}
        assert monitor.settings.port == str(r30x_emulator.path)
        panel.grab().save(str(SHOTS / "device_panel_configured.png"))
    finally:
        monitor.stop()


def test_status_bar_lights(
    qtbot: QtBot,
    r30x_emulator: R30xEmulator,
    scanner_monitor: ScannerMonitor,
    camera_monitor: CameraMonitor,
) -> None:
    lights = DeviceLights(
        {
            DeviceKind.CARD_READER: CardReaderStatus(),
            DeviceKind.SCANNER: scanner_monitor,
            DeviceKind.CAMERA: camera_monitor,
        }
    )
    qtbot.addWidget(lights)
    lights.show()
    scanner_lamp = lights.lamps[DeviceKind.SCANNER]
    qtbot.waitUntil(lambda: scanner_lamp.property("state") == "ok", timeout=5000)
    r30x_emulator.unplug()
    qtbot.waitUntil(lambda: scanner_lamp.property("state") == "error", timeout=5000)
    lights.grab().save(str(SHOTS / "device_lights.png"))
    with qtbot.waitSignal(lights.clicked, timeout=2000):  # opens the panel (main window)
        qtbot.mouseClick(lights, Qt.MouseButton.LeftButton)


def test_registered_in_the_main_window_and_opened_from_the_status_bar(
    qtbot: QtBot,
    caplog: pytest.LogCaptureFixture,
    r30x_emulator: R30xEmulator,
    scanner_monitor: ScannerMonitor,
    camera_monitor: CameraMonitor,
) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1000, 650)
    window.show()
    key = device_panel.register(
        window,
        {DeviceKind.CARD_READER: CardReaderStatus(), DeviceKind.CAMERA: camera_monitor},
        scanner=scanner_monitor,
        save=functools.partial(save_user_values, path=r30x_emulator.path.parent / "user.toml"),
    )
    lights = window.findChild(DeviceLights)
    assert lights is not None and window.page(key) is None
    qtbot.mouseClick(lights, Qt.MouseButton.LeftButton)
    panel = window.page(key)
    assert isinstance(panel, DevicePanel)
    row = panel.rows[DeviceKind.SCANNER]
    qtbot.waitUntil(lambda: row.lamp.property("state") == "ok", timeout=5000)
    window.grab().save(str(SHOTS / "device_panel_in_window.png"))

    window.close_tab(window.tabs.indexOf(panel))  # the tab goes; the monitors stay
    qtbot.waitUntil(lambda: not shiboken6.isValid(panel), timeout=2000)
    with caplog.at_level(logging.ERROR):
        r30x_emulator.unplug()
        scanner_lamp = lights.lamps[DeviceKind.SCANNER]
        qtbot.waitUntil(lambda: scanner_lamp.property("state") == "error", timeout=5000)
    assert not [r for r in caplog.records if "callback failed" in r.getMessage()]
