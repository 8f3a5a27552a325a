"""The desk's own store: encrypted with the desk key, refused with a clear message without it.

Why the whole database and not single fields: the 姓名 prefix search, every filter and every
sort of the 边民备案查询 page run on B-tree indexes over the plain values (1M rows, first page
p50 <= 50 ms). Field-level encryption would need a keyed blind index for each searchable field
and would lose prefix search and sorting by name; SQLCipher (through ``sqlcipher3``, whose
wheels bundle SQLCipher 4 with its own OpenSSL for Linux and Windows) encrypts every page of
the database, its WAL and its indexes with AES-256 and checks each page with an HMAC, so the
queries stay exactly as they are and nothing readable is left in ``desk.db``, ``-wal`` or
``-shm``.

``open_desk_store(settings)``, on a worker thread at start-up:

- the data folder becomes 0700 and the store, its WAL/SHM and the key file 0600 (POSIX);
- the key file must exist whenever the database does: a lost key is never replaced by a new one
  while the database exists (its contents, unsent enrollments included, would be lost
  silently); ``DeskKeyError`` says so in Chinese with what IT should do;
- a database encrypted with another key is refused the same way (nothing in it is touched, so
  no enrollment is marked refused);
- a database from before issue 11 (plain SQLite) is encrypted in place on first start
  (``sqlcipher_export``), the plain file overwritten before it is removed;
- the key's fingerprint is kept in the database (``sync_state``) and compared on every start.

Any thread but the GUI thread (file I/O, SQL).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bts_desk.config import Settings
from bts_desk.errors import StoreError
from bts_desk.store import sync_state
from bts_desk.store.crypto import DeskKey, create_key, load_key
from bts_desk.store.db import Database, open_database, sqlite_file

log = logging.getLogger(__name__)

KEY_FINGERPRINT = "desk_key_fingerprint"
SQLITE_HEADER = b"SQLite format 3\x00"
STORE_SUFFIXES = ("", "-wal", "-shm", "-journal")

_WHAT_IT_DOES = (
    "请联系 IT：从备份恢复本机的密钥文件 {key}（Windows 上须由原 Windows 账户在本机恢复）；"
    "若密钥确已丢失，请将数据文件夹中的 desk.db 移走后重新启动，本机将重新同步边民数据，"
    "但尚未上传的补录无法恢复，需重新采集。"
)


class DeskKeyError(StoreError):
    """The desk key is missing or is not the key of this store."""


def open_desk_store(settings: Settings, *, migrate: bool = True) -> tuple[Database, DeskKey]:
    """The desk's store and key (see the module docstring). Raises StoreError/DeskKeyError."""
    url, key_path = settings.database_url, settings.key_file
    path = sqlite_file(url)
    if path is None:  # a server database (development): no file to encrypt here
        key = load_key(key_path) if key_path.exists() else create_key(key_path)
        db = open_database(url, migrate=migrate)
        check_fingerprint(db, key, key_path)
        db.audit_key = audit_key(key)
        return db, key
    secure_dir(path.parent)
    exists = path.exists() and path.stat().st_size > 0
    key = _desk_key(path, key_path, exists)
    if not path.exists():  # SQLite gives -wal and -shm the mode of the store: 0600 from birth
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    if exists and is_plain_sqlite(path):
        encrypt_in_place(path, key)
    try:
        db = open_database(url, key=key, migrate=migrate)
    except StoreError as exc:
        if "file is not a database" in exc.detail:
            raise _wrong_key(key_path, key, exc.detail) from exc
        raise
    secure_files(path)
    check_fingerprint(db, key, key_path)
    db.audit_key = audit_key(key)
    db.open_kept_connections()
    return db, key


def audit_key(key: DeskKey) -> bytes:
    """The audit chain's HMAC key: from the desk key, useless for anything else."""
    return key.derive("bts-desk audit chain v1")


def _desk_key(path: Path, key_path: Path, db_exists: bool) -> DeskKey:
    if key_path.exists():
        secure_dir(key_path.parent)
        return load_key(key_path)
    if db_exists and (not is_plain_sqlite(path) or _plain_has_sealed_data(path)):
        raise DeskKeyError(
            "本机加密密钥文件缺失，无法打开本地数据库。" + _WHAT_IT_DOES.format(key=key_path),
            f"key file {key_path} is missing but the store {path} exists; refusing to create a "
            "new key (the store and its unsent enrollments would become unreadable)",
        )
    key = create_key(key_path)
    log.info("new desk key %s created (fingerprint %s)", key_path, key.fingerprint)
    return key


def _wrong_key(key_path: Path, key: DeskKey, detail: str) -> DeskKeyError:
    return DeskKeyError(
        "本机加密密钥与本地数据库不符（密钥文件可能被替换），无法打开本地数据库。"
        + _WHAT_IT_DOES.format(key=key_path),
        f"the store does not open with the key in {key_path} (fingerprint {key.fingerprint}): "
        f"{detail}",
    )


def check_fingerprint(db: Database, key: DeskKey, key_path: Path) -> None:
    """The key's fingerprint is kept in the store: record it once, refuse another key."""
    try:
        known = sync_state.get_value(db, KEY_FINGERPRINT)
        if not known:
            sync_state.set_value(db, KEY_FINGERPRINT, key.fingerprint)
            return
    except StoreError:
        db.dispose()
        raise
    if known != key.fingerprint:
        db.dispose()
        raise _wrong_key(key_path, key, f"the store was sealed with key {known}")


# --- files ----------------------------------------------------------------------------------


def secure_dir(directory: Path) -> None:
    """Create ``directory`` readable by the desk's account only (0700 on POSIX; on Windows the
    per-user profile folder already carries that ACL)."""
    directory.mkdir(parents=True, exist_ok=True)
    if sys.platform != "win32":
        directory.chmod(0o700)


def secure_files(path: Path) -> None:
    """The store and its companions 0600 (SQLite creates -wal/-shm with the store's mode)."""
    if sys.platform == "win32":
        return
    for suffix in STORE_SUFFIXES:
        companion = Path(f"{path}{suffix}")
        if companion.exists():
            companion.chmod(0o600)


def is_plain_sqlite(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER


def _plain_has_sealed_data(path: Path) -> bool:
    """A store from before issue 11 holding enrollments sealed with the (now lost) key."""
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return bool(conn.execute("SELECT 1 FROM enrollment WHERE payload IS NOT NULL").fetchone())
    except sqlite3.Error:
        return False
    finally:
        conn.close()


def encrypt_in_place(path: Path, key: DeskKey) -> None:
    """A plain store (before issue 11) becomes a SQLCipher one with the same contents."""
    import sqlcipher3

    secure_files(path)
    target = path.with_name(f".{path.name}.encrypting")
    target.unlink(missing_ok=True)
    try:
        conn = sqlcipher3.connect(str(path))
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("ATTACH DATABASE ? AS encrypted KEY ?", (str(target), key.sqlcipher_key()))
            conn.execute("SELECT sqlcipher_export('encrypted')")
            conn.execute("DETACH DATABASE encrypted")
        finally:
            conn.close()
        secure_files(target)
        _overwrite(path)
        for suffix in STORE_SUFFIXES[1:]:
            companion = Path(f"{path}{suffix}")
            _overwrite(companion)
            companion.unlink(missing_ok=True)
        os.replace(target, path)
    except (OSError, sqlcipher3.Error, SQLAlchemyError) as exc:
        target.unlink(missing_ok=True)
        raise StoreError(
            "无法加密本地数据库，请联系系统管理员", f"encrypting {path} in place failed: {exc}"
        ) from exc
    log.info("store %s encrypted with the desk key %s", path, key.fingerprint)


def _overwrite(path: Path) -> None:
    """Zero a plain file before it goes (best effort: no guarantee on SSDs or journaling)."""
    if not path.exists():
        return
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.write(b"\0" * size)
        handle.flush()
        os.fsync(handle.fileno())
