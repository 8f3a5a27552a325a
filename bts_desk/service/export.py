"""``bts-sync-server export``: the stored CBEFF envelopes as files, for a central matcher.

    bts-sync-server export --since 2026-12-01 DIR [--db URL]

Writes ``DIR/<uuid>.xml`` (the envelope exactly as the desk uploaded it: ISO/IEC 19794-4
finger and 19794-5 face records with their vendor template blocks) for every enrollment the
service *received* on or after DATE (00:00 UTC), oldest first, so a daily job with yesterday's
date picks up everything new whenever it was captured. Each file is written beside its final
name and renamed into place, so a reader never sees half a file; an existing file is replaced
(the same UUID always has the same envelope). Rows are streamed, not loaded at once.
Blocking; the command's own process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from sqlalchemy import select

from bts_desk.errors import DeskError

BATCH = 500


def default_key_file(db_url: str) -> Path:
    """The service's default key file: beside a SQLite database, else in the current folder."""
    if db_url.startswith("sqlite:///"):
        return Path(db_url.removeprefix("sqlite:///") + ".key")
    return Path("bts-sync-server.key")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bts-sync-server export", description="Write stored CBEFF envelopes as files."
    )
    p.add_argument("--since", required=True, type=dt.date.fromisoformat, metavar="DATE",
                   help="received on or after this date (YYYY-MM-DD, UTC)")  # fmt: skip
    p.add_argument("directory", type=Path, metavar="DIR", help="where the .xml files go")
    p.add_argument("--db", default="sqlite:///bts-sync-server.db", help="SQLAlchemy URL")
    p.add_argument("--key-file", type=Path, help="the service key file (as the service's)")
    return p


def export_envelopes(db_url: str, since: dt.date, directory: Path, key_file: Path) -> int:
    """Write the envelopes received since ``since`` (opened with the service key in
    ``key_file``); the number of files written."""
    from bts_desk.service.database import ServiceDatabase
    from bts_desk.service.models import ServerEnrollment, ServerEnvelope
    from bts_desk.service.payloads import open_envelope
    from bts_desk.service.vault import Vault

    vault = Vault.load(key_file)

    start = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
    directory.mkdir(parents=True, exist_ok=True)
    db = ServiceDatabase(db_url)
    written = 0
    try:
        with db.read() as conn:
            rows = conn.execution_options(yield_per=BATCH).execute(
                select(ServerEnrollment.uuid, ServerEnvelope.cbeff)
                .join(ServerEnvelope, ServerEnvelope.enrollment_uuid == ServerEnrollment.uuid)
                .where(ServerEnrollment.received_at >= start)
                .order_by(ServerEnrollment.received_at, ServerEnrollment.uuid)
            )
            for uuid, cbeff in rows:
                target = directory / f"{uuid}.xml"
                partial = directory / f".{uuid}.xml.part"
                partial.write_bytes(open_envelope(vault, uuid, cbeff))
                os.replace(partial, target)
                written += 1
    finally:
        db.dispose()
    return written


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        key_file = args.key_file or default_key_file(args.db)
        count = export_envelopes(args.db, args.since, args.directory, key_file)
    except DeskError as exc:
        print(f"bts-sync-server export: {exc.user_message}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"bts-sync-server export: {exc}", file=sys.stderr)
        return 1
    print(f"exported {count} envelopes to {args.directory}")
    return 0
