"""Logging set-up: a rotating file in the platform's log directory, plus stderr.

Never log a PIN, an ID number in full, or biometric bytes: log ``DeskError.detail`` and ids.
Called once from ``bts_desk.app`` on the main thread before anything else logs.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
from io import TextIOWrapper
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"


def setup_logging(log_dir: Path, level: str = "INFO", *, stderr: bool = True) -> Path:
    """Route the root logger to ``log_dir/bts-desk.log`` (5 × 2 MB) and return that path."""
    log_dir.mkdir(parents=True, exist_ok=True)
    if sys.platform != "win32":
        log_dir.chmod(0o700)  # file names and times of work are nobody else's business
    path = log_dir / "bts-desk.log"
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_bts_desk", False):
            root.removeHandler(handler)
            handler.close()
    file_handler = _PrivateRotatingFileHandler(
        path, maxBytes=2_000_000, backupCount=5, encoding="utf-8"
    )
    handlers: list[logging.Handler] = [file_handler]
    if stderr:
        handlers.append(logging.StreamHandler())
    for handler in handlers:
        handler.setFormatter(logging.Formatter(FORMAT))
        handler._bts_desk = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level.upper())
    return path


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Each log file (the current one and every rotation) is created 0600 on POSIX."""

    def _open(self) -> TextIOWrapper:
        if sys.platform != "win32":
            fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.close(fd)
            os.chmod(self.baseFilename, 0o600)
        return super()._open()
