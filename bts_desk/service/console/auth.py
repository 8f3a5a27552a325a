"""IT administrators of the console: accounts, password checks, sessions and CSRF tokens.

Passwords are hashed with argon2id (``argon2-cffi``'s ``PasswordHasher`` defaults, rehashed on
login when the parameters change). A login opens a session: a random 32-byte token in an
HttpOnly, SameSite=Strict cookie (Secure when the request came over TLS), kept in the database
only as its SHA-256, with its own CSRF token that every form of the session must echo. The
login form itself is protected with a double-submit token (a cookie and a hidden field that
must match). Sessions live ``SESSION_TTL_S`` and end at logout (deleted: revoked at once in
every worker). Blocking (argon2 and SQL): call from worker threads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, insert, select, update

from bts_desk.errors import DeskError
from bts_desk.service.database import ServiceDatabase
from bts_desk.service.fleet_models import ConsoleAdmin, ConsoleSession

log = logging.getLogger(__name__)

SESSION_TTL_S = 8 * 3600
MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()
# A hash to verify against when the user does not exist: the answer takes as long either way.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class AdminError(DeskError):
    """An account that cannot be created (exists, weak password)."""


@dataclass(frozen=True)
class ConsoleUser:
    username: str
    csrf: str
    expires_at: float


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_admin(db: ServiceDatabase, username: str, password: str, now: dt.datetime) -> None:
    """Create an administrator; AdminError for a taken name or a short password."""
    username = username.strip()
    if not username or len(username) > 64:
        raise AdminError("用户名无效", f"bad username {username!r}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AdminError(f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符", "password too short")
    with db.write() as conn:
        if conn.execute(
            select(ConsoleAdmin.username).where(ConsoleAdmin.username == username)
        ).first():
            raise AdminError("该管理员已存在", f"admin {username} exists")
        conn.execute(
            insert(ConsoleAdmin).values(
                username=username, password_hash=_hasher.hash(password), created_at=now
            )
        )
    log.info("console administrator %s added", username)


def count_admins(db: ServiceDatabase) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(ConsoleAdmin)).scalar_one())


def check_password(db: ServiceDatabase, username: str, password: str) -> bool:
    """True when the account exists and the password is right (constant work either way)."""
    with db.read() as conn:
        stored = conn.execute(
            select(ConsoleAdmin.password_hash).where(ConsoleAdmin.username == username)
        ).scalar_one_or_none()
    try:
        _hasher.verify(stored or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    if stored is None:
        return False
    if _hasher.check_needs_rehash(stored):
        with db.write() as conn:
            conn.execute(
                update(ConsoleAdmin)
                .where(ConsoleAdmin.username == username)
                .values(password_hash=_hasher.hash(password))
            )
    return True


def open_session(db: ServiceDatabase, username: str, now: float) -> tuple[str, ConsoleUser]:
    """(cookie token, user) of a new session; expired sessions are swept on the way."""
    token = secrets.token_urlsafe(32)
    user = ConsoleUser(username, secrets.token_urlsafe(32), now + SESSION_TTL_S)
    with db.write() as conn:
        conn.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
        conn.execute(
            insert(ConsoleSession).values(
                token_sha256=_digest(token),
                username=username,
                csrf=user.csrf,
                expires_at=user.expires_at,
            )
        )
    log.info("console session opened for %s", username)
    return token, user


def session_user(db: ServiceDatabase, token: str | None, now: float) -> ConsoleUser | None:
    """The user of a live session cookie, or None."""
    if not token:
        return None
    with db.read() as conn:
        row = conn.execute(
            select(ConsoleSession.username, ConsoleSession.csrf, ConsoleSession.expires_at).where(
                ConsoleSession.token_sha256 == _digest(token)
            )
        ).first()
    if row is None or row.expires_at <= now:
        return None
    return ConsoleUser(row.username, row.csrf, row.expires_at)


def close_session(db: ServiceDatabase, token: str) -> None:
    with db.write() as conn:
        conn.execute(delete(ConsoleSession).where(ConsoleSession.token_sha256 == _digest(token)))


def active_sessions(db: ServiceDatabase, now: float) -> int:
    with db.read() as conn:
        return int(
            conn.execute(select(func.count()).where(ConsoleSession.expires_at > now)).scalar_one()
        )


def same_token(expected: str, given: str | None) -> bool:
    """Constant-time comparison of CSRF tokens (a missing one never matches)."""
    return bool(expected) and given is not None and hmac.compare_digest(expected, given)
