"""The card profile interface: what the session needs from an officer card, whatever its kind.

PIV (``piv.py``) is the reference profile; a vendor USB key would be another class with these
methods, registered in ``bts_desk.devices.registry.CARD_PROFILES`` and chosen with
``[card] profile``; nothing above this interface (session, UI) changes.

The errors here are profile-independent so the UI can react to them (count tries, say the card
is blocked) without knowing any status word. The possession proof (``prove_possession``) is
written once, above the interface: a fresh random challenge signed by the card's
authentication key and verified with the certificate's public key, so every profile gets it.
Called on worker threads only.
"""

from __future__ import annotations

import logging
import secrets
from typing import Protocol

from bts_desk.card.identity import verify_challenge
from bts_desk.card.pcsc import (
    CardLink,
    CardRemovedError,
    CardResetError,
    PcscServiceError,
    ReaderGoneError,
)
from bts_desk.errors import CardError

log = logging.getLogger(__name__)

PIN_MIN_LENGTH = 6
PIN_MAX_LENGTH = 8


class WrongPinError(CardError):
    """The PIN was wrong; ``tries_left`` more attempts before the card blocks."""

    def __init__(self, tries_left: int, detail: str) -> None:
        super().__init__(f"PIN 错误，还可尝试 {tries_left} 次", detail)
        self.tries_left = tries_left


class PinBlockedError(CardError):
    """No PIN tries left: only the issuing office can unblock the card."""

    def __init__(self, detail: str) -> None:
        super().__init__("卡已锁定（PIN 错误次数过多），请到发卡单位解锁", detail)


class NoOfficerApplicationError(CardError):
    """The card in the reader is not an officer card (no such application on it)."""

    def __init__(self, detail: str) -> None:
        super().__init__("此卡不是关员卡（卡内没有关员应用），请插入关员卡", detail)


class PinFormatError(CardError):
    """The PIN typed does not have the card's format (rejected before reaching the card)."""

    def __init__(self) -> None:
        super().__init__(
            f"PIN 应为 {PIN_MIN_LENGTH}–{PIN_MAX_LENGTH} 位数字",
            "PIN rejected on the desk: wrong length or not digits (not sent to the card)",
        )


class KeyMismatchError(CardError):
    """The card's key did not sign the challenge for its certificate: the certificate was
    copied onto another card, or the card is faulty. Never a session in that officer's name."""

    def __init__(self, detail: str) -> None:
        super().__init__("卡片密钥验证失败：此卡的密钥与卡内证书不符，请联系发卡单位", detail)


CHALLENGE_BYTES = 32
# Errors that say the card left or was reset, not that its key is wrong: passed on as they are.
_CARD_GONE = (CardRemovedError, CardResetError, ReaderGoneError, PcscServiceError)


def check_pin_format(pin: str) -> None:
    """Raise PinFormatError unless ``pin`` is 6–8 ASCII digits. Costs no card try."""
    if not (pin.isascii() and pin.isdigit() and PIN_MIN_LENGTH <= len(pin) <= PIN_MAX_LENGTH):
        raise PinFormatError()


class CardProfile(Protocol):
    """One kind of officer card. Methods are called in this order on a fresh link:
    ``open`` → ``read_certificate`` → ``verify_pin`` → ``sign_challenge`` (any number of
    times). The session validates the certificate (``identity.officer_from_certificate``) and
    proves possession (``prove_possession``): a profile only moves bytes."""

    name: str

    def open(self, link: CardLink) -> None:
        """Select the officer application. NoOfficerApplicationError if the card lacks it."""

    def read_certificate(self, link: CardLink) -> bytes:
        """The DER of the authentication certificate (no PIN needed)."""

    def pin_tries_left(self, link: CardLink) -> int | None:
        """Tries left before the PIN blocks, without spending one (None: already verified)."""

    def verify_pin(self, link: CardLink, pin: str) -> None:
        """Present the PIN once. WrongPinError / PinBlockedError; never retried by itself."""

    def sign_challenge(self, link: CardLink, challenge: bytes, certificate_der: bytes) -> bytes:
        """Sign ``challenge`` with the key of ``certificate_der`` (after ``verify_pin``), with
        the algorithm the certificate names; checked by ``identity.verify_challenge``."""


def prove_possession(profile: CardProfile, link: CardLink, certificate_der: bytes) -> None:
    """The card holds the private key of ``certificate_der``: a fresh random challenge is
    signed by it and verified with the certificate's public key. KeyMismatchError if not (also
    when the card refuses to sign with the certificate's algorithm); removal errors pass."""
    challenge = secrets.token_bytes(CHALLENGE_BYTES)
    try:
        signature = profile.sign_challenge(link, challenge, certificate_der)
    except _CARD_GONE:
        raise
    except CardError as exc:
        raise KeyMismatchError(f"possession proof: card refused to sign: {exc.detail}") from exc
    if not verify_challenge(certificate_der, challenge, signature):
        log.warning("possession proof failed in %r: the signature does not verify", link.reader)
        raise KeyMismatchError(
            "possession proof: the signature does not verify with the certificate's public key"
        )
