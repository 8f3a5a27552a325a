"""The officer session: who is logged in on this desk, and whether the desk is locked.

    LOGGED_OUT --login(pin)--> LOGGED_IN --card pulled / reader gone / reset / revoked--> LOCKED
    LOCKED --unlock(pin) with the same card--> LOGGED_IN
    LOCKED --another officer's card inserted--> LOGGED_OUT (reason OTHER_CARD)
    any --logout()--> LOGGED_OUT

While logged in, the session holds the officer's token open (``token.py``: a PC/SC connection
to the card, or a PKCS#11 session, so it stays PIN-verified: ``sign_challenge`` works until it
leaves) and checks it on every tick of the presence monitor: the token gone, swapped, reset or
its reader unplugged locks the desk at the next tick (≤ 250 ms after pcscd or the module
notices), whether or not a removal event was seen.

Login and unlock trust nothing the card says until it proved it: the certificate is validated
(path to the site's CAs, officer-certificate rules, revocation) before the PIN is sent, and
after the PIN the card must sign a fresh random challenge that verifies with the certificate's
public key (``token.prove_possession``), so a real officer's certificate copied onto another
card opens nothing. Unlock also requires the same public key as the session's officer. A CRL
change (the configured file, or one fetched by the sync worker) re-checks the open session and
locks it if its certificate is now revoked.

Threads: ``login``, ``unlock``, ``examine_card`` and ``sign_challenge`` do card I/O and belong
on worker threads; ``on_tick`` runs on the monitor thread; listeners are called on whichever
thread changed the state (the UI forwards them to the GUI thread). All methods are thread-safe.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from bts_desk.card.identity import (
    CertificatePolicy,
    load_ca_certificates,
    load_certificate,
    officer_from_certificate,
    public_key_der,
)
from bts_desk.card.monitor import PresenceSnapshot
from bts_desk.card.pcsc import (
    CardRemovedError,
    CardResetError,
    PcscServiceError,
    ReaderGoneError,
)
from bts_desk.card.profile import CardProfile
from bts_desk.card.revocation import CACHE_NAME, CertificateRevokedError, CrlError, RevocationStore
from bts_desk.card.token import PcscTokenSource, Token, TokenSource, prove_possession
from bts_desk.config import Settings
from bts_desk.domain import Officer
from bts_desk.errors import CardError

log = logging.getLogger(__name__)


class SessionState(enum.Enum):
    LOGGED_OUT = "logged_out"
    LOGGED_IN = "logged_in"
    LOCKED = "locked"


class Reason(enum.Enum):
    """Why the state changed (the UI picks its wording from this)."""

    LOGIN = "login"
    UNLOCKED = "unlocked"
    CARD_REMOVED = "card_removed"
    READER_GONE = "reader_gone"
    CARD_RESET = "card_reset"
    OTHER_CARD = "other_card"
    LOGOUT = "logout"
    REVOKED = "revoked"  # the session's certificate appeared on a CRL


@dataclass(frozen=True)
class SessionEvent:
    state: SessionState
    reason: Reason
    officer: Officer | None  # the session's officer (also on LOGGED_OUT: who was logged out)
    other_officer: Officer | None = None  # OTHER_CARD: whose card ended the session


class OtherOfficerCardError(CardError):
    """While locked, another officer's card was inserted: the session has been ended."""

    def __init__(self, officer: Officer, other: Officer) -> None:
        super().__init__(
            f"插入的是另一位关员（{other.display}）的卡，{officer.display} 的会话已结束",
            f"locked session of officer {officer.officer_id} ended: card of "
            f"{other.officer_id} inserted",
        )
        self.officer = officer
        self.other = other


class NotLoggedInError(CardError):
    def __init__(self, detail: str) -> None:
        super().__init__("请先插卡并输入 PIN 登录", detail)


SessionListener = Callable[[SessionEvent], None]


def load_trusted_cas(ca_cert: str) -> list[x509.Certificate]:
    """The CA certificates named by ``settings.card.ca_cert``; CardError if unset or unreadable."""
    if not ca_cert:
        raise CardError(
            "未配置关员卡证书颁发机构（CA）证书，请联系系统管理员", "settings card.ca_cert is empty"
        )
    try:
        pem = Path(ca_cert).read_bytes()
    except OSError as exc:
        raise CardError(
            "无法读取关员卡证书颁发机构（CA）证书，请联系系统管理员", f"card.ca_cert: {exc}"
        ) from exc
    return load_ca_certificates(pem)


class OfficerSession:
    """The desk's one officer session (see the module docstring)."""

    CRL_FILE_CHECK_S = 5.0  # how often the monitor thread looks at the configured CRL file

    def __init__(
        self,
        profile: CardProfile | TokenSource,
        cas: list[x509.Certificate],
        reader_filter: str = "",
        *,
        policy: CertificatePolicy | None = None,
        revocation: RevocationStore | None = None,
    ) -> None:
        # A bare PC/SC profile (PIV) is wrapped in the reader-based token source.
        self.source: TokenSource = (
            PcscTokenSource(profile, reader_filter) if isinstance(profile, CardProfile) else profile
        )
        self.cas = cas
        self.policy = policy or CertificatePolicy()
        self.revocation = revocation
        self._crl_checked = 0.0
        self._lock = threading.RLock()
        # One APDU sequence at a time: the lock page reading a card just put back and the
        # officer's unlock (or the sync worker's signature) must not interleave their commands
        # on the card (a chained GET DATA cut by another VERIFY answers 6985). Taken before
        # ``_lock``, never while holding it.
        self._card_io = threading.Lock()
        self._state = SessionState.LOGGED_OUT
        self._officer: Officer | None = None
        self._token: Token | None = None
        self._reader = ""  # where the session's token was: looked at first when unlocking
        self._listeners: list[SessionListener] = []
        self.last_card_officer: Officer | None = None  # whose card got the last PIN (audit)
        if revocation is not None:
            revocation.add_listener(self.recheck_revocation)

    @classmethod
    def from_settings(cls, settings: Settings) -> OfficerSession:
        """The session for ``[card]``: profile, reader, CAs, certificate policy and CRL.
        ConfigError/CardError if unusable (no CA, an unreadable CRL file)."""
        from bts_desk.devices.registry import CARD_PROFILES, load_class

        profile_class = load_class(CARD_PROFILES, settings.card.profile, "卡")
        factory = getattr(profile_class, "from_settings", None)
        source = factory(settings) if factory is not None else profile_class()
        cas = load_trusted_cas(settings.card.ca_cert)
        policy = CertificatePolicy(
            require_client_auth=settings.card.require_client_auth,
            clock_skew=dt.timedelta(seconds=settings.card.clock_skew_s),
        )
        revocation = RevocationStore(
            cas,
            crl_file=Path(settings.card.crl) if settings.card.crl else None,
            cache_file=settings.data_dir / CACHE_NAME,
            clock_skew=policy.clock_skew,
        )
        revocation.load()
        return cls(source, cas, settings.card.reader, policy=policy, revocation=revocation)

    # --- state, any thread ------------------------------------------------------------------

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def officer(self) -> Officer | None:
        return self._officer

    def token_info(self) -> tuple[str, str]:
        """(the open token's location or "", what the source is), for the device panel."""
        return self.token_location, self.source.describe()

    @property
    def token_location(self) -> str:
        """Where the session's token is (reader, or module · slot · label); "" if none."""
        token = self._token
        return token.location if token is not None else ""

    def add_listener(self, listener: SessionListener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _emit(self, event: SessionEvent) -> None:
        log.info(
            "officer session %s (%s)%s",
            event.state.value,
            event.reason.value,
            f": officer {event.officer.officer_id}" if event.officer else "",
        )
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("session listener failed")

    # --- card work, worker threads ----------------------------------------------------------

    def _open_card(self) -> tuple[Token, Officer]:
        token = self.source.open_token(prefer=self._reader)
        try:
            return token, self.identify(token.read_certificate())
        except BaseException:
            token.close()
            raise

    def identify(self, certificate_der: bytes) -> Officer:
        """The officer of a card certificate: validated against the CAs and the policy, and
        not revoked. CardError (safe to show) otherwise. Any thread."""
        officer = officer_from_certificate(certificate_der, self.cas, policy=self.policy)
        if self.revocation is not None:
            self.revocation.check(load_certificate(certificate_der))
        return officer

    def _prove(self, token: Token, pin: str, officer: Officer) -> None:
        """PIN once, then the possession proof; the token is closed on any failure."""
        self.last_card_officer = officer
        try:
            token.verify_pin(pin)
            prove_possession(token, officer.certificate_der)
        except BaseException:
            token.close()
            raise

    def login(self, pin: str) -> Officer:
        """Identify the card's officer (certificate checked against the CA first, so an
        untrusted card costs no PIN try), present the PIN once, and open the session."""
        with self._lock:
            if self._state is not SessionState.LOGGED_OUT:
                raise CardError("已有关员登录，请先退出", f"login while {self._state.value}")
        with self._card_io:
            token, officer = self._open_card()
            self._prove(token, pin, officer)
        with self._lock:
            if not self._is(SessionState.LOGGED_OUT):  # another thread may have logged in
                token.close()
                raise CardError("已有关员登录，请先退出", "concurrent login")
            self._set_token(token)
            self._officer = officer
            self._state = SessionState.LOGGED_IN
        self._emit(SessionEvent(SessionState.LOGGED_IN, Reason.LOGIN, officer))
        return officer

    def examine_card(self) -> Officer:
        """While locked: read whose card is now in the reader. Another officer's card ends the
        session (OtherOfficerCardError); the same officer's card leaves it locked for the PIN."""
        with self._card_io:
            token, found = self._open_card()
            token.close()
        self._end_if_other(found)
        return found

    def unlock(self, pin: str) -> Officer:
        """Unlock with the same card and its PIN. Another officer's card ends the session
        (OtherOfficerCardError) and is not sent the PIN."""
        with self._lock:
            if self._state is not SessionState.LOCKED:
                raise NotLoggedInError(f"unlock while {self._state.value}")
        with self._card_io:
            token, found = self._open_card()
            try:
                self._end_if_other(found)
            except BaseException:
                token.close()
                raise
            self._prove(token, pin, found)
        with self._lock:
            if not self._is(SessionState.LOCKED):  # 退出 may have been pressed meanwhile
                token.close()
                raise NotLoggedInError("session ended during unlock")
            self._set_token(token)
            self._state = SessionState.LOGGED_IN
            officer = self._officer
        self._emit(SessionEvent(SessionState.LOGGED_IN, Reason.UNLOCKED, officer))
        return found

    def _end_if_other(self, found: Officer) -> None:
        with self._lock:
            officer = self._officer
            if officer is None or self._state is SessionState.LOGGED_OUT:
                raise NotLoggedInError("no session to unlock")
            if found.certificate_der == officer.certificate_der:
                return
            same_key = public_key_der(found.certificate_der) == public_key_der(
                officer.certificate_der
            )
            if same_key and found.officer_id == officer.officer_id:
                return  # the same card with a renewed certificate (same key, same officer)
            if self._state is not SessionState.LOCKED:
                return  # only a locked session is handed over to another card
            self._drop(SessionState.LOGGED_OUT)
        self._emit(SessionEvent(SessionState.LOGGED_OUT, Reason.OTHER_CARD, officer, found))
        raise OtherOfficerCardError(officer, found)

    def recheck_revocation(self) -> None:
        """Lock an open session whose certificate is now revoked (Reason.REVOKED); a locked
        one stays locked and its unlock is refused. Called after every CRL change, on the
        thread that changed it."""
        with self._lock:
            officer = self._officer
            if self._state is not SessionState.LOGGED_IN or officer is None:
                return
        if self.revocation is None:
            return
        try:
            self.revocation.check(load_certificate(officer.certificate_der))
        except CertificateRevokedError as exc:
            self._lock_for(exc)

    def sign_challenge(self, challenge: bytes) -> bytes:
        """Sign ``challenge`` with the logged-in officer's card (the sync service's officer
        login). Worker thread. NotLoggedInError unless LOGGED_IN; card errors lock the desk."""
        with self._lock:
            token, officer = self._token, self._officer
            if self._state is not SessionState.LOGGED_IN or token is None or officer is None:
                raise NotLoggedInError(f"sign_challenge while {self._state.value}")
        try:
            with self._card_io:
                return token.sign_challenge(challenge, officer.certificate_der)
        except (CardRemovedError, ReaderGoneError, CardResetError) as exc:
            self._lock_for(exc)
            raise

    def logout(self) -> None:
        """退出: end the session (any state). Any thread; no card I/O beyond disconnecting."""
        with self._lock:
            officer = self._officer
            if self._state is SessionState.LOGGED_OUT:
                return
            self._drop(SessionState.LOGGED_OUT)
        self._emit(SessionEvent(SessionState.LOGGED_OUT, Reason.LOGOUT, officer))

    # --- presence, monitor thread -----------------------------------------------------------

    def on_tick(self, snapshot: PresenceSnapshot) -> None:
        """Every monitor poll: lock unless the session's card is still in, untouched; every
        few seconds, re-read the configured CRL file if it changed."""
        self._refresh_crl_file()
        with self._lock:
            token = self._token
            if self._state is not SessionState.LOGGED_IN or token is None:
                return
        try:
            token.check(snapshot)
        except CardError as exc:
            self._lock_for(exc)

    def _refresh_crl_file(self) -> None:
        now = time.monotonic()
        if self.revocation is None or now - self._crl_checked < self.CRL_FILE_CHECK_S:
            return
        self._crl_checked = now
        try:
            self.revocation.refresh_file()  # a change calls recheck_revocation
        except CrlError as exc:
            log.warning("configured CRL not re-read: %s", exc.detail)

    def _lock_for(self, exc: CardError) -> None:
        if isinstance(exc, CertificateRevokedError):
            reason = Reason.REVOKED
        elif isinstance(exc, (ReaderGoneError, PcscServiceError)):
            reason = Reason.READER_GONE  # the reader left, or the whole PC/SC service with it
        elif isinstance(exc, CardResetError):
            reason = Reason.CARD_RESET
        else:
            reason = Reason.CARD_REMOVED
        with self._lock:
            if self._state is not SessionState.LOGGED_IN:
                return
            self._drop(SessionState.LOCKED)
            officer = self._officer
        log.info("locking the desk: %s", exc.detail)
        self._emit(SessionEvent(SessionState.LOCKED, reason, officer))

    # --- helpers, under self._lock ----------------------------------------------------------

    def _is(self, state: SessionState) -> bool:
        """State test that type checkers do not narrow (other threads change the state)."""
        return self._state is state

    def _set_token(self, token: Token) -> None:
        self._token = token
        self._reader = token.location

    def _drop(self, state: SessionState) -> None:
        token, self._token = self._token, None
        if token is not None:
            token.close()
        self._state = state
        if state is SessionState.LOGGED_OUT:
            self._officer = None
