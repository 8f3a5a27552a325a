"""``bts-desk --tour DIR``: an offscreen walk through the desk, one PNG per step.

Each step does something on the GUI thread and then waits until a readiness check passes (data
loaded, dialog open) before the picture is taken, so the pictures show real results. Other parts
add their steps (login, 补录) with ``add_step``. GUI thread; runs inside the event loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QApplication, QWidget

from bts_desk.ui.main_window import MainWindow

log = logging.getLogger(__name__)


@dataclass
class Step:
    name: str
    action: Callable[[], None]
    ready: Callable[[], bool]
    timeout_s: float
    subject: Callable[[], QWidget | None] | None


class Tour:
    """A sequence of steps over ``window``; ``run()`` returns 0 when every step got ready."""

    def __init__(self, window: QWidget, out_dir: Path) -> None:
        self.window = window
        self.out_dir = out_dir
        self.steps: list[Step] = []

    def add_step(
        self,
        name: str,
        action: Callable[[], None],
        ready: Callable[[], bool] = lambda: True,
        *,
        timeout_s: float = 60.0,
        subject: Callable[[], QWidget | None] | None = None,
    ) -> None:
        """``action`` runs, then the tour waits for ``ready``; the picture is of ``subject()``
        (default: the active modal dialog if there is one, else the main window)."""
        self.steps.append(Step(name, action, ready, timeout_s, subject))

    def wait_until(self, ready: Callable[[], bool], timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        while time.monotonic() < deadline:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            if ready():
                app.processEvents()
                return True
            time.sleep(0.02)
        return False

    def run(self) -> int:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for number, step in enumerate(self.steps, start=1):
            step.action()
            if not self.wait_until(step.ready, step.timeout_s):
                log.error("tour step %s did not get ready within %.0f s", step.name, step.timeout_s)
                return 1
            target = step.subject() if step.subject else None
            target = target or QApplication.activeModalWidget() or self.window
            path = self.out_dir / f"{number:02d}-{step.name}.png"
            if not target.grab().save(str(path)):
                log.error("cannot save %s", path)
                return 1
            print(path, flush=True)
        return 0


def add_query_steps(tour: Tour, window: MainWindow, page_key: str) -> None:
    """The 边民备案查询 steps: the tab over the data, a query by name, 详情 of a record."""
    from bts_desk.ui.query_page import QueryPage

    def page() -> QueryPage:
        widget = window.open_page(page_key)
        assert isinstance(widget, QueryPage)
        return widget

    def loaded() -> bool:
        p = page()
        return p.model.ready and not p.model.busy

    def query_by_name() -> None:
        p = page()
        p.name_edit.setText("吴")
        p.run_query()

    def open_details() -> None:
        p = page()
        p.table.selectRow(0)
        p.show_details()

    tour.add_step("query-tab", lambda: None, loaded)
    tour.add_step("query-by-name", query_by_name, loaded)
    tour.add_step("details", open_details, lambda: QApplication.activeModalWidget() is not None)
    tour.add_step("details-closed", _close_modal, lambda: QApplication.activeModalWidget() is None)


def _close_modal() -> None:
    dialog = QApplication.activeModalWidget()
    if dialog is not None:
        dialog.close()
