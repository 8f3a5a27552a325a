"""外接设备状态: the device panel, like the tray tool of the manual (硬件设备和驱动安装).

Each device (读卡器, 指纹识别器, 摄像头) shows a green or red lamp with its state and detail;
重启服务 restarts that device's worker without restarting the app. For the fingerprint scanner
IT chooses the driver (the module model) and the port (discovered USB-serial ports, or typed
in); 配置设备 saves the choice in the per-user config and restarts the scanner with it.

The panel takes the devices' monitors (``bts_desk.devices.status.DeviceMonitor``) so each
device's owner provides its own; monitors report on their threads and the panel hands their
callbacks to the GUI thread through ``gui_poster().wrap``. ``DeviceLights`` is the compact
status-bar form (three lamps) that opens the panel when clicked. GUI thread only; restarts
and port discovery run in the background (they may wait for a device).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from bts_desk.config import save_user_values
from bts_desk.devices.fingerprint import ScannerMonitor
from bts_desk.devices.ports import AUTO, PortInfo, list_serial_ports
from bts_desk.devices.registry import SCANNER_DRIVERS
from bts_desk.devices.status import DeviceKind, DeviceMonitor, DeviceStatus
from bts_desk.errors import DeskError
from bts_desk.ui.labels import QT_TRANSLATE_NOOP
from bts_desk.ui.tasks import gui_poster, run_in_background

if TYPE_CHECKING:
    from bts_desk.ui.main_window import MainWindow

log = logging.getLogger(__name__)

PAGE_KEY = "devices"
GREEN = "#2e9d46"
RED = "#d9363e"
GREY = "#a0a7b1"

KIND_NAMES: dict[DeviceKind, str] = {
    DeviceKind.CARD_READER: QT_TRANSLATE_NOOP("DevicePanel", "Card reader"),
    DeviceKind.SCANNER: QT_TRANSLATE_NOOP("DevicePanel", "Fingerprint scanner"),
    DeviceKind.CAMERA: QT_TRANSLATE_NOOP("DevicePanel", "Camera"),
}
DRIVER_NAMES: dict[str, str] = {
    "r30x": "R30x / AS608 / ZFM-20 / R503 (EF01)",
    "libfprint": "USB (libfprint)",
}

SaveValues = Callable[[str, Mapping[str, Any]], object]


def _kind_name(kind: DeviceKind) -> str:
    return QCoreApplication.translate("DevicePanel", KIND_NAMES[kind])


def _lamp_style(status: DeviceStatus | None, size: int) -> str:
    colour = GREY if status is None or status.checking else (GREEN if status.ok else RED)
    return f"background: {colour}; border-radius: {size // 2}px; border: 1px solid #00000030;"


class StatusLamp(QLabel):
    """A round green/red/grey light; ``state`` property "ok" / "error" / "unknown" (tests)."""

    def __init__(self, size: int = 14, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._size = size
        self.setFixedSize(size, size)
        self.show_status(None)

    def show_status(self, status: DeviceStatus | None) -> None:
        unknown = status is None or status.checking
        self.setProperty(
            "state", "unknown" if unknown else ("ok" if status and status.ok else "error")
        )
        self.setStyleSheet(_lamp_style(status, self._size))


class DeviceRow(QGroupBox):
    """One device: lamp, state, detail, 重启服务 (and, for the scanner, its settings)."""

    restart_requested = Signal(object)  # DeviceKind

    def __init__(self, kind: DeviceKind, parent: QWidget | None = None) -> None:
        super().__init__(_kind_name(kind), parent)
        self.kind = kind
        self.busy = False  # a restart of this device is under way
        self.setObjectName(f"device_{kind.value}")
        self.lamp = StatusLamp(18, self)
        self.state_label = QLabel(self)
        self.state_label.setObjectName("deviceState")
        self.summary_label = QLabel(self)
        self.summary_label.setWordWrap(True)
        self.detail_label = QLabel(self)
        self.detail_label.setWordWrap(True)
        self.detail_label.setStyleSheet("color: #666666; font-size: 12px;")
        self.detail_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.restart_button = QPushButton(self.tr("Restart service"), self)
        self.restart_button.clicked.connect(lambda: self.restart_requested.emit(self.kind))
        top = QHBoxLayout()
        top.addWidget(self.lamp)
        top.addWidget(self.state_label)
        top.addWidget(self.summary_label, 1)
        top.addWidget(self.restart_button)
        self.body = QVBoxLayout(self)
        self.body.addLayout(top)
        self.body.addWidget(self.detail_label)
        self.show_status(None)

    def set_busy(self, busy: bool) -> None:
        """While a restart runs, its buttons are greyed out."""
        self.busy = busy
        self.restart_button.setEnabled(not busy)
        for button in self.findChildren(QPushButton, "primaryButton"):
            button.setEnabled(not busy)

    def show_status(self, status: DeviceStatus | None) -> None:
        self.lamp.show_status(status)
        if status is None:
            self.state_label.setText(self.tr("Not installed"))
            self.summary_label.setText("")
            self.detail_label.setText("")
            self.restart_button.setEnabled(False)
            return
        self.restart_button.setEnabled(not self.busy)
        checking = status.checking
        if checking:
            self.state_label.setText(self.tr("Checking…"))
        else:
            self.state_label.setText(self.tr("Working") if status.ok else self.tr("Fault"))
        self.summary_label.setText("" if status.ok or checking else status.summary_zh)
        parts = [p for p in (status.model, status.port, status.detail) if p]
        self.detail_label.setText(status.detail or " · ".join(parts))
        self.detail_label.setToolTip(status.detail)


class ScannerSettingsForm(QWidget):
    """Driver (model) and port of the fingerprint scanner; emits ``apply`` on 配置设备."""

    apply = Signal(str, str)  # driver, port

    def __init__(self, driver: str, port: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.driver_combo = QComboBox(self)
        for name in sorted(SCANNER_DRIVERS):
            self.driver_combo.addItem(DRIVER_NAMES.get(name, name), name)
        index = self.driver_combo.findData(driver)
        self.driver_combo.setCurrentIndex(max(index, 0))
        self.port_combo = QComboBox(self)
        self.port_combo.setEditable(True)
        self.port_combo.setToolTip(self.tr("Pick a port, or type one (COM3, /dev/ttyUSB0)"))
        self.refresh_button = QPushButton(self.tr("Find ports"), self)
        self.configure_button = QPushButton(self.tr("Configure device"), self)
        self.configure_button.setObjectName("primaryButton")
        self.configure_button.clicked.connect(self._apply)
        port_row = QHBoxLayout()
        port_row.addWidget(self.port_combo, 1)
        port_row.addWidget(self.refresh_button)
        form = QFormLayout(self)
        form.setContentsMargins(26, 0, 0, 0)
        form.addRow(self.tr("Driver (model):"), self.driver_combo)
        form.addRow(self.tr("Port:"), port_row)
        form.addRow("", self.configure_button)
        self.set_ports([], port)

    def set_ports(self, ports: Sequence[PortInfo], current: str) -> None:
        """Fill the port list: automatic first, then the ports found; keep ``current``."""
        self.port_combo.clear()
        self.port_combo.addItem(self.tr("Automatic (USB-serial adapter)"), AUTO)
        for port in ports:
            self.port_combo.addItem(port.label, port.device)
        index = self.port_combo.findData(current)
        if index >= 0:
            self.port_combo.setCurrentIndex(index)
        else:
            self.port_combo.setEditText(current)

    def chosen_port(self) -> str:
        text = self.port_combo.currentText().strip()
        index = self.port_combo.findText(text)
        if index >= 0:
            return str(self.port_combo.itemData(index))
        return text or AUTO

    def chosen_driver(self) -> str:
        return str(self.driver_combo.currentData())

    def _apply(self) -> None:
        self.apply.emit(self.chosen_driver(), self.chosen_port())


class DevicePanel(QWidget):
    """外接设备状态. ``monitors``: the devices present on this desk (any order)."""

    def __init__(
        self,
        monitors: Mapping[DeviceKind, DeviceMonitor],
        *,
        scanner: ScannerMonitor | None = None,
        save: SaveValues = save_user_values,
        find_ports: Callable[[], list[PortInfo]] = list_serial_ports,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("devicePanel")
        self.monitors = dict(monitors)
        if scanner is not None:
            self.monitors.setdefault(DeviceKind.SCANNER, scanner)
        self._scanner = scanner
        self._save = save
        self._find_ports = find_ports
        title = QLabel(self.tr("External device status"), self)
        title.setStyleSheet("font-size: 16px; font-weight: bold; color: #1f5fa8;")
        self.message = QLabel(self)
        self.message.setObjectName("deviceMessage")
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        self.rows: dict[DeviceKind, DeviceRow] = {}
        self.scanner_form: ScannerSettingsForm | None = None
        for kind in DeviceKind:
            row = DeviceRow(kind, self)
            row.restart_requested.connect(self.restart)
            self.rows[kind] = row
            layout.addWidget(row)
            monitor = self.monitors.get(kind)
            if monitor is None:
                continue
            row.show_status(monitor.status())
            monitor.subscribe(gui_poster().wrap(self._on_status))
        if scanner is not None:
            self._add_scanner_form(scanner)
        layout.addWidget(self.message)
        layout.addStretch(1)

    def _add_scanner_form(self, scanner: ScannerMonitor) -> None:
        settings = scanner.settings
        form = ScannerSettingsForm(settings.driver, settings.port, self.rows[DeviceKind.SCANNER])
        form.apply.connect(self.configure_scanner)
        form.refresh_button.clicked.connect(self.refresh_ports)
        self.rows[DeviceKind.SCANNER].body.addWidget(form)
        self.scanner_form = form
        self.refresh_ports()

    def status_of(self, kind: DeviceKind) -> DeviceStatus | None:
        monitor = self.monitors.get(kind)
        return monitor.status() if monitor else None

    def _on_status(self, status: DeviceStatus) -> None:
        if not shiboken6.isValid(self):  # the tab was closed; monitors outlive it
            return
        row = self.rows.get(status.kind)
        if row is not None:
            row.show_status(status)

    def refresh_ports(self) -> None:
        """Discover serial ports in the background and refill the port list."""
        form = self.scanner_form
        if form is None:
            return
        form.refresh_button.setEnabled(False)

        def done(ports: list[PortInfo]) -> None:
            form.refresh_button.setEnabled(True)
            form.set_ports(ports, form.chosen_port())

        def failed(exc: BaseException) -> None:
            form.refresh_button.setEnabled(True)
            log.warning("listing serial ports failed: %s", exc)

        run_in_background(self._find_ports, done, failed)

    def restart(self, kind: DeviceKind) -> None:
        """重启服务 for one device: its worker stops and starts again (in the background)."""
        monitor = self.monitors.get(kind)
        if monitor is None:
            return
        row = self.rows[kind]
        row.set_busy(True)
        self._say(self.tr("Restarting the %1…").replace("%1", _kind_name(kind)))

        def done(_: object) -> None:
            row.set_busy(False)
            self._say(self.tr("The %1 was restarted.").replace("%1", _kind_name(kind)))

        def failed(exc: BaseException) -> None:
            row.set_busy(False)
            message = exc.user_message if isinstance(exc, DeskError) else str(exc)
            self._say(self.tr("Restart failed: %1").replace("%1", message), error=True)

        run_in_background(monitor.restart, done, failed)

    def configure_scanner(self, driver: str, port: str) -> None:
        """配置设备: save the scanner's driver and port, then restart it with them."""
        scanner = self._scanner
        if scanner is None:
            return
        settings = dataclasses.replace(scanner.settings, driver=driver, port=port)
        try:
            self._save("scanner", {"driver": driver, "port": port})
        except DeskError as exc:
            self._say(exc.user_message, error=True)
            return
        except OSError as exc:
            self._say(self.tr("The settings could not be saved: %1").replace("%1", str(exc)), True)
            return
        self._say(self.tr("Settings saved; restarting the fingerprint scanner…"))
        row = self.rows[DeviceKind.SCANNER]
        row.set_busy(True)

        def done(_: object) -> None:
            row.set_busy(False)
            self._say(self.tr("The fingerprint scanner now uses %1.").replace("%1", port))

        def failed(exc: BaseException) -> None:
            row.set_busy(False)
            message = exc.user_message if isinstance(exc, DeskError) else str(exc)
            self._say(self.tr("Restart failed: %1").replace("%1", message), error=True)

        run_in_background(lambda: scanner.reconfigure(settings), done, failed)

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {RED if error else '#1f5fa8'};")


class DeviceLights(QToolButton):
    """Status-bar form: one small lamp per device with its name; click opens the panel."""

    def __init__(
        self, monitors: Mapping[DeviceKind, DeviceMonitor], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("deviceLights")
        self.setAutoRaise(True)
        self.setToolTip(self.tr("External device status"))
        self.lamps: dict[DeviceKind, StatusLamp] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.setSpacing(4)
        for kind in DeviceKind:
            monitor = monitors.get(kind)
            if monitor is None:
                continue
            lamp = StatusLamp(10, self)
            lamp.show_status(monitor.status())
            self.lamps[kind] = lamp
            layout.addWidget(lamp)
            layout.addWidget(QLabel(_kind_name(kind), self))
            monitor.subscribe(gui_poster().wrap(self._on_status))
        self.setMinimumWidth(layout.sizeHint().width())
        self.setMinimumHeight(20)

    def _on_status(self, status: DeviceStatus) -> None:
        if not shiboken6.isValid(self):
            return
        lamp = self.lamps.get(status.kind)
        if lamp is not None:
            lamp.show_status(status)


def register(
    window: MainWindow,
    monitors: Mapping[DeviceKind, DeviceMonitor],
    *,
    scanner: ScannerMonitor | None = None,
    save: SaveValues = save_user_values,
) -> str:
    """Add 系统 › 外接设备状态 to the main window's menu and the device lights to its status
    bar (a click opens the page); returns the page key. GUI thread."""
    everything = dict(monitors)
    if scanner is not None:
        everything.setdefault(DeviceKind.SCANNER, scanner)
    key = window.add_page(
        QCoreApplication.translate("DevicePanel", "System"),
        QCoreApplication.translate("DevicePanel", "External device status"),
        lambda: DevicePanel(monitors, scanner=scanner, save=save),
        key=PAGE_KEY,
    )
    lights = DeviceLights(everything, window)
    lights.clicked.connect(lambda: window.open_page(key))
    window.add_status_widget(lights)
    return key
