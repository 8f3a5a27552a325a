"""Logging set-up: a rotating file in the platform's log directory, plus stderr.

Never log a PIN, an ID number in full, or biometric bytes: log ``DeskError.detail`` and ids.
Called once from ``bts_desk.app`` on the main thread before anything else logs.

The desk opens its log file just after the login screen is usable (``defer_file``):
``logging.handlers`` pulls in socket, pickle and queue (~10 ms, a twentieth of the start-up the
officer waits for). Until then records are kept in memory (and shown on stderr) and written to
the file, with their own times, when it opens — at the latest when the process exits.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import sys
import threading
from io import TextIOWrapper
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging.handlers

FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"
MAX_BYTES, BACKUPS = 2_000_000, 5
EARLY_RECORDS = 10_000  # more before the file opens would be a start-up gone wrong: keep the last


def setup_logging(
    log_dir: Path, level: str = "INFO", *, stderr: bool = True, defer_file: bool = False
) -> Path:
    """Route the root logger to ``log_dir/bts-desk.log`` (5 × 2 MB) and return that path;
    with ``defer_file`` the file opens at ``open_log_file()`` (or at exit)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    if sys.platform != "win32":
        log_dir.chmod(0o700)  # file names and times of work are nobody else's business
    path = log_dir / "bts-desk.log"
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_bts_desk", False):
            root.removeHandler(handler)
            handler.close()
    first: logging.Handler = _EarlyRecords(path) if defer_file else _file_handler(path)
    handlers = [first, logging.StreamHandler()] if stderr else [first]
    for handler in handlers:
        _own(handler)
        root.addHandler(handler)
    root.setLevel(level.upper())
    if defer_file:
        atexit.register(open_log_file)
    return path


def open_log_file() -> None:
    """Open the deferred log file and write the records kept so far into it (main thread;
    does nothing if the file is already open)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _EarlyRecords):
            handler.hand_over(root)


class _EarlyRecords(logging.Handler):
    """Records logged before the file is open; handed over to it once."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.records: list[logging.LogRecord] = []
        self.target: logging.Handler | None = None
        self._handover = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if self.target is not None:  # logged while the hand-over replaced this handler
            self.target.handle(record)
            return
        self.records.append(record)
        if len(self.records) > EARLY_RECORDS:
            del self.records[0]

    def hand_over(self, root: logging.Logger) -> None:
        with self._handover:
            if self.target is not None:
                return
            target = _own(_file_handler(self.path))
            self.acquire()  # no emit() between taking the records and switching over
            try:
                records, self.records, self.target = self.records, [], target
                root.addHandler(target)
                root.removeHandler(self)
            finally:
                self.release()
            for record in records:
                if record.levelno >= target.level:
                    target.handle(record)


def _own(handler: logging.Handler) -> logging.Handler:
    handler.setFormatter(logging.Formatter(FORMAT))
    handler._bts_desk = True  # type: ignore[attr-defined]
    return handler


def _file_handler(path: Path) -> logging.Handler:
    return _private_rotating_handler_class()(
        path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
    )


@functools.cache
def _private_rotating_handler_class() -> type[logging.handlers.RotatingFileHandler]:
    """``RotatingFileHandler`` whose files (the current one and every rotation) are created
    0600 on POSIX; built on first use so that ``logging.handlers`` is imported only then."""
    import logging.handlers  # deferred on purpose (module doc)

    class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
        def _open(self) -> TextIOWrapper:
            if sys.platform != "win32":
                fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                os.close(fd)
                os.chmod(self.baseFilename, 0o600)
            return super()._open()

    return PrivateRotatingFileHandler
