"""The officer token: what the session needs from a card or USB key, whatever reaches it.

A ``TokenSource`` opens a ``Token`` (the one officer token present, preferring where the last
one was); the token reads its authentication certificate, takes the PIN once, signs a
challenge with the certificate's key, reports whether it is still there, and is closed.
Two kinds:

- ``PcscTokenSource``: a card in a PC/SC reader spoken to in APDUs by a ``CardProfile``
  (PIV, ``piv.py``); presence from the PC/SC monitor's snapshots and the card handle;
- ``Pkcs11TokenSource`` (``pkcs11.py``): a token behind the vendor's PKCS#11 module, with no
  reader needed; presence from the module itself.

The possession proof (``prove_possession``) is written here once, above both: a fresh random
challenge signed by the token and verified with the certificate's public key.

Worker threads call ``open``/``read_certificate``/``verify_pin``/``sign_challenge``; ``check``
runs on the presence monitor's thread. A token's methods are not called concurrently (the
session serialises card I/O).
"""

from __future__ import annotations

import logging
import secrets
from typing import Protocol

from bts_desk.card.identity import verify_challenge
from bts_desk.card.monitor import PresenceSnapshot
from bts_desk.card.pcsc import (
    CardLink,
    CardRemovedError,
    CardResetError,
    PcscServiceError,
    ReaderGoneError,
)
from bts_desk.card.profile import CardProfile, KeyMismatchError
from bts_desk.errors import CardError

log = logging.getLogger(__name__)

CHALLENGE_BYTES = 32
# Errors that say the token left or was reset, not that its key is wrong: passed on as they are.
TOKEN_GONE = (CardRemovedError, CardResetError, ReaderGoneError, PcscServiceError)


class Token(Protocol):
    """One officer token, open (see the module docstring)."""

    @property
    def location(self) -> str:
        """Where it is, for the log and the device panel (reader, or module · slot · label)."""

    def read_certificate(self) -> bytes:
        """The DER of the authentication certificate (no PIN needed)."""

    def pin_tries_left(self) -> int | None:
        """Tries left before the PIN blocks if the token says (None: unknown or verified)."""

    def verify_pin(self, pin: str) -> None:
        """Present the PIN once. WrongPinError / PinBlockedError; never retried."""

    def sign_challenge(self, challenge: bytes, certificate_der: bytes) -> bytes:
        """Sign with the key of ``certificate_der`` (after ``verify_pin``), in the algorithm
        the certificate names; checked by ``identity.verify_challenge``."""

    def check(self, snapshot: PresenceSnapshot | None) -> None:
        """Raise CardRemovedError/ReaderGoneError/CardResetError unless the same token is
        still there, untouched, since it was opened. Monitor thread."""

    def close(self) -> None:
        """Log out where the token has a login state, and let go of it. Idempotent."""


class TokenSource(Protocol):
    name: str

    def open_token(self, prefer: str = "") -> Token:
        """The officer token present (``prefer``: the ``location`` of the last one, looked at
        first). NoCardError/NoReaderError/NoOfficerApplicationError/... otherwise."""

    def describe(self) -> str:
        """What the device panel shows for this source (module path, reader filter)."""


def prove_possession(token: Token, certificate_der: bytes) -> None:
    """The token holds the private key of ``certificate_der``: a fresh random challenge is
    signed by it and verified with the certificate's public key. KeyMismatchError if not (also
    when the token refuses to sign with the certificate's algorithm); removal errors pass."""
    challenge = secrets.token_bytes(CHALLENGE_BYTES)
    try:
        signature = token.sign_challenge(challenge, certificate_der)
    except TOKEN_GONE:
        raise
    except CardError as exc:
        raise KeyMismatchError(f"possession proof: token refused to sign: {exc.detail}") from exc
    if not verify_challenge(certificate_der, challenge, signature):
        log.warning("possession proof failed at %r: the signature does not verify", token.location)
        raise KeyMismatchError(
            "possession proof: the signature does not verify with the certificate's public key"
        )


class PcscToken:
    """A card in a PC/SC reader, spoken to by a ``CardProfile`` over a ``CardLink``."""

    def __init__(self, link: CardLink, profile: CardProfile) -> None:
        self.link = link
        self.profile = profile
        self._card_events: int | None = None  # learnt at the first tick after opening

    @property
    def location(self) -> str:
        return self.link.reader

    def read_certificate(self) -> bytes:
        return self.profile.read_certificate(self.link)

    def pin_tries_left(self) -> int | None:
        return self.profile.pin_tries_left(self.link)

    def verify_pin(self, pin: str) -> None:
        self.profile.verify_pin(self.link, pin)

    def sign_challenge(self, challenge: bytes, certificate_der: bytes) -> bytes:
        return self.profile.sign_challenge(self.link, challenge, certificate_der)

    def check(self, snapshot: PresenceSnapshot | None) -> None:
        reader = snapshot.reader(self.link.reader) if snapshot is not None else None
        if snapshot is not None:
            if reader is None and not snapshot.error:
                raise ReaderGoneError("读卡器已断开", f"reader {self.link.reader!r} left")
            if reader is not None and not reader.card_present:
                raise CardRemovedError("卡已拔出", f"no card in {self.link.reader!r}")
            if reader is not None and self._card_events is None:
                self._card_events = reader.card_events  # the link check covers the gap before
            elif reader is not None and reader.card_events != self._card_events:
                raise CardRemovedError("卡已拔出", f"card events changed in {self.link.reader!r}")
        self.link.check()

    def close(self) -> None:
        self.link.close()


class PcscTokenSource:
    """Cards in PC/SC readers (whose name contains ``reader_filter``) of one profile."""

    def __init__(self, profile: CardProfile, reader_filter: str = "") -> None:
        self.profile = profile
        self.reader_filter = reader_filter
        self.name = profile.name

    def open_token(self, prefer: str = "") -> PcscToken:
        link = CardLink.open(self.reader_filter, prefer=prefer)
        try:
            self.profile.open(link)
        except BaseException:
            link.close()
            raise
        return PcscToken(link, self.profile)

    def describe(self) -> str:
        return f"{self.profile.name} (PC/SC)"
