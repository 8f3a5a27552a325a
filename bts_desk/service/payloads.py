"""Reading sealed biometrics back, and rotating the service key.

``read_envelope`` opens one enrollment's sealed CBEFF envelope with the service's vault (the
export does the same row by row); ``rotate_key`` makes a new key-encryption key current and
rewraps every stored data key with it (envelopes and the templates kept for pulls), in
transactions of ``chunk`` rows, so that the old key can then be deleted from the key file.
Blocking (SQL): worker threads or the CLI.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, update

from bts_desk.errors import StoreError
from bts_desk.service.database import ServiceDatabase
from bts_desk.service.models import ServerEnvelope, ServerTemplates
from bts_desk.service.vault import Vault, field_aad

SealedRow = ServerEnvelope | ServerTemplates


def read_envelope(db: ServiceDatabase, vault: Vault, uuid: str) -> bytes:
    """The CBEFF envelope of one stored enrollment, decrypted. Raises VaultError (and
    StoreError for an unknown UUID)."""
    with db.read() as conn:
        sealed = conn.execute(
            select(ServerEnvelope.cbeff).where(ServerEnvelope.enrollment_uuid == uuid)
        ).scalar_one_or_none()
    if sealed is None:
        raise StoreError("补录数据不存在", f"no envelope for {uuid}")
    return open_envelope(vault, uuid, sealed)


def open_envelope(vault: Vault, uuid: str, sealed: bytes) -> bytes:
    return vault.open(sealed, field_aad(uuid, "cbeff"))


def rotate_key(
    db: ServiceDatabase, key_file: Path, *, new_key: bool = True, chunk: int = 500
) -> tuple[Vault, int]:
    """Add a new current key to ``key_file`` (``new_key``) and rewrap every blob's data key
    with the current key.

    The file is saved with both keys before any row changes, so an interruption leaves every
    blob readable; run it again to finish. Returns the vault and how many blobs were
    rewrapped. Remove the old key from the file afterwards (``retire_old_keys``)."""
    vault = Vault.load(key_file)
    if new_key:
        vault = vault.with_new_key()
        vault.save(key_file)
    done = 0
    for table, column in ((ServerEnvelope, "cbeff"), (ServerTemplates, "templates")):
        done += _rewrap_all(db, vault, table, column, chunk)
    return vault, done


def _rewrap_all(
    db: ServiceDatabase, vault: Vault, table: type[SealedRow], column: str, chunk: int
) -> int:
    """Rewrap ``column`` of every row of ``table`` (keyed by ``enrollment_uuid``)."""
    key, blob = table.enrollment_uuid, getattr(table, column)
    done = 0
    after = ""
    while True:
        with db.write() as conn:
            rows = conn.execute(
                select(key, blob).where(key > after).order_by(key).limit(chunk)
            ).all()
            for uuid, sealed in rows:
                conn.execute(
                    update(table).where(key == uuid).values({column: vault.rewrap(sealed)})
                )
            done += len(rows)
        if len(rows) < chunk:
            return done
        after = rows[-1][0]


def retire_old_keys(key_file: Path) -> int:
    """Keep only the current key in ``key_file`` (after ``rotate_key`` finished); returns
    how many keys were removed."""
    vault = Vault.load(key_file)
    Vault({vault.current: vault.keys[vault.current]}, vault.current).save(key_file)
    return len(vault.keys) - 1
