"""Encryption at rest of biometric bytes: a per-desk key outside the database, AES-GCM inside.

The key (256 random bits) lives in ``settings.key_file``, never in the database, so a copied
``desk.db`` alone reveals nothing. The file is created on first use:

- POSIX: mode 0600 (readable only by the account the desk runs as), written atomically;
- Windows: the key is wrapped with DPAPI (``CryptProtectData``, machine scope off: only the
  desk's account can unwrap it) before it reaches the disk, when DPAPI is available.

Each biometric bundle is sealed with AES-GCM (``cryptography``), a fresh 96-bit nonce and, as
associated data, the enrollment UUID, the record (borderer), the officer and the desk
(``enrollment_aad``): a ciphertext moved to another row, or a row whose officer or record was
rewritten, does not decrypt. Version 1 blobs (before issue 11) bound the UUID only and are still
read. A wrong key or a tampered ciphertext raises ``StoreError``.

The same key, through HKDF with a label per use (``DeskKey.derive``), also keys the SQLCipher
encryption of the whole database (``store.desk_store``) and the audit hash chain
(``store.audit``): one secret to keep and back up, independent keys per purpose.

Pure Python, no Qt, no shared state: safe on any thread.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import stat
import sys
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bts_desk.errors import StoreError

log = logging.getLogger(__name__)

KEY_BYTES = 32
NONCE_BYTES = 12
_KEY_MAGIC = b"BTSK1"
_SCHEME_RAW = b"R"
_SCHEME_DPAPI = b"D"
_SEALED_V1 = b"\x01"  # associated data: the enrollment UUID only
_SEALED_VERSION = b"\x02"  # associated data: enrollment_aad(...)


def enrollment_aad(uuid: str, borderer_id: int, officer_id: str, desk_id: str) -> str:
    """What an enrollment's ciphertext is bound to (its AES-GCM associated data)."""
    return f"enrollment/v2|{uuid}|{borderer_id}|{officer_id}|{desk_id}"


class DeskKey:
    """The desk's AES-256 key. ``repr`` never shows the bytes."""

    __slots__ = ("_aead", "_raw", "fingerprint")

    def __init__(self, raw: bytes) -> None:
        if len(raw) != KEY_BYTES:
            raise StoreError(
                "本机加密密钥无效，请联系系统管理员", f"desk key is {len(raw)} bytes, not 32"
            )
        self._aead = AESGCM(raw)
        self._raw = raw
        # A short public fingerprint to tell keys apart in logs (never the key itself).
        self.fingerprint = hashlib.sha256(b"bts-desk-key-id" + raw).hexdigest()[:12]

    def __repr__(self) -> str:
        return f"DeskKey({self.fingerprint})"

    @classmethod
    def generate(cls) -> DeskKey:
        return cls(secrets.token_bytes(KEY_BYTES))

    def derive(self, label: str, length: int = KEY_BYTES) -> bytes:
        """An independent sub-key for one purpose (HKDF-SHA256 with ``label`` as info)."""
        hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=label.encode())
        return hkdf.derive(self._raw)

    def sqlcipher_key(self) -> str:
        """The raw-key form of SQLCipher's ``PRAGMA key`` (no passphrase KDF on every open)."""
        return f"x'{self.derive('bts-desk sqlcipher v1').hex()}'"

    def seal(self, plaintext: bytes, associated: str) -> bytes:
        """``version | nonce | ciphertext+tag`` of ``plaintext`` bound to ``associated``."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        return _SEALED_VERSION + nonce + self._aead.encrypt(nonce, plaintext, associated.encode())

    def wrap(self, data_key: DeskKey, associated: str) -> bytes:
        """``data_key`` sealed under this key (a per-enrollment key, see ``EnrollmentKeyRow``)."""
        return self.seal(data_key._raw, "data-key|" + associated)

    def unwrap(self, wrapped: bytes, associated: str) -> DeskKey:
        """Inverse of ``wrap``; StoreError for a wrong key or a tampered blob."""
        return DeskKey(self.open(wrapped, "data-key|" + associated))

    def open(self, sealed: bytes, associated: str, *, legacy: str = "") -> bytes:
        """Inverse of ``seal``. Raises StoreError for a wrong key, a tampered or foreign blob.
        ``legacy`` is the associated data of a version 1 blob (the UUID)."""
        version = sealed[:1]
        if version == _SEALED_V1 and legacy:
            associated = legacy
        if len(sealed) < 1 + NONCE_BYTES + 16 or version not in (_SEALED_V1, _SEALED_VERSION):
            raise StoreError(
                "本地加密数据已损坏，无法读取",
                f"sealed payload of {associated} is malformed ({len(sealed)} bytes)",
            )
        nonce = sealed[1 : 1 + NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, sealed[1 + NONCE_BYTES :], associated.encode())
        except InvalidTag as exc:
            raise StoreError(
                "本地加密数据无法解密（密钥不符或数据被篡改），请联系系统管理员",
                f"AES-GCM authentication failed for {associated} with key {self.fingerprint}",
            ) from exc


def load_or_create_key(path: Path) -> DeskKey:
    """The desk key stored at ``path``, created on first use. Raises StoreError.

    Only for a store that cannot hold anything sealed yet: the desk goes through
    ``store.desk_store.open_desk_store``, which refuses to replace a lost key."""
    if path.exists():
        return _load_key(path)
    return create_key(path)


def load_key(path: Path) -> DeskKey:
    """The desk key stored at ``path`` (it must exist). Raises StoreError."""
    return _load_key(path)


def create_key(path: Path) -> DeskKey:
    """A new desk key written to ``path`` (mode 0600; DPAPI-wrapped on Windows); an existing
    file wins (another process raced us). Raises StoreError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    key_raw = secrets.token_bytes(KEY_BYTES)
    blob = _wrap(key_raw)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, blob)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            # link() refuses to overwrite: if another process won the race, use its key.
            os.link(tmp, path)
        except FileExistsError:
            return _load_key(path)
        except OSError:
            if path.exists():  # pragma: no cover - file systems without hard links
                return _load_key(path)
            os.replace(tmp, path)
    except OSError as exc:
        raise StoreError(
            "无法创建本机加密密钥文件，请联系系统管理员", f"cannot create key file {path}: {exc}"
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)
    log.info("created desk key %s", path)
    return _load_key(path)


def _load_key(path: Path) -> DeskKey:
    try:
        if sys.platform != "win32":
            mode = path.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                log.warning("key file %s was readable by others (mode %o); fixed", path, mode)
                path.chmod(0o600)
        blob = path.read_bytes()
    except OSError as exc:
        raise StoreError(
            "无法读取本机加密密钥文件，请联系系统管理员", f"cannot read key file {path}: {exc}"
        ) from exc
    return DeskKey(_unwrap(blob, path))


def _wrap(raw: bytes) -> bytes:
    if sys.platform == "win32":  # pragma: no cover - Windows only
        try:
            return _KEY_MAGIC + _SCHEME_DPAPI + _dpapi(raw, protect=True)
        except OSError as exc:
            log.warning("DPAPI unavailable (%s); key file protected by its ACL only", exc)
    return _KEY_MAGIC + _SCHEME_RAW + raw


def _unwrap(blob: bytes, path: Path) -> bytes:
    if not blob.startswith(_KEY_MAGIC) or len(blob) < len(_KEY_MAGIC) + 1:
        raise StoreError(
            "本机加密密钥文件格式错误，请联系系统管理员", f"{path} is not a bts-desk key file"
        )
    scheme, body = blob[len(_KEY_MAGIC) : len(_KEY_MAGIC) + 1], blob[len(_KEY_MAGIC) + 1 :]
    if scheme == _SCHEME_RAW:
        return body
    if scheme == _SCHEME_DPAPI:
        try:
            return _dpapi(body, protect=False)
        except OSError as exc:
            raise StoreError(
                "本机加密密钥无法解开（需由原账户在本机运行），请联系系统管理员",
                f"DPAPI cannot unprotect {path}: {exc}",
            ) from exc
    raise StoreError(
        "本机加密密钥文件格式错误，请联系系统管理员", f"{path}: unknown key scheme {scheme!r}"
    )


def _dpapi(data: bytes, *, protect: bool) -> bytes:  # pragma: no cover - Windows only
    """CryptProtectData / CryptUnprotectData of the current user through ctypes."""
    if sys.platform == "win32":
        import ctypes
        from ctypes import wintypes

        class Blob(ctypes.Structure):
            _fields_ = [("cbData", wintypes.DWORD), ("pbData", ctypes.POINTER(ctypes.c_char))]

        crypt32 = ctypes.windll.crypt32
        kernel32 = ctypes.windll.kernel32
        buffer = ctypes.create_string_buffer(data, len(data))
        blob_in = Blob(len(data), ctypes.cast(buffer, ctypes.POINTER(ctypes.c_char)))
        blob_out = Blob()
        flags = 0x1  # CRYPTPROTECT_UI_FORBIDDEN
        if protect:
            ok = crypt32.CryptProtectData(
                ctypes.byref(blob_in), "bts-desk key", None, None, None, flags,
                ctypes.byref(blob_out),
            )  # fmt: skip
        else:
            ok = crypt32.CryptUnprotectData(
                ctypes.byref(blob_in), None, None, None, None, flags, ctypes.byref(blob_out)
            )
        if not ok:
            raise ctypes.WinError()
        try:
            return ctypes.string_at(blob_out.pbData, blob_out.cbData)
        finally:
            kernel32.LocalFree(blob_out.pbData)
    raise OSError("DPAPI exists only on Windows")
