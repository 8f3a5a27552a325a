"""The card profile interface: what the session needs from an officer card, whatever its kind.

PIV (``piv.py``) is the reference profile; a vendor USB key would be another class with these
methods, registered in ``bts_desk.devices.registry.CARD_PROFILES`` and chosen with
``[card] profile``; nothing above this interface (session, UI) changes.

The errors here are profile-independent so the UI can react to them (count tries, say the card
is blocked) without knowing any status word. The possession proof (``token.prove_possession``)
is written once, above the token interface (``token.py``), so every profile gets it.
Called on worker threads only.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from bts_desk.card.pcsc import CardLink
from bts_desk.card.pin import PIN_MAX_LENGTH, PIN_MIN_LENGTH
from bts_desk.errors import CardError


class WrongPinError(CardError):
    """The PIN was wrong; ``tries_left`` more attempts before the card blocks (None: the
    token does not say; ``low``: it says only that few are left)."""

    def __init__(self, tries_left: int | None, detail: str, *, low: bool = False) -> None:
        if tries_left is not None:
            message = f"PIN 错误，还可尝试 {tries_left} 次"
        elif low:
            message = "PIN 错误，剩余尝试次数已不多，再错可能锁卡"
        else:
            message = "PIN 错误，请重新输入（连续错误会锁卡）"
        super().__init__(message, detail)
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


def check_pin_format(pin: str) -> None:
    """Raise PinFormatError unless ``pin`` is 6–8 ASCII digits. Costs no card try."""
    if not (pin.isascii() and pin.isdigit() and PIN_MIN_LENGTH <= len(pin) <= PIN_MAX_LENGTH):
        raise PinFormatError()


@runtime_checkable
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
