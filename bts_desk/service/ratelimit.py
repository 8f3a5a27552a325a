"""Rate limit of the anonymous challenge endpoint: a token bucket per client address.

``POST /api/v1/session/challenge`` needs no login and writes a row, so one address may ask
``burst`` times at once and then ``per_minute`` times a minute; beyond that the answer is
429 with ``Retry-After``. At most ``max_clients`` addresses are tracked (least recently seen
forgotten first), so the limiter's memory is bounded too. Thread-safe (a lock around a
dict); per process — with several workers each has its own buckets.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class ChallengeLimiter:
    def __init__(
        self,
        per_minute: float = 30.0,
        burst: int = 30,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, when
        self._lock = threading.Lock()

    def wait_s(self, address: str) -> float:
        """0 when ``address`` may ask now (and counts the request), else seconds to wait."""
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.pop(address, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.rate)
            wait = 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate
            self._buckets[address] = (tokens - 1.0 if wait == 0.0 else tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return wait

    def __len__(self) -> int:
        with self._lock:
            return len(self._buckets)
