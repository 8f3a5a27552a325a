"""Rate limit of the anonymous challenge endpoint: a token bucket per client address, kept in
the service database so that every worker process and every service instance on it shares it.

``POST /api/v1/session/challenge`` needs no login and writes a row, so one address may ask
``burst`` times at once and then ``per_minute`` times a minute; beyond that the answer is 429
with ``Retry-After``. The buckets were per process before: with ``--workers 2`` an address had
twice the limit, behind a load balancer N times. Now ``take`` reads and updates the address's
row (``challenge_bucket``) in the challenge's own write transaction, locked (``FOR UPDATE`` on
PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises writers), so two workers cannot both
spend the last token.

Storage is bounded: a bucket that has refilled is the same as no row, so ``purge`` deletes
those (with the expired challenges, ``sessions``), and a new address is refused while
``max_clients`` rows exist (429, as when the live challenges are at their cap). Called in
uvicorn's worker threads, inside ``ServiceDatabase.write``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, delete, func, select, update

from bts_desk.service.database import insert_if_new
from bts_desk.service.models import ChallengeBucket

MAX_ADDRESS = 64  # characters of a client address kept (IPv6 with a zone id fits)
_BUCKET = (
    select(ChallengeBucket.tokens, ChallengeBucket.updated_at)
    .where(ChallengeBucket.address == bindparam("address"))
    .with_for_update()
)


@dataclass(frozen=True)
class ChallengeLimit:
    """The limit's settings: ``burst`` at once, then ``per_minute``; ``max_clients`` rows."""

    per_minute: float = 30.0
    burst: int = 30
    max_clients: int = 10_000

    @property
    def rate(self) -> float:
        """Tokens per second."""
        return self.per_minute / 60.0

    @property
    def refill_s(self) -> float:
        """After this long without a request a bucket is full again (its row can go)."""
        return self.burst / self.rate


def take(conn: Connection, address: str, now: float, limit: ChallengeLimit) -> float:
    """Spend one token of ``address`` at ``now`` (POSIX seconds): 0.0 when it may ask, else
    the seconds until it may (nothing spent). A new address while the table is full: the
    seconds until the oldest bucket could be purged."""
    address = address[:MAX_ADDRESS]
    row = conn.execute(_BUCKET, {"address": address}).first()
    if row is None:
        if _count(conn) >= limit.max_clients:
            oldest = conn.execute(select(func.min(ChallengeBucket.updated_at))).scalar_one()
            return max(1.0, float(oldest or now) + limit.refill_s - now)
        # Two first requests of one address at once: the second waits for the first's row
        # (PostgreSQL) and then finds it taken; it is refused a token only if none is left.
        new = {"address": address, "tokens": float(limit.burst) - 1.0, "updated_at": now}
        if insert_if_new(conn, ChallengeBucket, ChallengeBucket.address, new):
            return 0.0  # a full bucket less this request's token
        row = conn.execute(_BUCKET, {"address": address}).one()
    elapsed = max(0.0, now - float(row.updated_at))  # a clock stepped back refills nothing
    tokens = min(float(limit.burst), float(row.tokens) + elapsed * limit.rate)
    if tokens < 1.0:
        return (1.0 - tokens) / limit.rate
    conn.execute(
        update(ChallengeBucket)
        .where(ChallengeBucket.address == address)
        .values(tokens=tokens - 1.0, updated_at=now)
    )
    return 0.0


def purge(conn: Connection, now: float, limit: ChallengeLimit) -> None:
    """Delete the buckets that have refilled (they mean what no row means)."""
    conn.execute(delete(ChallengeBucket).where(ChallengeBucket.updated_at < now - limit.refill_s))


def _count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(ChallengeBucket)).scalar_one())
