"""Logging set-up: a rotating file in the platform's log directory, plus stderr.

Never log a PIN, an ID number in full, or biometric bytes: log ``DeskError.detail`` and ids.
Called once from ``bts_desk.app`` on the main thread before anything else logs.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"


def setup_logging(log_dir: Path, level: str = "INFO", *, stderr: bool = True) -> Path:
    """Route the root logger to ``log_dir/bts-desk.log`` (5 × 2 MB) and return that path."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "bts-desk.log"
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_bts_desk", False):
            root.removeHandler(handler)
            handler.close()
    file_handler = logging.handlers.RotatingFileHandler(
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
