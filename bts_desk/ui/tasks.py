"""Getting work off the GUI thread and results back onto it (in the style of Anki's aqt ops).

- ``GuiPoster`` marshals a call from any thread onto the GUI thread: core workers (plain
  threads that report through callbacks) hand their callbacks through ``poster.wrap(fn)``.
- ``run_in_background(task, on_success, on_failure)`` runs ``task`` on a pool of Python
  threads and calls exactly one of the callbacks on the GUI thread.

Python threads, not Qt's ``QThreadPool``: Python code run on Qt's pool threads crashed in
libpython now and then under PySide6 6.12 (soak_bench: a segfault in a "Thread (pooled)"
once in ~55-90 enrollments, with a Python ``QRunnable`` subclass and with a plain callable
alike), while Python threads hand results to the GUI thread through ``GuiPoster`` all day
(the sync worker does) without one.

Both must be created on the GUI thread (the poster's QObject lives where it is made).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Qt, Signal, Slot

log = logging.getLogger(__name__)

T = TypeVar("T")


class GuiPoster(QObject):
    """Runs posted callables on the thread this object lives in (the GUI thread)."""

    _posted = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._posted.connect(self._run, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _run(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:  # a GUI callback must never take the event loop down
            log.exception("GUI callback failed")

    def post(self, fn: Callable[[], None]) -> None:
        """Thread-safe: queue ``fn`` for the GUI thread."""
        self._posted.emit(fn)

    def wrap(self, fn: Callable[..., None]) -> Callable[..., None]:
        """A callable for any thread that forwards its arguments to ``fn`` on the GUI thread."""

        def forward(*args: Any, **kwargs: Any) -> None:
            self.post(lambda: fn(*args, **kwargs))

        return forward


def _run_task(task: Callable[[], Any], done: Callable[[bool, Any], None]) -> None:
    """Pool thread: run ``task`` and report its result or exception to ``done``."""
    try:
        result = task()
    except BaseException as exc:
        done(False, exc)
    else:
        done(True, result)


@functools.cache
def background_pool() -> Executor:
    """The process-wide pool of ``run_in_background`` (saves, look-ups, device checks)."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="bts-background")


@functools.cache
def gui_poster() -> GuiPoster:
    """The process-wide poster (made lazily on the GUI thread by the first caller)."""
    return GuiPoster()


def run_in_background(
    task: Callable[[], T],
    on_success: Callable[[T], None],
    on_failure: Callable[[BaseException], None],
    *,
    pool: Executor | None = None,
) -> None:
    """Run ``task`` on a pool thread; then ``on_success(result)`` or ``on_failure(exc)`` on the
    GUI thread. Call from the GUI thread."""
    poster = gui_poster()

    def done(ok: bool, value: Any) -> None:
        if ok:
            poster.post(lambda: on_success(value))
        else:
            log.debug("background task failed: %r", value)
            poster.post(lambda: on_failure(value))

    (pool or background_pool()).submit(_run_task, task, done)
