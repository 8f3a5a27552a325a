"""Biometrics at rest on the service: envelope encryption with a service key.

Every biometric blob (finger template, finger image, face photo) is sealed on its own:
a fresh 256-bit data key encrypts it with AES-GCM (the enrollment's UUID and the field name
as associated data, so a blob cannot be moved to another row or field), and the data key is
wrapped with the service's key-encryption key (AES key wrap, RFC 3394). The database holds

    b"BV1" | key id length (1 byte) | key id | wrapped data key (40) | nonce (12) | ciphertext

and never a decodable image. The key file (JSON, mode 0600) holds the KEKs by id and names
the current one; rotation (``rotate``) adds a new KEK and rewraps every data key with it —
only 40 bytes per blob are rewritten, the ciphertexts stay — after which the old KEK can be
removed from the file. Thread-safe (immutable after loading); pure CPU.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from bts_desk.errors import StoreError

MAGIC = b"BV1"
_WRAPPED = 40
_NONCE = 12


class VaultError(StoreError):
    """A blob that cannot be opened (unknown key id, tampered, not sealed)."""


@dataclass(frozen=True)
class Vault:
    keys: dict[str, bytes]  # key id → 32-byte KEK
    current: str

    @classmethod
    def ephemeral(cls) -> Vault:
        """A key that lives as long as the process (tests, the throw-away in-process service)."""
        return cls({"ephemeral": AESGCM.generate_key(256)}, "ephemeral")

    @classmethod
    def load(cls, path: Path, *, create: bool = False) -> Vault:
        """The key file at ``path``; with ``create`` a new one is written if there is none."""
        if not path.exists() and create:
            vault = cls({_new_id(): AESGCM.generate_key(256)}, "")
            vault = cls(vault.keys, next(iter(vault.keys)))
            vault.save(path)
            return vault
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            keys = {str(k): base64.b64decode(v) for k, v in data["keys"].items()}
            vault = cls(keys, str(data["current"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StoreError("同步服务密钥文件无法读取", f"service key file {path}: {exc}") from exc
        if vault.current not in keys or any(len(k) != 32 for k in keys.values()):
            raise StoreError("同步服务密钥文件格式错误", f"service key file {path}: bad keys")
        return vault

    def save(self, path: Path) -> None:
        body = {
            "current": self.current,
            "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()},
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(path.suffix + ".new")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(body, fh)
        os.replace(temp, path)

    def with_new_key(self) -> Vault:
        """This vault plus a fresh KEK that becomes the current one."""
        key_id = _new_id()
        return Vault({**self.keys, key_id: AESGCM.generate_key(256)}, key_id)

    def seal(self, plaintext: bytes, aad: bytes) -> bytes:
        data_key = AESGCM.generate_key(256)
        nonce = secrets.token_bytes(_NONCE)
        sealed = AESGCM(data_key).encrypt(nonce, plaintext, aad)
        wrapped = aes_key_wrap(self.keys[self.current], data_key)
        key_id = self.current.encode()
        return MAGIC + bytes([len(key_id)]) + key_id + wrapped + nonce + sealed

    def open(self, blob: bytes, aad: bytes) -> bytes:
        key_id, wrapped, nonce, sealed = _parts(blob)
        try:
            data_key = aes_key_unwrap(self._kek(key_id), wrapped)
            return AESGCM(data_key).decrypt(nonce, sealed, aad)
        except (InvalidUnwrap, InvalidTag) as exc:
            raise VaultError("生物特征数据无法解密", f"blob of key {key_id}: {exc!r}") from exc

    def rewrap(self, blob: bytes) -> bytes:
        """The same blob with its data key wrapped by the current KEK (rotation)."""
        key_id, wrapped, nonce, sealed = _parts(blob)
        if key_id == self.current:
            return blob
        try:
            data_key = aes_key_unwrap(self._kek(key_id), wrapped)
        except InvalidUnwrap as exc:
            raise VaultError("生物特征数据无法解密", f"blob of key {key_id}: {exc!r}") from exc
        current = self.current.encode()
        rewrapped = aes_key_wrap(self.keys[self.current], data_key)
        return MAGIC + bytes([len(current)]) + current + rewrapped + nonce + sealed

    def _kek(self, key_id: str) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise VaultError(
                "生物特征数据的密钥不在密钥文件中", f"unknown key id {key_id}"
            ) from None


def _new_id() -> str:
    return secrets.token_hex(4)


def _parts(blob: bytes) -> tuple[str, bytes, bytes, bytes]:
    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + 1:
        raise VaultError("生物特征数据格式错误", "blob is not sealed")
    start = len(MAGIC) + 1
    end = start + blob[len(MAGIC)]
    key_id = blob[start:end].decode("ascii", "replace")
    wrapped = blob[end : end + _WRAPPED]
    nonce = blob[end + _WRAPPED : end + _WRAPPED + _NONCE]
    return key_id, wrapped, nonce, blob[end + _WRAPPED + _NONCE :]


def field_aad(uuid: str, field: str) -> bytes:
    """The associated data binding a blob to its enrollment and field."""
    return f"{uuid}/{field}".encode()
