"""The C allocator's settings for a desk that runs all day (glibc on Linux; elsewhere nothing).

Camera frames (1280×720×3, 2.7 MB), their QImage copies and the NumPy arrays of the face gate
and the fingerprint images are allocated and freed many times a second on several threads.
glibc raises its mmap threshold to the size of the first large block freed, after which such
blocks come from per-thread heaps whose free space is rarely given back: the desk's RSS crept
up enrollment after enrollment (soak_bench). A fixed threshold keeps large blocks in mmap
(returned to the system on free) and a small arena count bounds the per-thread heaps.

Called once at start (``ui.shell.DeskShell.start``) from the GUI thread; never raises.
"""

from __future__ import annotations

import logging
import sys

log = logging.getLogger(__name__)

_M_MMAP_THRESHOLD = -3  # glibc malloc.h
_M_ARENA_MAX = -8
MMAP_THRESHOLD = 256 * 1024
ARENA_MAX = 4


def tune_allocator() -> bool:
    """Apply the settings above on glibc; True if they were applied."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt of these)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    applied = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_ARENA_MAX, ARENA_MAX)
    )
    log.info("allocator: mmap threshold %d, arenas %d (%s)", MMAP_THRESHOLD, ARENA_MAX,
             "applied" if applied else "refused")  # fmt: skip
    return applied
