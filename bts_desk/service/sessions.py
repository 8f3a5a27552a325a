"""Officer login on the sync service: single-use challenges, then a session.

Login: the desk asks for a challenge (32 random bytes, valid ``CHALLENGE_TTL_S``, stored as
its SHA-256 in the database and deleted when used, so it can be answered once), the officer's
card signs it, and ``open_session`` checks the certificate against the trusted CAs
(``bts_desk.card.identity``) and the signature, then opens a session (``tokens``) bound to the
officer, the desk and the districts the officer may serve (``grants``). Expired challenges are
purged as new ones are made (at most every ``PURGE_EVERY_S`` per process), and at most
``MAX_LIVE_CHALLENGES`` live at once (429 beyond). Each client address has its token bucket
(``ratelimit``), spent in the challenge's own transaction, so the limit holds across worker
processes and service instances on one database.

A login is one write transaction: the certificate and the signature are checked first (CPU
only), then the challenge is used up (``DELETE … RETURNING``: once, even when the login is
refused), the grants read and the session inserted. Four transactions (and four connection
checkouts) each login before; a fleet renews every desk's token every 15 minutes.
Called from uvicorn's worker threads.
"""

from __future__ import annotations

import hashlib
import logging
import secrets

from cryptography import x509
from sqlalchemy import Connection, delete, func, insert, select

from bts_desk.card.identity import officer_from_certificate, verify_challenge
from bts_desk.domain import Officer
from bts_desk.errors import CardError
from bts_desk.service import ratelimit
from bts_desk.service.database import ServiceDatabase
from bts_desk.service.errors import ApiError
from bts_desk.service.grants import districts_in
from bts_desk.service.models import SessionChallenge
from bts_desk.service.ratelimit import ChallengeLimit
from bts_desk.service.tokens import PURGE_EVERY_S, Clock, Every, SessionStore, TokenClaims, utc_now
from bts_desk.sync import wire

__all__ = ["Clock", "SessionService", "TokenClaims", "utc_now"]

log = logging.getLogger(__name__)

MAX_LIVE_CHALLENGES = 10_000


def _unauthorized(code: str, message: str, detail: str) -> ApiError:
    return ApiError(401, code, message, detail)


class SessionService:
    """Challenges and logins against the service database and the trusted CAs."""

    def __init__(
        self,
        db: ServiceDatabase,
        cas: list[x509.Certificate],
        store: SessionStore,
        clock: Clock,
        limit: ChallengeLimit | None = None,
    ) -> None:
        self._db = db
        self._cas = cas
        self._store = store
        self._clock = clock
        self._limit = limit or ChallengeLimit()
        self._purge = Every(PURGE_EVERY_S)

    def new_challenge(self, address: str) -> bytes:
        """A challenge for a client at ``address``; ApiError 429 (with ``Retry-After``) when
        that address has asked too often or too many challenges are live."""
        challenge = secrets.token_bytes(wire.CHALLENGE_BYTES)
        now = self._clock().timestamp()
        with self._db.write(durable=False) as conn:  # lost in a crash: the desk asks again
            if self._purge.due(now):
                conn.execute(delete(SessionChallenge).where(SessionChallenge.expires_at < now))
                ratelimit.purge(conn, now, self._limit)
            wait = ratelimit.take(conn, address, now, self._limit)
            if wait > 0:
                raise ApiError(
                    429,
                    wire.E_TOO_MANY,
                    "登录请求过多，请稍后重试",
                    f"challenge rate limit of {address}",
                    headers={"Retry-After": str(max(1, round(wait)))},
                )
            live = conn.execute(select(func.count()).select_from(SessionChallenge)).scalar_one()
            if live >= MAX_LIVE_CHALLENGES:
                raise ApiError(
                    429, wire.E_TOO_MANY, "登录请求过多，请稍后重试", f"{live} live challenges"
                )
            conn.execute(
                insert(SessionChallenge).values(
                    digest=hashlib.sha256(challenge).hexdigest(),
                    expires_at=now + wire.CHALLENGE_TTL_S,
                )
            )
        return challenge

    def _consume_challenge(self, conn: Connection, challenge: bytes) -> ApiError | None:
        """Use up a challenge: it must be known, unused and unexpired (the refusal if not)."""
        digest = hashlib.sha256(challenge).hexdigest()
        expires = conn.execute(
            delete(SessionChallenge)
            .where(SessionChallenge.digest == digest)
            .returning(SessionChallenge.expires_at)
        ).scalar_one_or_none()
        if expires is None:
            return _unauthorized(
                wire.E_BAD_CHALLENGE,
                "登录挑战码无效或已使用，请重新登录",
                "challenge unknown or already used",
            )
        if self._clock().timestamp() > expires:
            return _unauthorized(
                wire.E_CHALLENGE_EXPIRED, "登录挑战码已过期，请重新登录", "challenge expired"
            )
        return None

    def _check_card(self, request: wire.SessionBody) -> Officer | ApiError:
        """The officer of a valid certificate whose key signed the challenge (CPU only)."""
        try:
            officer = officer_from_certificate(request.certificate, self._cas, self._clock())
        except CardError as exc:
            log.warning("session refused: %s (desk %s)", exc.detail, request.desk_id)
            return _unauthorized(wire.E_BAD_CERTIFICATE, exc.user_message, exc.detail)
        if not verify_challenge(request.certificate, request.challenge, request.signature):
            log.warning("session refused: bad signature of %s", officer.officer_id)
            return _unauthorized(
                wire.E_BAD_SIGNATURE,
                "卡片签名校验失败，请重新插卡登录",
                f"signature of {officer.officer_id} does not verify",
            )
        return officer

    def open_session(self, request: wire.SessionBody) -> tuple[str, TokenClaims]:
        """Check challenge, certificate and signature; return (session id, its claims).
        The challenge is used up whatever the outcome; its refusal comes first."""
        card = self._check_card(request)
        with self._db.write() as conn:
            refused = self._consume_challenge(conn, request.challenge)
            if refused is None and isinstance(card, Officer):
                districts = districts_in(conn, card.officer_id, card.customs_code)
                token, claims = self._store.issue_in(conn, card, request.desk_id, districts)
        if refused is not None:
            raise refused
        if isinstance(card, ApiError):
            raise card
        log.info(
            "session opened for officer %s at desk %s (districts %s)",
            card.officer_id,
            request.desk_id,
            ",".join(sorted(districts)),
        )
        return token, claims
