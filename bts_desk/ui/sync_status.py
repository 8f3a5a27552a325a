"""The sync part of the status bar: 在线/离线, 待上传 N, 上次同步 time, 立即同步 with progress.

Fed by the sync worker (``bts_desk.sync.outbox.SyncWorker``), whose listener runs on the
worker thread and is forwarded here through ``gui_poster().wrap``. 立即同步 only wakes the
worker (no I/O here). Without a worker (no sync service configured) it says so. GUI thread.

The worker reports every step of a drain; the widget shows only the newest status, at most
every ``COALESCE_MS``: ``QProgressBar.setValue`` repaints synchronously (the whole window's
pending paint with it), which at one call per upload stalled the GUI thread (soak_bench).
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from bts_desk.sync.outbox import SyncStatus, SyncWorker
from bts_desk.ui.main_window import MainWindow
from bts_desk.ui.tasks import gui_poster

COALESCE_MS = 150


class SyncStatusWidget(QWidget):
    """Status-bar widget of the outbox and pull. ``status_changed`` re-emits every status."""

    status_changed = Signal(object)  # SyncStatus

    def __init__(self, worker: SyncWorker | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("syncStatus")
        self._worker = worker
        self.status = SyncStatus()
        self.online_label = QLabel(self)
        self.online_label.setObjectName("syncOnline")
        self.pending_label = QLabel(self)
        self.pending_label.setObjectName("syncPending")
        self.last_label = QLabel(self)
        self.last_label.setObjectName("syncLast")
        self.progress = QProgressBar(self)
        self.progress.setObjectName("syncProgress")
        self.progress.setFixedWidth(120)
        self.progress.setMaximumHeight(14)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.sync_button = QPushButton(self.tr("Sync now"), self)
        self.sync_button.setObjectName("syncNow")
        self.sync_button.setToolTip(self.tr("Upload the queue and fetch the latest records now"))
        self.sync_button.clicked.connect(self.sync_now)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(10)
        for widget in (
            self.online_label,
            self.pending_label,
            self.last_label,
            self.progress,
            self.sync_button,
        ):
            layout.addWidget(widget)
        self._latest: SyncStatus | None = None
        self._coalesce = QTimer(self)
        self._coalesce.setSingleShot(True)
        self._coalesce.setInterval(COALESCE_MS)
        self._coalesce.timeout.connect(self._show_latest)
        self._listener = gui_poster().wrap(self._status_arrived)
        if worker is not None:
            worker.add_listener(self._listener)
            self.destroyed.connect(lambda *_: worker.remove_listener(self._listener))
        self.set_status(worker.status if worker is not None else SyncStatus())

    def sync_now(self) -> None:
        """立即同步: wake the worker; the status updates arrive as it works."""
        if self._worker is not None:
            self._worker.sync_now()
            self.sync_button.setEnabled(False)

    def _status_arrived(self, status: SyncStatus) -> None:
        """A status from the worker: shown at once when none was shown for ``COALESCE_MS``,
        otherwise the newest one when the interval is over (statuses in between are dropped)."""
        if self._coalesce.isActive():
            self._latest = status
            return
        self.set_status(status)
        self._coalesce.start()

    def _show_latest(self) -> None:
        status, self._latest = self._latest, None
        if status is not None:
            self.set_status(status)
            self._coalesce.start()

    def set_status(self, status: SyncStatus) -> None:
        self.status = status
        self._show_online(status)
        pending = self.tr("Pending uploads: %n", "", status.pending)
        if status.refused:
            pending += self.tr(", refused: %n", "", status.refused)
        self.pending_label.setText(pending)
        self.pending_label.setProperty("alert", "true" if status.refused else "false")
        self.pending_label.setStyleSheet("color: #d9363e;" if status.refused else "")
        when = _when(status.last_sync)
        self.last_label.setText(
            self.tr("Last sync: %1").replace("%1", when) if when else self.tr("Last sync: never")
        )
        self.progress.setVisible(status.busy)
        if status.busy:
            self.progress.setRange(0, status.total if status.total > 0 else 0)
            self.progress.setValue(min(status.done, status.total) if status.total > 0 else 0)
        self.sync_button.setEnabled(self._worker is not None and not status.busy)
        self.setToolTip(status.message)
        self.status_changed.emit(status)

    def _show_online(self, status: SyncStatus) -> None:
        if self._worker is None:
            text, colour = self.tr("Offline (no sync service configured)"), "#888888"
        elif status.online is None:
            text, colour = self.tr("Connecting…"), "#888888"
        elif status.online:
            text, colour = self.tr("Online"), "#2e9d4f"
        else:
            text, colour = self.tr("Offline"), "#d9363e"
        if status.busy and status.phase == "upload":
            text += " · " + self.tr("uploading")
        elif status.busy and status.phase == "pull":
            text += " · " + self.tr("fetching records (%1)").replace("%1", str(status.done))
        self.online_label.setText(f"<span style='color:{colour}'>●</span> {text}")


def install(window: MainWindow, worker: SyncWorker | None) -> SyncStatusWidget:
    """Put the sync widget in the main window's status bar; returns it."""
    widget = SyncStatusWidget(worker, window)
    window.add_status_widget(widget)
    return widget


def _when(moment: dt.datetime | None) -> str:
    """Local time; today as HH:MM, other days with the date (2019-12-13 08:30)."""
    if moment is None:
        return ""
    local = moment.astimezone()
    if local.date() == dt.datetime.now().astimezone().date():
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M")
