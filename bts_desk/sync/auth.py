"""Officer tokens for the sync service: challenge → card signature → short-lived token.

- ``ChallengeSigner``: what can sign a challenge with an officer's key. The card session
  implements it (PIV GENERAL AUTHENTICATE with the 9A key); ``PemSigner`` is the software
  stand-in for IT tools and tests.
- ``OfficerAuth``: one officer's token, obtained through the signer and refreshed shortly
  before it expires (or after a 401).
- ``TokenBroker``: which officers can upload now. Only an officer's own token may upload the
  officer's enrollments (the service checks it too); the app tells the broker who is logged in
  with ``set_signer``.

Signing may talk to the card (PC/SC): call from worker threads only. Thread-safe.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from bts_desk.domain import Officer
from bts_desk.errors import CardError, SyncError
from bts_desk.sync.client import SessionGrant, SyncAuthError, SyncClient
from bts_desk.sync.wire import E_BAD_CHALLENGE, E_CHALLENGE_EXPIRED

log = logging.getLogger(__name__)

REFRESH_MARGIN_S = 60.0  # get a new token this long before the old one expires


class ChallengeSigner(Protocol):
    """Signs sync-service challenges with an officer's private key (the card's 9A key)."""

    @property
    def certificate_der(self) -> bytes: ...

    def sign(self, challenge: bytes) -> bytes:
        """ECDSA P-256/SHA-256 or RSA PKCS#1 v1.5/SHA-256 over ``challenge``. May raise
        CardError (card removed, PIN no longer verified)."""
        ...


def officer_id_of(certificate_der: bytes) -> str:
    """The officer number (subject serialNumber) of a certificate; trust is the service's job."""
    try:
        cert = x509.load_der_x509_certificate(certificate_der)
    except ValueError as exc:
        raise CardError("卡内证书无法读取", f"certificate is not DER X.509: {exc}") from exc
    values = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    if not values:
        raise CardError("卡内证书缺少关员编号", "certificate subject has no serialNumber")
    return str(values[0].value)


class CallableSigner:
    """A ChallengeSigner from a certificate and a signing function, e.g. the card session:
    ``CallableSigner(officer.certificate_der, card_session.sign_challenge)``."""

    def __init__(self, certificate_der: bytes, sign: Callable[[bytes], bytes]) -> None:
        self._der = certificate_der
        self._sign = sign

    @property
    def certificate_der(self) -> bytes:
        return self._der

    def sign(self, challenge: bytes) -> bytes:
        return self._sign(challenge)


class PemSigner:
    """A software ChallengeSigner from a PEM private key and its certificate (IT, tests)."""

    def __init__(self, key_pem: bytes, certificate: bytes) -> None:
        key = serialization.load_pem_private_key(key_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise CardError("不支持的密钥类型", f"unsupported key type {type(key).__name__}")
        self._key = key
        cert = (
            x509.load_pem_x509_certificate(certificate)
            if certificate.lstrip().startswith(b"-----")
            else x509.load_der_x509_certificate(certificate)
        )
        self._der = cert.public_bytes(serialization.Encoding.DER)

    @classmethod
    def from_files(cls, key_file: Path, cert_file: Path) -> PemSigner:
        return cls(key_file.read_bytes(), cert_file.read_bytes())

    @property
    def certificate_der(self) -> bytes:
        return self._der

    def sign(self, challenge: bytes) -> bytes:
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(challenge, ec.ECDSA(hashes.SHA256()))
        return self._key.sign(challenge, padding.PKCS1v15(), hashes.SHA256())


class OfficerAuth:
    """The token of the officer whose key ``signer`` holds; refreshed when it runs out."""

    def __init__(self, client: SyncClient, signer: ChallengeSigner) -> None:
        self._client = client
        self._signer = signer
        self.officer_id = officer_id_of(signer.certificate_der)
        # Name and district as the service knows them, once a session was opened (for the
        # audit rows of this officer's pulls); until then only the number.
        self.officer = Officer(self.officer_id, "", "")
        self._grant: SessionGrant | None = None
        self._lock = threading.Lock()

    def token(self) -> str:
        """A valid token (logging in with the signer if needed). Raises SyncError/CardError."""
        with self._lock:
            grant = self._grant
            if grant is None or grant.expires_at - time.monotonic() < REFRESH_MARGIN_S:
                grant = self._grant = self._login()
            return grant.token

    def invalidate(self) -> None:
        """Forget the token (after a 401): the next ``token()`` logs in again."""
        with self._lock:
            self._grant = None

    @property
    def districts(self) -> tuple[str, ...]:
        """The districts of the current session (empty before the first login)."""
        grant = self._grant
        return grant.districts if grant is not None else ()

    def revoke(self) -> None:
        """End the session on the service and forget it (blocking HTTP: a worker thread).
        Failing to reach the service is logged, not raised: the session then simply expires."""
        with self._lock:
            grant, self._grant = self._grant, None
        if grant is None:
            return
        try:
            self._client.close_session(grant.token)
            log.info("sync session of officer %s ended", self.officer_id)
        except SyncError as exc:
            log.warning("could not end the sync session of %s: %s", self.officer_id, exc.detail)

    def _login(self) -> SessionGrant:
        for attempt in range(2):
            challenge = self._client.challenge()
            signature = self._signer.sign(challenge)
            try:
                grant = self._client.open_session(
                    self._signer.certificate_der, challenge, signature
                )
            except SyncAuthError as exc:
                # A repeated POST (lost response) used the challenge up: ask for a new one once.
                if attempt == 0 and exc.code in (E_BAD_CHALLENGE, E_CHALLENGE_EXPIRED):
                    continue
                raise
            if grant.officer.officer_id != self.officer_id:
                raise SyncError(
                    "同步服务器返回的关员与本卡不符",
                    f"session for {grant.officer.officer_id}, card is {self.officer_id}",
                )
            log.info("sync session opened for officer %s", self.officer_id)
            self.officer = grant.officer
            return grant
        raise AssertionError("unreachable")  # pragma: no cover


class TokenBroker:
    """Who may upload now: the officer logged in at the desk (``set_signer``)."""

    def __init__(self, client: SyncClient) -> None:
        self._client = client
        self._auth: OfficerAuth | None = None
        self._lock = threading.Lock()

    def set_signer(self, signer: ChallengeSigner | None) -> None:
        """Call after an officer logs in (their card session) and with None on logout or when
        the card is pulled: the previous officer's session is then ended on the service, on a
        short-lived thread (this may be called on the GUI thread). The card is only used
        later, from the sync worker."""
        auth = OfficerAuth(self._client, signer) if signer is not None else None
        with self._lock:
            previous, self._auth = self._auth, auth
        if previous is not None and previous is not auth:
            threading.Thread(target=previous.revoke, name="bts-sync-logout", daemon=True).start()

    def officers(self) -> set[str]:
        """Officer ids whose enrollments can be uploaded now."""
        with self._lock:
            return {self._auth.officer_id} if self._auth else set()

    def auth_for(self, officer_id: str) -> OfficerAuth | None:
        with self._lock:
            auth = self._auth
        return auth if auth is not None and auth.officer_id == officer_id else None

    def any_auth(self) -> OfficerAuth | None:
        """Any logged-in officer's auth (pulling records needs a token, not a particular one)."""
        with self._lock:
            return self._auth
