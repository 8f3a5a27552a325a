"""Reading sealed biometrics back, and rotating the service key.

``read_enrollment`` opens one enrollment's blobs with the service's vault (for the central
system's export and for tests); ``rotate_key`` makes a new key-encryption key current and
rewraps every stored data key with it, in transactions of ``chunk`` rows, so that the old
key can then be deleted from the key file. Blocking (SQL): worker threads or the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update

from bts_desk.service.database import ServiceDatabase
from bts_desk.service.models import ServerFace, ServerFinger
from bts_desk.service.vault import Vault, field_aad


@dataclass(frozen=True)
class StoredFinger:
    finger_no: int
    template: bytes
    image_png: bytes


@dataclass(frozen=True)
class StoredEnrollment:
    fingers: tuple[StoredFinger, ...]
    face_jpeg: bytes | None


def read_enrollment(db: ServiceDatabase, vault: Vault, uuid: str) -> StoredEnrollment:
    """The decrypted biometrics of one stored enrollment. Raises VaultError."""
    with db.read() as conn:
        fingers = conn.execute(
            select(ServerFinger.finger_no, ServerFinger.template, ServerFinger.image_png)
            .where(ServerFinger.enrollment_uuid == uuid)
            .order_by(ServerFinger.finger_no)
        ).all()
        face = conn.execute(
            select(ServerFace.jpeg).where(ServerFace.enrollment_uuid == uuid)
        ).scalar_one_or_none()
    return StoredEnrollment(
        fingers=tuple(
            StoredFinger(
                no,
                vault.open(template, field_aad(uuid, f"finger{no}.t")),
                vault.open(image, field_aad(uuid, f"finger{no}.i")),
            )
            for no, template, image in fingers
        ),
        face_jpeg=None if face is None else vault.open(face, field_aad(uuid, "face.jpeg")),
    )


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
    for table, columns in ((ServerFinger, ("template", "image_png")), (ServerFace, ("jpeg",))):
        keys = [table.enrollment_uuid] + ([ServerFinger.finger_no] if table is ServerFinger else [])
        offset = 0
        while True:
            with db.write() as conn:
                rows = conn.execute(
                    select(*keys, *(getattr(table, c) for c in columns))
                    .order_by(*keys)
                    .limit(chunk)
                    .offset(offset)
                ).all()
                for row in rows:
                    values = {c: vault.rewrap(getattr(row, c)) for c in columns}
                    where = [k == getattr(row, k.key) for k in keys]
                    conn.execute(update(table).where(*where).values(**values))
                    done += len(columns)
            if len(rows) < chunk:
                break
            offset += chunk
    return vault, done


def retire_old_keys(key_file: Path) -> int:
    """Keep only the current key in ``key_file`` (after ``rotate_key`` finished); returns
    how many keys were removed."""
    vault = Vault.load(key_file)
    Vault({vault.current: vault.keys[vault.current]}, vault.current).save(key_file)
    return len(vault.keys) - 1
