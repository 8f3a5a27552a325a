"""Officer sessions of the sync service: single-use challenges and HMAC-signed tokens.

Login: the desk asks for a challenge (32 random bytes, valid ``CHALLENGE_TTL_S``, stored as
its SHA-256 in the database and deleted when used, so it can be answered once), the officer's
card signs it, and ``open_session`` checks the certificate against the trusted CAs
(``bts_desk.card.identity``) and the signature, then issues a token.

A token is ``base64url(JSON claims) "." base64url(HMAC-SHA256(secret, claims))``; the claims
carry the officer and the expiry, so checking one needs no database. Called from uvicorn's
worker threads; nothing here holds state between calls apart from the database.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from sqlalchemy import delete, insert, select

from bts_desk.card.identity import officer_from_certificate, verify_challenge
from bts_desk.domain import Officer
from bts_desk.errors import CardError
from bts_desk.service.database import ServiceDatabase
from bts_desk.service.errors import ApiError
from bts_desk.service.models import SessionChallenge
from bts_desk.sync import wire

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class TokenClaims:
    officer_id: str
    name: str
    customs_code: str
    desk_id: str
    expires_at: float  # POSIX seconds


def _unauthorized(code: str, message: str, detail: str) -> ApiError:
    return ApiError(401, code, message, detail)


class TokenSigner:
    """Issues and checks session tokens with one HMAC secret."""

    def __init__(self, secret: bytes, clock: Clock, ttl_s: int = wire.TOKEN_TTL_S) -> None:
        if len(secret) < 16:
            raise ValueError("token secret must be at least 16 bytes")
        self._secret = secret
        self._clock = clock
        self.ttl_s = ttl_s

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()

    def issue(self, officer: Officer, desk_id: str) -> str:
        claims = {
            "sub": officer.officer_id,
            "name": officer.name,
            "cc": officer.customs_code,
            "desk": desk_id,
            "exp": self._clock().timestamp() + self.ttl_s,
        }
        payload = json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
        return f"{_b64url(payload)}.{_b64url(self._mac(payload))}"

    def check(self, token: str) -> TokenClaims:
        """The claims of a valid, unexpired token; ApiError 401 otherwise."""
        bad = _unauthorized(wire.E_BAD_TOKEN, "登录凭证无效，请重新登录", "token rejected")
        try:
            payload_text, mac_text = token.split(".")
            payload, mac = _unb64url(payload_text), _unb64url(mac_text)
        except ValueError as exc:
            raise bad from exc
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise bad
        claims = json.loads(payload)
        if self._clock().timestamp() >= float(claims["exp"]):
            raise _unauthorized(
                wire.E_TOKEN_EXPIRED, "登录已过期，请重新登录", f"token of {claims['sub']} expired"
            )
        return TokenClaims(
            str(claims["sub"]),
            str(claims["name"]),
            str(claims["cc"]),
            str(claims["desk"]),
            float(claims["exp"]),
        )


class SessionService:
    """Challenges and logins against the service database and the trusted CAs."""

    def __init__(
        self,
        db: ServiceDatabase,
        cas: list[x509.Certificate],
        signer: TokenSigner,
        clock: Clock,
    ) -> None:
        self._db = db
        self._cas = cas
        self._signer = signer
        self._clock = clock

    def new_challenge(self) -> bytes:
        challenge = secrets.token_bytes(wire.CHALLENGE_BYTES)
        now = self._clock().timestamp()
        with self._db.write() as conn:
            conn.execute(delete(SessionChallenge).where(SessionChallenge.expires_at < now - 60))
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

    def open_session(self, request: wire.SessionBody) -> tuple[str, Officer]:
        """Check challenge, certificate and signature; return (token, officer)."""
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
        log.info("session opened for officer %s at desk %s", officer.officer_id, request.desk_id)
        return self._signer.issue(officer, request.desk_id), officer
