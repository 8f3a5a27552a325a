"""The PKCS#11 card profile: officer tokens through the vendor's middleware module.

Binding: PyKCS11 (maintained by Ludovic Rousseau, who also keeps pcsc-lite and pyscard; thin
over the C API, so C_WaitForSlotEvent, the token flags and every CKR_ code are there).

- Module path: ``[card] pkcs11_module`` (machine-wide: MSI property ``CARD_PKCS11_MODULE``,
  ``/etc/bts-desk/config.toml`` on Debian). One ``ModuleThread`` loads it and makes every call
  into it: PKCS#11 modules are not all thread-safe, and a hung call blocks no desk thread but
  that one (callers wait with a timeout).
- Token: by ``[card] pkcs11_token`` (label or serial number) or else the first token holding an
  officer certificate; the certificate is paired with its private key by CKA_ID.
- PIN: C_Login as CKU_USER, exactly once per call (never retried). CKR_PIN_INCORRECT with
  CKF_USER_PIN_FINAL_TRY / COUNT_LOW says what is known of the tries left; CKR_PIN_LOCKED or
  CKF_USER_PIN_LOCKED → blocked. Any earlier login of the token is logged out first, so a PIN
  is really checked (C_Login would answer CKR_USER_ALREADY_LOGGED_IN without looking at it).
- Signing: ECDSA with CKM_ECDSA over the SHA-256/384 digest (P-256/P-384; the raw r‖s the module
  returns becomes DER), RSA with CKM_SHA256_RSA_PKCS.
- Presence: on every monitor tick C_WaitForSlotEvent without blocking drains slot events where
  the module supports it, then C_GetSlotInfo (token present) and C_GetSessionInfo (the session
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
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import PyKCS11  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.asymmetric import ec, rsa, utils

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
_GONE = {
    PyKCS11.CKR_DEVICE_REMOVED,
    PyKCS11.CKR_TOKEN_NOT_PRESENT,
    PyKCS11.CKR_SESSION_HANDLE_INVALID,
    PyKCS11.CKR_SESSION_CLOSED,
    PyKCS11.CKR_SLOT_ID_INVALID,
    PyKCS11.CKR_TOKEN_NOT_RECOGNIZED,
    PyKCS11.CKR_DEVICE_ERROR,
}


class Pkcs11ModuleError(CardError):
    """The middleware module cannot be loaded, or failed inside a call."""


def _ckr(exc: BaseException) -> int | None:
    return getattr(exc, "value", None) if isinstance(exc, PyKCS11.PyKCS11Error) else None


def _ckr_name(code: int | None) -> str:
    return str(PyKCS11.CKR.get(code, code)) if code is not None else "?"


def pkcs11_error(exc: BaseException, action: str) -> CardError:
    """A PyKCS11 (or crashed-call) exception as the desk's error with its own message."""
    code = _ckr(exc)
    detail = f"PKCS#11 {action}: {_ckr_name(code) if code is not None else repr(exc)}"
    if code in _GONE:
        return CardRemovedError("卡介质已拔出或已断开，请重新插入后再试", detail)
    if code == PyKCS11.CKR_PIN_LOCKED:
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
        lib = PyKCS11.PyKCS11Lib()
        try:
            lib.load(self.path)
        except PyKCS11.PyKCS11Error as exc:
            raise Pkcs11ModuleError(
                "卡介质中间件（PKCS#11 模块）无法加载，请联系系统管理员",
                f"loading PKCS#11 module {self.path!r}: {exc}",
            ) from exc
        self.lib = lib
        info = lib.getInfo()
        log.info(
            "PKCS#11 module %s loaded: %s %s",
            self.path,
            info.manufacturerID.strip(),
            info.libraryDescription.strip(),
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
                self.call(lib.unload, timeout=5.0)
            self.lib = None
        self._calls.put(None)
        self._thread.join(timeout=5)


class Pkcs11Token:
    """One open PKCS#11 session on the officer's token. Calls go through the module thread."""

    def __init__(
        self, source: Pkcs11TokenSource, slot: int, session: Any, certificate: bytes, key: Any
    ) -> None:
        self.source = source
        self.slot = slot
        self._session = session
        self._certificate = certificate
        self._key = key
        info = source.module.call(lambda: source.module.lib.getTokenInfo(slot))
        self.label = str(info.label).strip()
        self.serial = str(info.serialNumber).strip()

    @property
    def location(self) -> str:
        return f"{Path(self.source.module.path).name} · slot {self.slot} · {self.label}"

    def _flags(self) -> int:
        module = self.source.module
        return int(module.call(lambda: module.lib.getTokenInfo(self.slot)).flags)

    def read_certificate(self) -> bytes:
        return self._certificate

    def pin_tries_left(self) -> int | None:
        flags = self._flags()
        if flags & PyKCS11.CKF_USER_PIN_LOCKED:
            return 0
        return 1 if flags & PyKCS11.CKF_USER_PIN_FINAL_TRY else None

    def verify_pin(self, pin: str) -> None:
        check_pin_format(pin)
        if self._flags() & PyKCS11.CKF_USER_PIN_LOCKED:
            raise PinBlockedError(f"PKCS#11 token {self.label!r}: CKF_USER_PIN_LOCKED")

        def login() -> None:
            with contextlib.suppress(PyKCS11.PyKCS11Error):
                self._session.logout()  # a login left by an earlier session is no PIN check
            self._session.login(pin, PyKCS11.CKU_USER)

        try:
            self.source.module.call(login)
        except CardError as exc:
            raise self._pin_error(exc) from exc
        log.info("PIN verified on PKCS#11 token %r", self.label)

    def _pin_error(self, exc: CardError) -> CardError:
        detail = exc.detail
        if "CKR_PIN_INCORRECT" not in detail and "CKR_PIN_LEN_RANGE" not in detail:
            return exc
        try:
            flags = self._flags()
        except CardError:
            flags = 0
        log.warning("wrong PIN on PKCS#11 token %r (flags %#x)", self.label, flags)
        if flags & PyKCS11.CKF_USER_PIN_LOCKED:
            return PinBlockedError(detail + ", CKF_USER_PIN_LOCKED")
        if flags & PyKCS11.CKF_USER_PIN_FINAL_TRY:
            return WrongPinError(1, detail + ", CKF_USER_PIN_FINAL_TRY")
        return WrongPinError(None, detail, low=bool(flags & PyKCS11.CKF_USER_PIN_COUNT_LOW))

    def sign_challenge(self, challenge: bytes, certificate_der: bytes) -> bytes:
        key = public_key_of(load_certificate(certificate_der))
        if isinstance(key, rsa.RSAPublicKey):
            mechanism = PyKCS11.Mechanism(PyKCS11.CKM_SHA256_RSA_PKCS, None)
            data = challenge
        else:
            assert isinstance(key, ec.EllipticCurvePublicKey)
            mechanism = PyKCS11.Mechanism(PyKCS11.CKM_ECDSA, None)
            p384 = key.curve.name == "secp384r1"
            data = (hashlib.sha384 if p384 else hashlib.sha256)(challenge).digest()
        raw = bytes(self.source.module.call(lambda: self._sign(data, mechanism)))
        if isinstance(key, rsa.RSAPublicKey):
            return raw
        half = len(raw) // 2
        if len(raw) % 2 or half == 0:
            raise CardError("卡签名失败", f"CKM_ECDSA returned {len(raw)} bytes")
        r, s = int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        return utils.encode_dss_signature(r, s)

    def _sign(self, data: bytes, mechanism: Any) -> Any:
        """Module thread: C_Sign with the certificate's private key (found now if the token
        showed it only after C_Login)."""
        if isinstance(self._key, _LazyKey):
            template = [
                (PyKCS11.CKA_CLASS, PyKCS11.CKO_PRIVATE_KEY),
                (PyKCS11.CKA_ID, self._key.cka_id),
            ]
            keys = self._session.findObjects(template)
            if not keys:
                raise CardError(
                    "卡内未找到与证书配对的私钥，请联系发卡单位",
                    f"PKCS#11 {self.label!r}: no private key, CKA_ID {self._key.cka_id.hex()}",
                )
            self._key = keys[0]
        return self._session.sign(self._key, data, mechanism)

    def check(self, snapshot: PresenceSnapshot | None) -> None:
        self.source.module.call(self._check_present, timeout=5.0)

    def _check_present(self) -> None:
        """Module thread: slot events drained, token present, session still valid."""
        module = self.source.module
        lib = module.lib
        if module.wait_supported:
            try:
                for _ in range(8):
                    lib.waitForSlotEvent(PyKCS11.CKF_DONT_BLOCK)
            except PyKCS11.PyKCS11Error as exc:
                if exc.value in (
                    PyKCS11.CKR_FUNCTION_NOT_SUPPORTED,
                    PyKCS11.CKR_CRYPTOKI_NOT_INITIALIZED,
                ):
                    module.wait_supported = False  # polling below is all there is
        try:
            if not lib.getSlotInfo(self.slot).flags & PyKCS11.CKF_TOKEN_PRESENT:
                raise CardRemovedError("卡介质已拔出", f"PKCS#11 slot {self.slot}: no token")
            self._session.getSessionInfo()
        except PyKCS11.PyKCS11Error as exc:
            raise pkcs11_error(exc, f"presence of slot {self.slot}") from exc

    def close(self) -> None:
        session, self._session = self._session, None
        if session is None:
            return

        def end() -> None:
            for step in (session.logout, session.closeSession):
                with contextlib.suppress(PyKCS11.PyKCS11Error):
                    step()

        try:
            self.source.module.call(end, timeout=5.0)
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

    def close(self) -> None:
        self.module.close()

    def open_token(self, prefer: str = "") -> Pkcs11Token:
        slot, session, certificate, key = self.module.call(self._find)
        try:
            return Pkcs11Token(self, slot, session, certificate, key)
        except BaseException:
            self.module.call(session.closeSession)
            raise

    def _find(self) -> tuple[int, Any, bytes, Any]:
        """Module thread: the first token (matching the filter) with a certificate whose
        private key has the same CKA_ID."""
        lib = self.module.lib
        slots = lib.getSlotList(tokenPresent=True)
        seen: list[str] = []
        for slot in slots:
            info = lib.getTokenInfo(slot)
            label, serial = str(info.label).strip(), str(info.serialNumber).strip()
            seen.append(label)
            if self.token_filter and self.token_filter not in (label, serial):
                continue
            session = lib.openSession(slot, PyKCS11.CKF_SERIAL_SESSION)
            found = _officer_objects(session)
            if found is not None:
                return slot, session, found[0], found[1]
            session.closeSession()
        if not slots:
            raise NoCardError("请插入卡介质", f"PKCS#11 {self.module.path}: no token present")
        raise NoOfficerApplicationError(
            f"PKCS#11 tokens {seen} (filter {self.token_filter!r}): no certificate with its key"
        )


def _officer_objects(session: Any) -> tuple[bytes, Any] | None:
    """(certificate DER, private key handle) paired by CKA_ID, the first such pair."""
    certificates = session.findObjects(
        [
            (PyKCS11.CKA_CLASS, PyKCS11.CKO_CERTIFICATE),
            (PyKCS11.CKA_CERTIFICATE_TYPE, PyKCS11.CKC_X_509),
        ]
    )
    for handle in certificates:
        value, cka_id = session.getAttributeValue(handle, [PyKCS11.CKA_VALUE, PyKCS11.CKA_ID])
        if not value or not cka_id:
            continue
        keys = session.findObjects(
            [(PyKCS11.CKA_CLASS, PyKCS11.CKO_PRIVATE_KEY), (PyKCS11.CKA_ID, bytes(cka_id))]
        )
        if keys:
            return bytes(value), keys[0]
        # Some modules show private keys only after login: the key is looked up again there.
        return bytes(value), _LazyKey(bytes(cka_id))
    return None


class _LazyKey:
    """A private key handle found after C_Login (tokens hiding keys until then)."""

    def __init__(self, cka_id: bytes) -> None:
        self.cka_id = cka_id
