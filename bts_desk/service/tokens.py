"""Officer sessions: opaque, revocable session ids bound to officer, desk and districts.

A session id is 32 random bytes (URL-safe base64) handed to the desk once; the service keeps
only its SHA-256, with the officer, the desk named at login, the districts granted then,
the expiry and a revoked flag. Checking one is a primary-key read, so a revocation (the desk
logging out or its card pulled, ``bts-sync-server revoke``) is refused at the very next
request by every service process. Expired and revoked rows are purged as new sessions open.
The purge runs at most every ``PURGE_EVERY_S`` per process, not at every login: it is a scan
of the table (``revoked`` has no index), which at a fleet's rate of logins would cost more
than the logins themselves. Blocking (SQL): called from Starlette's worker threads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, delete, insert, or_, select, update

from bts_desk.domain import Officer
from bts_desk.service.database import ServiceDatabase
from bts_desk.service.errors import ApiError
from bts_desk.service.models import OfficerSession
from bts_desk.sync import wire

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
PURGE_GRACE_S = 3600.0  # expired sessions stay this long (a late request still says "expired")
PURGE_EVERY_S = 60.0  # per process


# The session check of every request, built once (constructing it per call cost more CPU
# than running it).
_SESSION_OF = select(OfficerSession).where(OfficerSession.token_sha256 == bindparam("digest"))


class Every:
    """True at most once every ``seconds`` of the service's clock (thread-safe): the gate of
    periodic purges."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._next = float("-inf")
        self._lock = threading.Lock()

    def due(self, now: float) -> bool:
        with self._lock:
            if now < self._next:
                return False
            self._next = now + self.seconds
            return True


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class TokenClaims:
    """Who a request's session belongs to."""

    officer_id: str
    name: str
    customs_code: str
    desk_id: str
    expires_at: float  # POSIX seconds
    districts: frozenset[str] = frozenset()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _unauthorized(code: str, message: str, detail: str) -> ApiError:
    return ApiError(401, code, message, detail)


class SessionStore:
    """Issues, checks and revokes session ids in the service database."""

    def __init__(self, db: ServiceDatabase, clock: Clock, ttl_s: int = wire.TOKEN_TTL_S) -> None:
        self._db = db
        self._clock = clock
        self.ttl_s = ttl_s
        self._purge = Every(PURGE_EVERY_S)

    def issue(self, officer: Officer, desk_id: str, districts: frozenset[str]) -> str:
        with self._db.write() as conn:
            token, _claims = self.issue_in(conn, officer, desk_id, districts)
        return token

    def issue_in(
        self, conn: Connection, officer: Officer, desk_id: str, districts: frozenset[str]
    ) -> tuple[str, TokenClaims]:
        """``issue`` inside an open write transaction (the login's); the token and its claims."""
        token = secrets.token_urlsafe(32)
        now = self._clock().timestamp()
        if self._purge.due(now):
            conn.execute(
                delete(OfficerSession).where(
                    or_(
                        OfficerSession.expires_at < now - PURGE_GRACE_S,
                        OfficerSession.revoked.is_(True),
                    )
                )
            )
        claims = TokenClaims(
            officer_id=officer.officer_id,
            name=officer.name,
            customs_code=officer.customs_code,
            desk_id=desk_id,
            expires_at=now + self.ttl_s,
            districts=districts,
        )
        conn.execute(
            insert(OfficerSession).values(
                token_sha256=_digest(token),
                officer_id=claims.officer_id,
                officer_name=claims.name,
                customs_code=claims.customs_code,
                desk_id=desk_id,
                districts=",".join(sorted(districts)),
                created_at=now,
                expires_at=claims.expires_at,
                revoked=False,
            )
        )
        return token, claims

    def check(self, token: str) -> TokenClaims:
        """The claims of a live session; ApiError 401 otherwise."""
        with self._db.lookup() as conn:
            row = conn.execute(_SESSION_OF, {"digest": _digest(token)}).first()
        if row is None or row.revoked:
            raise _unauthorized(
                wire.E_BAD_TOKEN, "登录凭证无效，请重新登录", "token unknown/revoked"
            )
        session = row
        if self._clock().timestamp() >= session.expires_at:
            raise _unauthorized(
                wire.E_TOKEN_EXPIRED,
                "登录已过期，请重新登录",
                f"token of {session.officer_id} expired",
            )
        return TokenClaims(
            officer_id=session.officer_id,
            name=session.officer_name,
            customs_code=session.customs_code,
            desk_id=session.desk_id,
            expires_at=session.expires_at,
            districts=frozenset(filter(None, session.districts.split(","))),
        )

    def revoke(self, token: str) -> bool:
        """End one session (logout, card pulled); False if it was unknown or already ended."""
        with self._db.write() as conn:
            done = conn.execute(
                update(OfficerSession)
                .where(
                    OfficerSession.token_sha256 == _digest(token),
                    OfficerSession.revoked.is_(False),
                )
                .values(revoked=True)
            )
        return bool(done.rowcount)
