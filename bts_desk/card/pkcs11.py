"""The PKCS#11 card profile: officer tokens through the vendor's middleware module.

Binding: python-pkcs11 (pyauth, MIT, typed). It releases the GIL around every C call: a slow
token (a USB key signing for 300 ms) must not freeze the desk's GUI and other threads, and a
card emulator in the same process (tests, demo) must keep answering while the module waits for
it. PyKCS11 was tried first and holds the GIL through each call, which deadlocked exactly there.

- Module path: ``[card] pkcs11_module`` (machine-wide: MSI property ``CARD_PKCS11_MODULE``,
  ``/etc/bts-desk/config.toml`` on Debian). One ``ModuleThread`` loads it and makes every call
  into it: PKCS#11 modules are not all thread-safe, and a hung call blocks no desk thread but
  that one (callers wait with a timeout).
- Token: by ``[card] pkcs11_token`` (label or serial number) or else the first token holding an
  officer certificate; the certificate is paired with its private key by CKA_ID.
- PIN: C_Login as CKU_USER, exactly once per call (never retried), on a fresh session after the
  certificate session is closed (so no earlier login lingers: C_Login would answer
  CKR_USER_ALREADY_LOGGED_IN without checking the PIN). CKR_PIN_INCORRECT with
  CKF_USER_PIN_FINAL_TRY / COUNT_LOW says what is known of the tries left; CKR_PIN_LOCKED or
  CKF_USER_PIN_LOCKED → blocked. What a module knows varies: OpenSC's on a PIV card reads the
  card's 63 Cx into FINAL_TRY (one left) and LOCKED, never COUNT_LOW (it sets that only when it
  knows the PIN's maximum tries, which PIV cards do not tell), so its first wrong PIN of three
  says only "wrong".
- Signing: ECDSA with CKM_ECDSA over the SHA-256/384 digest (P-256/P-384; the raw r‖s the module
  returns becomes DER), RSA with CKM_SHA256_RSA_PKCS.
- Presence: on every monitor tick C_WaitForSlotEvent without blocking drains slot events where
  the module supports it, then the slot list (token present) and a find on the session (it
  survived: a pulled and re-inserted token invalidates it) are asked, so the check never relies
  on one event.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pkcs11
from cryptography.hazmat.primitives.asymmetric import ec, rsa, utils
from pkcs11 import Attribute, CertificateType, Mechanism, ObjectClass, TokenFlag
from pkcs11 import exceptions as p11

from bts_desk.card.identity import load_certificate, public_key_of
from bts_desk.card.monitor import PresenceSnapshot
from bts_desk.card.pcsc import CardRemovedError, NoCardError
from bts_desk.card.profile import (
    NoOfficerApplicationError,
    PinBlockedError,
    WrongPinError,
    check_pin_format,
)
from bts_desk.config import Settings
from bts_desk.errors import CardError, ConfigError

log = logging.getLogger(__name__)

T = TypeVar("T")
CALL_TIMEOUT_S = 20.0
_GONE = (
    p11.DeviceRemoved,
    p11.TokenNotPresent,
    p11.SessionHandleInvalid,
    p11.SessionClosed,
    p11.SlotIDInvalid,
    p11.TokenNotRecognised,
    p11.DeviceError,
)


class Pkcs11ModuleError(CardError):
    """The middleware module cannot be loaded, or failed inside a call."""


def pkcs11_error(exc: BaseException, action: str) -> CardError:
    """A python-pkcs11 (or crashed-call) exception as the desk's error with its own message."""
    detail = f"PKCS#11 {action}: {type(exc).__name__} {exc}".rstrip()
    if isinstance(exc, _GONE):
        return CardRemovedError("卡介质已拔出或已断开，请重新插入后再试", detail)
    if isinstance(exc, p11.PinLocked):
        return PinBlockedError(detail)
    return Pkcs11ModuleError("卡介质中间件（PKCS#11）调用失败，请重新插入卡介质后再试", detail)


class ModuleThread:
    """The one thread that owns a PKCS#11 module: loads it and runs every call into it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._calls: queue.Queue[tuple[Callable[[], Any], concurrent.futures.Future[Any]] | None]
        self._calls = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="pkcs11-module", daemon=True)
        self.lib: Any = None
        self.wait_supported = True
        self._thread.start()
        self.call(self._load)

    def _load(self) -> None:
        if not Path(self.path).is_file():
            raise Pkcs11ModuleError(
                "找不到卡介质中间件（PKCS#11 模块），请联系系统管理员检查配置 card.pkcs11_module",
                f"PKCS#11 module {self.path!r} does not exist",
            )
        try:
            self.lib = pkcs11.lib(self.path)
        except (RuntimeError, OSError) as exc:  # dlopen failure, C_Initialize failure
            raise Pkcs11ModuleError(
                "卡介质中间件（PKCS#11 模块）无法加载，请联系系统管理员",
                f"loading PKCS#11 module {self.path!r}: {type(exc).__name__} {exc}",
            ) from exc
        log.info(
            "PKCS#11 module %s loaded: %s %s",
            self.path,
            self.lib.manufacturer_id.strip(),
            self.lib.library_description.strip(),
        )

    def call(self, fn: Callable[[], T], timeout: float = CALL_TIMEOUT_S) -> T:
        """Run ``fn`` on the module thread and return its result (its exception re-raised;
        an unexpected one becomes Pkcs11ModuleError). Any thread but the module's."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._calls.put((fn, future))
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError as exc:
            raise Pkcs11ModuleError(
                "卡介质中间件（PKCS#11）无响应，请重新插入卡介质后再试",
                f"PKCS#11 call did not return within {timeout} s",
            ) from exc

    def _run(self) -> None:
        while True:
            item = self._calls.get()
            if item is None:
                return
            fn, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except CardError as exc:
                future.set_exception(exc)
            except Exception as exc:  # a module failing inside a call
                future.set_exception(pkcs11_error(exc, getattr(fn, "__name__", "call")))

    def close(self) -> None:
        """Finalize and unload the module, end the thread (desk exit, tests)."""
        lib = self.lib
        if lib is not None:
            with contextlib.suppress(CardError):
                self.call(lambda: pkcs11.unload(self.path), timeout=5.0)  # also drops its cache
            self.lib = None
        self._calls.put(None)
        self._thread.join(timeout=5)


class Pkcs11Token:
    """The officer's token behind a PKCS#11 module. Calls go through the module thread."""

    def __init__(
        self, source: Pkcs11TokenSource, token: Any, certificate: bytes, cka_id: bytes
    ) -> None:
        self.source = source
        self.module = source.module
        self._token = token
        self.slot = int(token.slot.slot_id)
        self.label = str(token.label).strip()
        self.serial = bytes(token.serial).decode("ascii", "replace").strip()
        self._certificate = certificate
        self._cka_id = cka_id
        self._session: Any = None  # the logged-in session, after verify_pin

    @property
    def location(self) -> str:
        return self.source.location(self.slot, self.label)

    def _flags(self) -> int:
        """Module thread: the token's flags as they are now (python-pkcs11 caches them)."""
        for slot in self.module.lib.get_slots(token_present=True):
            if slot.slot_id == self.slot:
                return int(slot.get_token().flags)
        raise CardRemovedError("卡介质已拔出", f"PKCS#11 slot {self.slot}: no token")

    def read_certificate(self) -> bytes:
        return self._certificate

    def pin_tries_left(self) -> int | None:
        flags = self.module.call(self._flags)
        if flags & TokenFlag.USER_PIN_LOCKED:
            return 0
        return 1 if flags & TokenFlag.USER_PIN_FINAL_TRY else None

    def verify_pin(self, pin: str) -> None:
        check_pin_format(pin)
        self.module.call(lambda: self._login(pin))
        log.info("PIN verified on PKCS#11 token %r", self.label)

    def _login(self, pin: str) -> None:
        """Module thread: C_OpenSession + C_Login(CKU_USER), once."""
        if self._flags() & TokenFlag.USER_PIN_LOCKED:
            raise PinBlockedError(f"PKCS#11 token {self.label!r}: CKF_USER_PIN_LOCKED")
        if self._session is not None:
            with contextlib.suppress(p11.PKCS11Error):
                self._session.close()
            self._session = None
        try:
            self._session = self._token.open(user_pin=pin)
        except (p11.PinIncorrect, p11.PinLenRange, p11.PinInvalid) as exc:
            raise self._pin_error(exc) from exc
        except p11.PKCS11Error as exc:
            raise self._failure(exc, "C_Login") from exc

    def _failure(self, exc: p11.PKCS11Error, action: str) -> CardError:
        """Module thread: the error for a failed call; a token pulled during the call is
        reported as pulled, whatever generic code the module chose for it (the module may
        notice the removal only a moment later: looked at for up to ~0.6 s)."""
        error = pkcs11_error(exc, action)
        if not isinstance(error, Pkcs11ModuleError):
            return error
        for _ in range(4):
            with contextlib.suppress(p11.PKCS11Error):
                if self.slot not in [s.slot_id for s in self.module.lib.get_slots(True)]:
                    return CardRemovedError("卡介质已拔出，请重新插入后再试", error.detail)
            time.sleep(0.2)
        return error

    def _pin_error(self, exc: p11.PKCS11Error) -> CardError:
        detail = f"PKCS#11 C_Login: {type(exc).__name__}"
        try:
            flags = self._flags()
        except (CardError, p11.PKCS11Error):
            flags = 0
        log.warning("wrong PIN on PKCS#11 token %r (flags %#x)", self.label, flags)
        if flags & TokenFlag.USER_PIN_LOCKED:
            return PinBlockedError(detail + ", CKF_USER_PIN_LOCKED")
        if flags & TokenFlag.USER_PIN_FINAL_TRY:
            return WrongPinError(1, detail + ", CKF_USER_PIN_FINAL_TRY")
        low = bool(flags & TokenFlag.USER_PIN_COUNT_LOW)
        return WrongPinError(None, detail + (", CKF_USER_PIN_COUNT_LOW" if low else ""), low=low)

    def sign_challenge(self, challenge: bytes, certificate_der: bytes) -> bytes:
        key = public_key_of(load_certificate(certificate_der))
        if isinstance(key, rsa.RSAPublicKey):
            return self.module.call(lambda: self._sign(challenge, Mechanism.SHA256_RSA_PKCS))
        assert isinstance(key, ec.EllipticCurvePublicKey)
        p384 = key.curve.name == "secp384r1"
        digest = (hashlib.sha384 if p384 else hashlib.sha256)(challenge).digest()
        raw = self.module.call(lambda: self._sign(digest, Mechanism.ECDSA))
        half = len(raw) // 2
        if len(raw) % 2 or half == 0:
            raise CardError("卡签名失败", f"CKM_ECDSA returned {len(raw)} bytes")
        r, s = int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        return utils.encode_dss_signature(r, s)

    def _sign(self, data: bytes, mechanism: Mechanism) -> bytes:
        """Module thread: C_Sign with the private key of the certificate's CKA_ID."""
        if self._session is None:
            raise CardError("卡未通过 PIN 验证，请重新登录", "PKCS#11 sign before C_Login")
        template = {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.ID: self._cka_id}
        try:
            # _find_all, not Session.get_key: its search could be left open for the garbage
            # collector to end on a session closed meanwhile (SessionHandleInvalid raised in
            # SearchIter._finalize, seen once in CI's PKCS#11 unlock test)
            keys = _find_all(self._session, template)
            if len(keys) != 1:
                raise CardError(
                    "卡内未找到与证书配对的私钥，请联系发卡单位",
                    f"PKCS#11 {self.label!r}: {len(keys)} private keys with CKA_ID "
                    f"{self._cka_id.hex()}",
                )
            return bytes(keys[0].sign(data, mechanism=mechanism))
        except p11.PKCS11Error as exc:
            raise self._failure(exc, f"C_Sign {mechanism.name}") from exc

    def check(self, snapshot: PresenceSnapshot | None) -> None:
        self.module.call(self._check_present, timeout=5.0)

    def _check_present(self) -> None:
        """Module thread: slot events drained, token present, session still valid."""
        module = self.module
        if module.wait_supported:
            try:
                for _ in range(8):
                    _drain_one_slot_event(module.lib)
            except p11.NoEvent:
                pass
            except p11.PKCS11Error:
                module.wait_supported = False  # polling below is all there is
        try:
            present = [s.slot_id for s in module.lib.get_slots(token_present=True)]
            if self.slot not in present:
                raise CardRemovedError("卡介质已拔出", f"PKCS#11 slot {self.slot}: no token")
            if self._session is not None:
                search = self._session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE})
                try:
                    next(search, None)
                finally:
                    # C_FindObjectsFinal now, on this thread, its error caught below: left to
                    # the garbage collector it failed there (SessionHandleInvalid once the
                    # token was pulled) as an "Exception ignored" on stderr.
                    search.close()
        except p11.PKCS11Error as exc:
            raise pkcs11_error(exc, f"presence of slot {self.slot}") from exc

    def close(self) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        try:
            self.module.call(session.close, timeout=5.0)  # C_Logout + C_CloseSession
        except CardError as exc:
            log.info("PKCS#11 session not closed cleanly: %s", exc.detail)


class Pkcs11TokenSource:
    """Officer tokens of one PKCS#11 module (see the module docstring)."""

    name = "pkcs11"

    def __init__(self, module_path: str, token: str = "") -> None:
        if not module_path:
            raise ConfigError(
                "未配置卡介质中间件（PKCS#11 模块）路径，请联系系统管理员设置 card.pkcs11_module",
                "card.profile is pkcs11 but card.pkcs11_module is empty",
            )
        self.token_filter = token
        self.module = ModuleThread(module_path)

    @classmethod
    def from_settings(cls, settings: Settings) -> Pkcs11TokenSource:
        return cls(settings.card.pkcs11_module, settings.card.pkcs11_token)

    def describe(self) -> str:
        return f"PKCS#11 {self.module.path}"

    def _slot_location(self, slot: Any) -> str:
        """Module thread: the location of the token in ``slot`` ("" if it cannot be read)."""
        try:
            return self.location(int(slot.slot_id), str(slot.get_token().label).strip())
        except p11.PKCS11Error:
            return ""

    def close(self) -> None:
        self.module.close()

    def open_token(self, prefer: str = "") -> Pkcs11Token:
        token, certificate, cka_id = self.module.call(lambda: self._find(prefer))
        return Pkcs11Token(self, token, certificate, cka_id)

    def location(self, slot_id: int, label: str) -> str:
        """``Pkcs11Token.location`` of a token (module · slot · label)."""
        return f"{Path(self.module.path).name} · slot {slot_id} · {label}"

    def _find(self, prefer: str = "") -> tuple[Any, bytes, bytes]:
        """Module thread: the first token (matching the filter) with an X.509 certificate
        that has a CKA_ID (its private key's, looked up again when signing). The token at
        ``prefer`` (where the session's token was) is looked at first: at an unlock, a
        colleague's card in another reader must not be taken for the officer's own."""
        try:
            slots = sorted(
                self.module.lib.get_slots(token_present=True),
                key=lambda slot: self._slot_location(slot) != prefer,
            )
            seen: list[str] = []
            for slot in slots:
                token = slot.get_token()
                label = str(token.label).strip()
                serial = bytes(token.serial).decode("ascii", "replace").strip()
                seen.append(label)
                if self.token_filter and self.token_filter not in (label, serial):
                    continue
                with token.open() as session:  # public objects only: no PIN yet
                    found = _officer_certificate(session)
                if found is not None:
                    return token, found[0], found[1]
        except p11.PKCS11Error as exc:
            raise pkcs11_error(exc, "looking for the officer token") from exc
        if not slots:
            raise NoCardError("请插入卡介质", f"PKCS#11 {self.module.path}: no token present")
        raise NoOfficerApplicationError(
            f"PKCS#11 tokens {seen} (filter {self.token_filter!r}): no certificate with a CKA_ID"
        )


def _drain_one_slot_event(lib: Any) -> None:
    """Module thread: take one pending slot event (C_WaitForSlotEvent, CKF_DONT_BLOCK);
    p11.NoEvent when there is none.

    python-pkcs11 0.10.1 cannot build the Slot it returns for an event (``Slot(...)`` on a
    Cython class whose ``__init__`` refuses arguments): once C_WaitForSlotEvent and
    C_GetSlotInfo have succeeded it raises that TypeError. The event was taken all the same,
    which is all draining needs (the slot list and the session are asked next). Without this
    every slot event (OpenSC reports one for a card that was already in when the module
    loaded) locked the desk as a "module failure" right after login."""
    try:
        lib.wait_for_slot_event(blocking=False)
    except TypeError as exc:
        if "positional argument" not in str(exc):
            raise
        log.debug("PKCS#11 slot event taken (python-pkcs11 cannot describe its slot)")


def _officer_certificate(session: Any) -> tuple[bytes, bytes] | None:
    """(certificate DER, CKA_ID) of the first X.509 certificate with an ID, preferring one
    whose private key is visible already (tokens may show private keys only after login)."""
    template = {
        Attribute.CLASS: ObjectClass.CERTIFICATE,
        Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
    }
    candidates: list[tuple[bytes, bytes]] = []
    for certificate in _find_all(session, template):
        cka_id = bytes(certificate[Attribute.ID] or b"")
        if cka_id:
            candidates.append((bytes(certificate[Attribute.VALUE]), cka_id))
    for value, cka_id in candidates:
        if _find_all(session, {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.ID: cka_id}):
            return value, cka_id
    return candidates[0] if candidates else None


def _find_all(session: Any, template: dict[Attribute, Any]) -> list[Any]:
    """Every object matching ``template``, the search ended (C_FindObjectsFinal) before this
    returns: attributes are read afterwards, so a token pulled while they are read cannot
    leave a search open for the garbage collector to end on a closed session."""
    search = session.get_objects(template)
    try:
        return list(search)
    finally:
        search.close()
