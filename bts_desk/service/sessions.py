"""Officer login on the sync service: single-use challenges, then a session.

Login: the desk asks for a challenge (32 random bytes, valid ``CHALLENGE_TTL_S``, stored as
its SHA-256 in the database and deleted when used, so it can be answered once), the officer's
card signs it, and ``open_session`` checks the certificate against the trusted CAs
(``bts_desk.card.identity``) and the signature, then opens a session (``tokens``) bound to the
officer, the desk and the districts the officer may serve (``grants``). Expired challenges are
purged as new ones are made, and at most ``MAX_LIVE_CHALLENGES`` live at once (429 beyond;
``ratelimit`` limits each address). Called from uvicorn's worker threads.
"""

from __future__ import annotations

import hashlib
import logging
import secrets

from cryptography import x509
from sqlalchemy import delete, func, insert, select

from bts_desk.card.identity import officer_from_certificate, verify_challenge
from bts_desk.errors import CardError
from bts_desk.service.database import ServiceDatabase
from bts_desk.service.errors import ApiError
from bts_desk.service.grants import districts_of
from bts_desk.service.models import SessionChallenge
from bts_desk.service.tokens import Clock, SessionStore, TokenClaims, utc_now
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
    ) -> None:
        self._db = db
        self._cas = cas
        self._store = store
        self._clock = clock

    def new_challenge(self) -> bytes:
        challenge = secrets.token_bytes(wire.CHALLENGE_BYTES)
        now = self._clock().timestamp()
        with self._db.write() as conn:
            conn.execute(delete(SessionChallenge).where(SessionChallenge.expires_at < now))
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

    def _consume_challenge(self, challenge: bytes) -> None:
        """Use up a challenge: it must be known, unused and unexpired (401 otherwise)."""
        digest = hashlib.sha256(challenge).hexdigest()
        with self._db.write() as conn:
            expires = conn.execute(
                select(SessionChallenge.expires_at).where(SessionChallenge.digest == digest)
            ).scalar_one_or_none()
            gone = conn.execute(delete(SessionChallenge).where(SessionChallenge.digest == digest))
        if expires is None or gone.rowcount != 1:
            raise _unauthorized(
                wire.E_BAD_CHALLENGE,
                "登录挑战码无效或已使用，请重新登录",
                "challenge unknown or already used",
            )
        if self._clock().timestamp() > expires:
            raise _unauthorized(
                wire.E_CHALLENGE_EXPIRED, "登录挑战码已过期，请重新登录", "challenge expired"
            )

    def open_session(self, request: wire.SessionBody) -> tuple[str, TokenClaims]:
        """Check challenge, certificate and signature; return (session id, its claims)."""
        self._consume_challenge(request.challenge)
        try:
            officer = officer_from_certificate(request.certificate, self._cas, self._clock())
        except CardError as exc:
            log.warning("session refused: %s (desk %s)", exc.detail, request.desk_id)
            raise _unauthorized(wire.E_BAD_CERTIFICATE, exc.user_message, exc.detail) from exc
        if not verify_challenge(request.certificate, request.challenge, request.signature):
            log.warning("session refused: bad signature of %s", officer.officer_id)
            raise _unauthorized(
                wire.E_BAD_SIGNATURE,
                "卡片签名校验失败，请重新插卡登录",
                f"signature of {officer.officer_id} does not verify",
            )
        districts = districts_of(self._db, officer.officer_id, officer.customs_code)
        token = self._store.issue(officer, request.desk_id, districts)
        log.info(
            "session opened for officer %s at desk %s (districts %s)",
            officer.officer_id,
            request.desk_id,
            ",".join(sorted(districts)),
        )
        return token, self._store.check(token)
