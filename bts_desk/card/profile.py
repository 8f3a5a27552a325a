"""The card profile interface: what the session needs from an officer card, whatever its kind.

PIV (``piv.py``) is the reference profile; a vendor USB key would be another class with these
methods, registered in ``bts_desk.devices.registry.CARD_PROFILES`` and chosen with
``[card] profile``; nothing above this interface (session, UI) changes.

The errors here are profile-independent so the UI can react to them (count tries, say the card
is blocked) without knowing any status word. Called on worker threads only.
"""

from __future__ import annotations

from typing import Protocol

from cryptography import x509

from bts_desk.card.pcsc import CardLink
from bts_desk.domain import Officer
from bts_desk.errors import CardError

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


def check_pin_format(pin: str) -> None:
    """Raise PinFormatError unless ``pin`` is 6–8 ASCII digits. Costs no card try."""
    if not (pin.isascii() and pin.isdigit() and PIN_MIN_LENGTH <= len(pin) <= PIN_MAX_LENGTH):
        raise PinFormatError()


class CardProfile(Protocol):
    """One kind of officer card. Methods are called in this order on a fresh link:
    ``open`` → ``read_identity`` → ``verify_pin`` → ``sign_challenge`` (any number of times)."""

    name: str

    def open(self, link: CardLink) -> None:
        """Select the officer application. NoOfficerApplicationError if the card lacks it."""

    def read_identity(self, link: CardLink, cas: list[x509.Certificate]) -> Officer:
        """The officer of this card, checked against the trusted CAs (no PIN needed)."""

    def pin_tries_left(self, link: CardLink) -> int | None:
        """Tries left before the PIN blocks, without spending one (None: already verified)."""

    def verify_pin(self, link: CardLink, pin: str) -> None:
        """Present the PIN once. WrongPinError / PinBlockedError; never retried by itself."""

    def sign_challenge(self, link: CardLink, challenge: bytes) -> bytes:
        """Sign ``challenge`` with the officer's key (after ``verify_pin``); the signature is
        checked with ``bts_desk.card.identity.verify_challenge``."""
