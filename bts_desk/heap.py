"""The garbage collector of the long-running processes: the desk and the service's workers.

CPython's cycle collector stops the whole process (every thread waits for the GIL) while it
runs, and a full collection traverses every tracked object of the heap. After start-up most
of them (modules, Qt wrappers, SQLAlchemy metadata, pydantic schemas, the FastAPI app) live
as long as the process does, so every full collection walks them again for nothing:

- a service worker holds ~150,000 such objects; under a pull its full collections came every
  few seconds and took up to 99 ms each (12 in one 200,000-record pull, 1 s of CPU), a
  request that arrived meanwhile waited for all of it (``fleet_bench``'s p99);
- in sync_bench's desk process (the desk's store, client and pull, and the bench's own set-up)
  full collections took 64-113 ms before the freeze and 7-9 ms after it; in the desk they
  stop the GUI thread too (a frozen window while records arrive).

``settle_heap`` moves what exists when start-up is done into the permanent generation
(``gc.freeze``): later collections only look at objects made afterwards. Nothing is disabled:
cycles made later are collected as before.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def settle_heap(*, collect_first: bool) -> None:
    """Freeze everything allocated so far out of the collector's sight; call once, when
    start-up is done, on any thread.

    ``collect_first``: collect the start-up's garbage before freezing it (the service's
    workers, where nobody waits: ~70 ms). The desk passes False: a full collection there would
    stall the GUI thread while the officer types the PIN, and the start-up's cyclic garbage
    that then stays is small and made once."""
    if collect_first:
        gc.collect()
    gc.freeze()
    log.debug("heap settled: %d objects frozen", gc.get_freeze_count())
