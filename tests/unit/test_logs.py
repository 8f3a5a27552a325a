"""The desk's log file: opened after the login screen, nothing logged before it lost."""

from __future__ import annotations

import logging
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bts_desk.logs import open_log_file, setup_logging


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    yield root
    for handler in list(root.handlers):
        if handler not in saved_handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(saved_level)


def test_records_before_the_file_opens_are_written_with_their_times(
    root_logger: logging.Logger, tmp_path: Path
) -> None:
    path = setup_logging(tmp_path / "log", "INFO", stderr=False, defer_file=True)
    log = logging.getLogger("bts_desk.test")
    log.info("early record")
    log.debug("below the level")
    assert not path.exists(), "the file opens after the login screen, not at set-up"

    open_log_file()
    log.warning("late record")
    open_log_file()  # a second call (e.g. at exit) changes nothing
    for handler in root_logger.handlers:
        handler.flush()

    lines = path.read_text("utf-8").splitlines()
    assert [line.split(": ", 1)[1] for line in lines] == ["early record", "late record"]
    assert lines[0] < lines[1]  # each keeps the time it was logged at
    if sys.platform != "win32":
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_without_deferring_the_file_is_written_at_once(
    root_logger: logging.Logger, tmp_path: Path
) -> None:
    path = setup_logging(tmp_path / "log", "INFO", stderr=False)
    logging.getLogger("bts_desk.test").info("at once")
    for handler in root_logger.handlers:
        handler.flush()
    assert path.read_text("utf-8").rstrip().endswith("at once")
